"""JupyterLab page actions for Playwright (selectors measured for JupyterLab 4 / ipywidgets 8;
see ../shared/reference/notebook-testing.md, section B1)."""

from __future__ import annotations

from typing import Any

__all__ = ["notebook_errors", "open_notebook", "run_all", "wait_kernel_idle", "wait_output"]

KERNEL_NAME = "Python 3 (ipykernel)"


def open_notebook(page: Any, url: str) -> None:
    """Open the notebook and wait until its kernel is chosen and idle."""
    from playwright.sync_api import expect

    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for()
    # Safety net for the "Select Kernel" dialog (autostart is on and a kernelspec is set).
    dialog_accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if dialog_accept.count():
        dialog_accept.first.click()
    # A kernel can take tens of seconds to start on a loaded 2-core machine: expect()'s 5 s
    # default made this flaky; wait as long as for the idle indicator.
    expect(page.locator(".jp-Toolbar-kernelName").first).to_have_text(KERNEL_NAME, timeout=120_000)
    wait_kernel_idle(page)


def wait_kernel_idle(page: Any, *, timeout: float = 120_000) -> None:
    """Idle indicator (meaningful only once a kernel is attached: see open_notebook)."""
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        timeout=timeout
    )


def run_all(page: Any) -> None:
    """Run > Run All Cells through the main menu, as a reader would."""
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


def notebook_errors(page: Any) -> str:
    """Tracebacks and stderr shown in the notebook (for failure messages)."""
    sel = (
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
    )
    texts = page.locator(sel).all_inner_texts()
    status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
    return f"kernel status {status!r}; error outputs: {texts[-3:]!r}"


def wait_output(page: Any, text: str, *, timeout: float = 120_000) -> Any:
    """The first output area containing ``text``; on timeout, say what the notebook shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    locator = page.locator(".jp-OutputArea-output", has_text=text).first
    try:
        locator.wait_for(timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"no output {text!r} appeared; {notebook_errors(page)}") from None
    return locator
