"""The browser harness itself: JupyterLab runs a small widget notebook in headless Chromium,
and a click in the page reaches the Python callback through the kernel's comm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from .ui import open_notebook, run_all

FORM = """\
import ipywidgets as w
name = w.Text(description="Name")
secret = w.Password(description="Secret")
status = w.Label(value="waiting")
go = w.Button(description="Submit")
def _on_go_click(_):
    status.value = f"hello {name.value} ({len(secret.value)})"
go.on_click(_on_go_click)
w.VBox([name, secret, go, status])
"""


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(FORM)]
    nbformat.write(nb, path)
    return path


def test_widget_round_trip_in_jupyterlab(lab: Any, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = lab(_notebook(tmp_path / "form.ipynb"))
    open_notebook(page, server.notebook_url())
    run_all(page)
    root = page.locator(".jp-OutputArea-output .widget-vbox").first
    root.wait_for()
    page.get_by_label("Name").fill("Ada")
    root.locator(".widget-text input[type='password']").fill("s3cret")
    root.locator("button.widget-button", has_text="Submit").click()
    expect(root.locator("div.widget-label")).to_have_text("hello Ada (6)")
