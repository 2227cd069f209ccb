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


MAPPED = """\
name: Mapped sync
trigger:
  app_event: Lead Created
user_settings:
  - id: lead_fields
    label: Lead fields
    type: field_mapping
    fields: [first_name, email]
    required: true
    tooltip: The Marketo field each of our fields goes to
  - id: plan
    label: Plan
    type: custom_dropdown
    dropdown: plans
    tooltip: Your plan in our app
steps:
  - id: upsert
    action: marketo.create_or_update_lead
    fields_from: {mapping: "{{settings.lead_fields}}", record: "{{event}}"}
    fields: {title: "{{settings.plan}} in {{settings.region}}"}
"""


def test_portal_field_mapping_custom_dropdown_and_shared_settings(world: World) -> None:
    project = world.project
    project.define_shared_settings(
        [{"id": "region", "label": "Region", "type": "dropdown", "options": ["EU", "US"],
          "required": True, "tooltip": "Where your Marketo instance is"}]
    )  # fmt: skip
    project.add_workflow(MAPPED)
    project.deploy("Mapped sync")
    creds = MarketoCredentials(
        ENDPOINT, world.sandbox.client_id, world.sandbox.client_secret, IDENTITY
    )
    portal = ConnectPortal(
        project,
        user_id="user-1",
        credentials=creds,
        dropdowns={"plans": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}]},
    )
    assert portal.connect(), portal.model.error
    # integration-level Settings first: required, with its tooltip
    shared = portal.shared
    assert shared is not None and shared.field("region").tooltip == "Where your Marketo instance is"
    assert shared.save() is False and "Region" in shared._status.value
    shared.field("region").value = "US"
    assert shared.save() is True, shared._status.value
    assert project.user_state("user-1").shared_settings == {"region": "US"}
    panel = portal.panel("Mapped sync")
    mapping = panel.field("lead_fields")
    assert mapping._title.tooltip == "The Marketo field each of our fields goes to"
    options = dict((name, label) for label, name in mapping.picker("email").options)
    assert "firstName" in options and "email" in options  # live from describe
    assert mapping.value is None
    panel._enabled.value = True
    assert panel.save() is False and "Lead fields" in panel._status.value  # required
    mapping.picker("first_name").value = "firstName"
    mapping.picker("email").value = "email"
    plan = panel.field("plan")
    assert [label for label, _ in plan._dropdown.options] == ["(choose)", "Free", "Pro"]
    assert plan._dropdown.tooltip == "Your plan in our app"
    plan.value = "pro"
    assert panel.save() is True, panel._status.value
    project.trigger_event("user-1", "Lead Created", {"first_name": "Ada", "email": "a@x.com",
                                                     "last_name": "L", "company": "C",
                                                     "title": "T"})  # fmt: skip
    assert project.wait_idle(timeout=60)
    [row] = [r for r in world.sandbox.leads() if r["email"] == "a@x.com"]
    assert row["firstName"] == "Ada" and row["title"] == "pro in US"
    # reopened, the portal shows what was saved
    again = ConnectPortal(project, user_id="user-1", dropdowns={"plans": ["free", "pro"]})
    assert again.panel("Mapped sync").field("lead_fields").mappings() == {
        "first_name": "firstName",
        "email": "email",
    }
    assert again.panel("Mapped sync").field("plan").value == "pro"
    assert again.shared is not None and again.shared.field("region").value == "US"
