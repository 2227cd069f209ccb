"""The Connect Portal's callbacks (``connect(on_install=..., onWorkflowChange=...)``) and the
SDK's subscribers hearing what a user clicks: headless widgets over a real project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paragon_nb.runtime.gateway import MarketoCredentials
from paragon_nb.runtime.sdk import Paragon
from paragon_nb.widgets.connect_portal import ConnectPortal

from .sdk_parity import ENDPOINT, IDENTITY, WORKFLOW, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Any:
    world = make_world(tmp_path / "proj")
    yield world
    world.project.close()


def test_portal_callbacks_and_subscribers(world: World) -> None:
    heard: list[tuple[str, dict]] = []
    paragon = Paragon(world.project, clock=world.clock)
    paragon.authenticate(world.project.id, world.token("user-1"))
    paragon.subscribe("onIntegrationInstall", lambda e, u: heard.append(("sub-install", e)))
    creds = MarketoCredentials(
        ENDPOINT, world.sandbox.client_id, world.sandbox.client_secret, IDENTITY
    )
    portal = paragon.connect(
        "marketo",
        credentials=creds,
        onSuccess=lambda e, u: heard.append(("success", e)),  # not called: onInstall wins
        on_install=lambda e, u: heard.append(("install", e)),
        onWorkflowChange=lambda e, u: heard.append(("workflow", e)),
        on_uninstall=lambda e, u: heard.append(("uninstall", e)),
        on_open=lambda e, u: heard.append(("open", e)),
        on_close=lambda e, u: heard.append(("close", e)),
    )
    assert isinstance(portal, ConnectPortal)
    assert portal.connect() is True, portal.model.error
    assert paragon.get_user()["integrations"]["marketo"]["credentialId"]  # SDK state follows
    panel = portal.panel(WORKFLOW)
    picker = panel.field("marketo_list")
    picker._refresh.click()
    picker._dropdown.value = world.list_id
    panel._enabled.value = True
    panel._save.click()
    portal.model.disconnect()
    portal.close_portal()
    portal.close_portal()  # tells on_close once

    assert [name for name, _ in heard] == [
        "open", "install", "sub-install", "workflow", "uninstall", "close",
    ]  # fmt: skip
    events = dict(heard)
    assert events["install"]["integrationType"] == "marketo"
    assert events["install"]["credentialId"] and events["install"]["integrationId"]
    change = events["workflow"]["workflowStateChange"]
    assert change == {"enabled": True, "settings": {"marketo_list": world.list_id}}
    assert events["workflow"]["workflowId"] == str(world.project.workflow(WORKFLOW).id)
    assert events["uninstall"]["credentialId"] == events["install"]["credentialId"]


def test_portal_refuses_unknown_options(world: World) -> None:
    with pytest.raises(TypeError, match=r"unknown option.*on_instal"):
        ConnectPortal(world.project, user_id="u", on_instal=print)
    with pytest.raises(TypeError, match="must be a function"):
        ConnectPortal(world.project, user_id="u", on_install="nope")
