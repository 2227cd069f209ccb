"""Tutorial 01 in a real JupyterLab + headless Chromium, as a reader would click it.

Run All; the Connect Portal comes filled in from the sandbox (endpoint, client id); a wrong
secret is refused inline; Connect with the password left empty uses the sandbox's secret;
the Configuration tab refuses to save without a list, then the reader filters the lists,
picks "Newsletter", enables and saves; the cells from "send the event" down run and the lead
lands in that list; a run's steps open in the run history without spilling past the cell.
Then the Dark theme, the same screenshots, and the saved notebook holds no secret.

Screenshots go to ``$SCREENSHOTS_DIR`` (docs/img for the README) or the test's tmp folder.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from .ui import (
    horizontal_overflow,
    open_notebook,
    run_all,
    run_all_below,
    save_notebook,
    set_theme,
    wait_kernel_idle,
    wait_output,
)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TUTORIAL = NOTEBOOKS / "01_marketo_integration_tutorial.ipynb"
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


def test_tutorial_01_in_the_browser_light_and_dark(
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

    portal = page.locator(".paragon-connect-portal").first
    portal.scroll_into_view_if_needed()
    endpoint_box = portal.get_by_label("Endpoint URL")
    expect(endpoint_box).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/rest$"))
    endpoint = endpoint_box.input_value()
    expect(portal.get_by_label("Client ID")).to_have_value("tutorial-client")
    expect(portal.get_by_label("Identity URL")).to_have_value(
        endpoint.removesuffix("/rest") + "/identity"
    )
    password = portal.locator(".widget-text input[type='password']")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", re.compile("secret of the sandbox"))
    connect = portal.get_by_role("button", name="Connect", exact=True)
    password.fill("not-the-secret")
    connect.click()  # a wrong secret: the error shows inline, in plain words
    expect(portal.locator(".paragon-error")).to_contain_text(
        "Marketo refused the Client ID / Client Secret", timeout=30_000
    )
    expect(password).to_have_value("")  # the secret is never kept in the form
    connect.click()  # left empty: the sandbox's secret goes straight to the project
    expect(portal.get_by_text("Connected to Marketo.")).to_be_visible(timeout=30_000)
    expect(portal).to_contain_text(endpoint)  # the Connection tab: the endpoint as used
    expect(portal).to_contain_text("••••••••")
    expect(portal).not_to_contain_text(secret)

    portal.locator(".lm-TabBar-tab", has_text="Configuration").click()
    panel = portal.locator(".paragon-workflow-panel").first
    panel.get_by_role("button", name="Save").click()  # no list chosen yet: refused
    expect(panel.locator(".paragon-error")).to_contain_text(
        "Not saved: fill in the required setting(s) Marketo list"
    )
    expect(panel).not_to_contain_text("Saved (")
    panel.get_by_role("button", name="Refresh").click()
    expect(panel).to_contain_text("3 static list(s)")
    panel.get_by_placeholder("filter lists").fill("news")
    expect(panel).to_contain_text("1 of 3 static list(s)")
    select = panel.locator(".widget-dropdown select").first
    label = select.locator("option", has_text="Newsletter").inner_text().strip()
    select.select_option(label=label)
    panel.locator(".widget-checkbox input[type='checkbox']").first.check()
    panel.get_by_role("button", name="Save").click()
    expect(panel.get_by_text("Saved (enabled).")).to_be_visible()
    portal.screenshot(path=str(screenshot_dir / "connect_portal.png"))

    # Now send the events again: Run > Run Selected Cell and All Below from the SDK cell.
    run_all_below(page, "paragon.event(")
    landed = wait_output(page, "ada@example.com in list 'Newsletter': True")
    expect(landed).to_contain_text("grace@example.com in list 'Newsletter': True")
    wait_kernel_idle(page)

    runs = page.locator(".paragon-runs").first
    expect(runs).to_contain_text("succeeded")
    runs.locator("summary", has_text="steps").first.click()  # ▶ steps
    steps = runs.locator(".paragon-steps").first
    expect(steps).to_be_visible()
    expect(steps).to_contain_text("upsert_lead")
    expect(steps).to_contain_text('"email": "grace@example.com"')  # the newest run's input
    expect(steps).to_contain_text("attempts")
    output_area = page.locator(".jp-OutputArea-output", has=runs).first
    output_area.scroll_into_view_if_needed()
    assert horizontal_overflow(output_area) == []
    output_area.screenshot(path=str(screenshot_dir / "run_history.png"))
    diagram = page.locator(".paragon-workflow").first
    diagram.scroll_into_view_if_needed()
    diagram.screenshot(path=str(screenshot_dir / "workflow_diagram.png"))

    set_theme(page, "JupyterLab Dark")
    assert horizontal_overflow(output_area) == []
    output_area.scroll_into_view_if_needed()
    output_area.screenshot(path=str(screenshot_dir / "run_history_dark.png"))
    diagram.scroll_into_view_if_needed()
    diagram.screenshot(path=str(screenshot_dir / "workflow_diagram_dark.png"))
    portal.scroll_into_view_if_needed()
    portal.screenshot(path=str(screenshot_dir / "connect_portal_dark.png"))
    set_theme(page, "JupyterLab Light")  # the theme is a user setting: leave it as found

    save_notebook(page)  # what autosave would store: outputs and widget state
    saved = server.notebook_copy.read_text()
    assert secret not in saved
    assert "PRIVATE KEY" not in saved
    assert not JWT.search(saved)
