"""JupyterLab page actions for Playwright (selectors measured for JupyterLab 4 / ipywidgets 8;
see ../shared/reference/notebook-testing.md, section B1)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "horizontal_overflow",
    "notebook_errors",
    "open_notebook",
    "run_all",
    "run_all_below",
    "save_notebook",
    "set_theme",
    "wait_kernel_idle",
    "wait_output",
]

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
    # expect() waits 5 s by default; a kernel on a loaded 2-core machine can take longer
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


def run_all_below(page: Any, cell_text: str) -> None:
    """Select the code cell containing ``cell_text``, then Run > Run Selected Cell and All Below."""
    cell = page.locator(".jp-CodeCell", has_text=cell_text).first
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").first.click()
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-item[data-command='notebook:run-all-below']").click()


def set_theme(page: Any, theme: str) -> None:
    """Settings > Theme > ``theme`` ("JupyterLab Dark" / "JupyterLab Light"), as a user would."""
    page.locator("#jp-MainMenu").get_by_text("Settings", exact=True).click()
    page.locator(".lm-Menu-item", has_text="Theme").first.hover()
    page.get_by_role("menuitem", name=theme, exact=True).click()
    page.locator(f"body[data-jp-theme-name='{theme}']").wait_for(state="attached", timeout=60_000)


def save_notebook(page: Any) -> None:
    """File > Save Notebook; returns once the tab is no longer marked as modified."""
    from playwright.sync_api import expect

    page.locator("#jp-MainMenu").get_by_text("File", exact=True).click()
    page.locator(".lm-Menu-item[data-command='docmanager:save']").click()
    expect(page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(
        0, timeout=60_000
    )


def horizontal_overflow(locator: Any) -> list[str]:
    """Descendants of ``locator`` that stick out past its right edge, or make it scroll."""
    return locator.evaluate(
        """(root) => {
            const edge = root.getBoundingClientRect().right + 1;
            const out = [];
            if (root.scrollWidth > root.clientWidth + 1) out.push('scrolls: ' + root.scrollWidth
                + ' > ' + root.clientWidth);
            for (const el of root.querySelectorAll('*')) {
                const r = el.getBoundingClientRect();
                if (r.width && r.right > edge) out.push(el.tagName + ' ' + el.className + ' '
                    + Math.round(r.right) + ' > ' + Math.round(edge));
            }
            return out.slice(0, 5);
        }"""
    )
