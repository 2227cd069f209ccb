"""Tutorial 02 in JupyterLab + headless Chromium: Run All renders the SyncResult display (the
README's screenshot), and the sync form's Dry run button works through the kernel's comm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .ui import open_notebook, run_all, wait_kernel_idle, wait_output

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_bulk_sync_from_dataframe.ipynb"


def test_tutorial_02_sync_result_and_form(lab: Any, page: Any, screenshot_dir: Path) -> None:
    from playwright.sync_api import expect

    server = lab(NOTEBOOK)
    open_notebook(page, server.notebook_url())
    run_all(page)
    wait_output(page, "exit code 1")  # the CLI cell near the end ran
    form = page.locator(".paragon-sync-form").first
    form.wait_for(timeout=120_000)
    wait_kernel_idle(page)

    result = page.locator(".paragon-nb-sync-result", has_text="sync of 8 rows").first
    expect(result).to_contain_text("created")
    result.scroll_into_view_if_needed()
    result.screenshot(path=str(screenshot_dir / "sync_result.png"))

    form.scroll_into_view_if_needed()
    expect(form.get_by_label("Email")).to_have_value("email")  # the suggested mapping
    form.get_by_role("button", name="Dry run").click()
    expect(form).to_contain_text("Dry run:", timeout=30_000)
    # dry run = real run: no list chosen, so the journal of the "Newsletter" syncs does not
    # apply and the rows are sent (Marketo answers "updated"), as the Sync button then reports
    expect(form).to_contain_text("would update")
