"""Tutorial 03 in JupyterLab + headless Chromium, as a reader runs it (Run All): the fan-out,
the scheduled week, the proxy, the secret, the field mapping and Task History all answer, no
cell fails, the workflow diagrams fit their cells. Screenshots in the Light and Dark theme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .ui import horizontal_overflow, notebook_errors, open_notebook, run_all, set_theme

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_prototyping_workflows.ipynb"


def test_tutorial_03_runs_in_jupyterlab_light_and_dark(
    lab: Any, page: Any, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    server = lab(NOTEBOOK)
    open_notebook(page, server.notebook_url())
    run_all(page)
    # the last cell: the Task History API read with a project API key
    history = page.locator(".jp-OutputArea-output", has_text="['SUCCEEDED']").first
    history.wait_for(timeout=300_000)
    expect(page.locator(".jp-OutputArea-output", has_text="upsert calls: 4").first).to_be_visible()
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback")
    assert tracebacks.count() == 0, notebook_errors(page)
    assert all("Error" not in text for text in stderr.all_inner_texts()), notebook_errors(page)

    diagram = page.locator(".paragon-workflow", has_text="Import lead lists").first
    expect(diagram).to_contain_text("fan out over")
    diagram.scroll_into_view_if_needed()
    for area in page.locator(".jp-OutputArea-output", has=page.locator(".paragon-workflow")).all():
        assert horizontal_overflow(area) == []
    diagram.screenshot(path=str(screenshot_dir / "fan_out_diagram.png"))
    set_theme(page, "JupyterLab Dark")
    diagram.scroll_into_view_if_needed()
    diagram.screenshot(path=str(screenshot_dir / "fan_out_diagram_dark.png"))
    set_theme(page, "JupyterLab Light")
