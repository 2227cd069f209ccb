"""Tutorial 01 in a real JupyterLab + headless Chromium, as a reader would click it.

Run All; fill the Connect Portal with the sandbox's credentials; Connect; open the
Configuration tab; load the lists and pick "Newsletter"; enable; Save; then run the cells
from "send the event" down and check the lead landed in that list. Screenshots of the portal
and of the run go to ``$SCREENSHOTS_DIR`` (docs/img for the README) or the test's tmp.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from .ui import open_notebook, run_all, wait_kernel_idle, wait_output

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TUTORIAL = NOTEBOOKS / "01_marketo_integration_tutorial.ipynb"


def _output(page: Any, text: str) -> Any:
    return page.locator(".jp-OutputArea-output", has_text=text).first


def test_tutorial_01_connect_portal_in_the_browser(
    lab: Any, page: Any, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    secret = secrets.token_hex(16)
    server = lab(TUTORIAL, TUTORIAL_INTERACTIVE="1", TUTORIAL_SANDBOX_SECRET=secret)
    open_notebook(page, server.notebook_url())
    run_all(page)

    # Run All reaches the end: nothing is connected yet, so the lead is not in the list.
    wait_output(page, "in list 'Newsletter': False")
    wait_kernel_idle(page)
    endpoint_text = _output(page, "Endpoint URL:").inner_text()
    endpoint = re.search(r"Endpoint URL: (\S+)", endpoint_text).group(1)  # type: ignore[union-attr]

    portal = page.locator(".paragon-connect-portal").first
    portal.scroll_into_view_if_needed()
    portal.get_by_label("Client ID").fill("tutorial-client")
    password = portal.locator(".widget-text input[type='password']")
    password.fill("not-the-secret")
    portal.get_by_label("Endpoint URL").fill(endpoint)
    expect(portal.get_by_label("Identity URL")).to_have_value(
        endpoint.removesuffix("/rest") + "/identity"
    )
    connect = portal.get_by_role("button", name="Connect", exact=True)
    connect.click()  # a wrong secret: the error shows inline, in plain words
    expect(portal.locator(".paragon-error")).to_contain_text(
        "Marketo refused the Client ID / Client Secret", timeout=30_000
    )
    expect(password).to_have_value("")  # the secret is never kept in the form
    password.fill(secret)
    connect.click()
    expect(portal.get_by_text("Connected to Marketo.")).to_be_visible(timeout=30_000)
    expect(portal).not_to_contain_text(secret)

    portal.locator(".lm-TabBar-tab", has_text="Configuration").click()
    panel = portal.locator(".paragon-workflow-panel").first
    panel.get_by_role("button", name="Refresh").click()
    select = panel.locator(".widget-dropdown select").first
    expect(select.locator("option", has_text="Newsletter")).to_have_count(1)
    label = select.locator("option", has_text="Newsletter").inner_text().strip()
    select.select_option(label=label)
    panel.locator(".widget-checkbox input[type='checkbox']").first.check()
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_text("Saved (enabled).")).to_be_visible()
    portal.screenshot(path=str(screenshot_dir / "connect_portal.png"))

    # Now send the events again: select the SDK cell and Run > Run Selected Cell and All Below.
    cell = page.locator(
        ".jp-CodeCell", has_text=re.compile(r'paragon\.event\(\s*"Lead Created"')
    ).first
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").first.click()
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-item[data-command='notebook:run-all-below']").click()
    landed = wait_output(page, "ada@example.com in list 'Newsletter': True")
    expect(landed).to_contain_text("grace@example.com in list 'Newsletter': True")
    wait_kernel_idle(page)
    runs = page.locator(".paragon-runs").first
    expect(runs).to_contain_text("succeeded")
    runs.scroll_into_view_if_needed()
    runs.screenshot(path=str(screenshot_dir / "run_history.png"))
