"""Tutorial 02 in JupyterLab + headless Chromium: Run All renders the intended mapping error as
one short block, the SyncResult display and the sync form; the form's Dry run and Sync buttons
work through the kernel's comm. Screenshots in the Light and the Dark theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .ui import (
    horizontal_overflow,
    open_notebook,
    run_all,
    set_theme,
    wait_kernel_idle,
    wait_output,
)

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

    # The intended mistake: one short block with the did-you-mean, the traceback folded away.
    error = page.locator(".paragon-error-summary").first
    expect(error).to_contain_text("did you mean 'numberOfEmployees'?")
    expect(error.locator("pre")).to_be_hidden()  # inside the closed "details" toggle
    tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback")
    expect(tracebacks.filter(has_not=page.locator(".paragon-error-summary"))).to_have_count(0)
    error.scroll_into_view_if_needed()
    error.screenshot(path=str(screenshot_dir / "error_block.png"))

    result = page.locator(".paragon-nb-sync-result", has_text="sync of 8 rows").first
    expect(result).to_contain_text("created")
    result.scroll_into_view_if_needed()
    assert horizontal_overflow(page.locator(".jp-OutputArea-output", has=result).first) == []
    result.screenshot(path=str(screenshot_dir / "sync_result.png"))

    form.scroll_into_view_if_needed()
    expect(form.get_by_label("Email")).to_have_value("email")  # the suggested mapping
    expect(form.get_by_label("Employees")).to_have_value("numberOfEmployees")  # mapping=
    form.get_by_role("button", name="Dry run").click()
    expect(form).to_contain_text("Dry run:", timeout=30_000)
    # dry run = real run: no list chosen, so the journal of the "Newsletter" syncs does not
    # apply and the rows are sent (Marketo answers "updated"), as the Sync button then reports
    expect(form).to_contain_text("would update")
    expect(form).to_contain_text("would cost")  # the planned calls, from result.summary
    form.get_by_role("button", name="Sync").click()
    expect(form).to_contain_text("Sync:", timeout=30_000)
    expect(form).to_contain_text("updated")  # what the dry run said it would do
    expect(form.locator(".paragon-error")).to_have_count(0)
    form.screenshot(path=str(screenshot_dir / "sync_form.png"))

    set_theme(page, "JupyterLab Dark")
    result.scroll_into_view_if_needed()
    result.screenshot(path=str(screenshot_dir / "sync_result_dark.png"))
    error.scroll_into_view_if_needed()
    error.screenshot(path=str(screenshot_dir / "error_block_dark.png"))
    form.scroll_into_view_if_needed()
    form.screenshot(path=str(screenshot_dir / "sync_form_dark.png"))
    set_theme(page, "JupyterLab Light")
