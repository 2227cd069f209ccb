"""Setting types and levels: integration-level (shared) settings seen by every workflow,
Field Mapping checked live against describe and used by Create or Update Lead, Custom
Dropdown values; through the Project API, REST (PATCH credentials) and the SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paragon_nb.errors import RuntimeStateError, WorkflowSpecError
from paragon_nb.runtime.sdk import Paragon
from paragon_nb.runtime.setting_values import apply_field_mapping

from .e2e import EVENT, lead
from .sdk_parity import ENDPOINT, IDENTITY, World, make_world

MAPPED = """\
name: Mapped sync
trigger:
  app_event: Lead Created
user_settings:
  - id: lead_fields
    label: Lead fields
    type: field_mapping
    fields: [first_name, last_name, email, company]
    required: true
    tooltip: The Marketo field each of our fields goes to
  - id: plan
    label: Plan
    type: custom_dropdown
    dropdown: plans
steps:
  - id: upsert
    action: marketo.create_or_update_lead
    fields_from: {mapping: "{{settings.lead_fields}}", record: "{{event}}"}
    fields: {title: "{{settings.plan}} / {{settings.region}}"}
"""
SHARED = [
    {"id": "region", "label": "Region", "type": "dropdown", "options": ["EU", "US"],
     "required": True, "tooltip": "Where your Marketo instance is"},
    {"id": "note", "type": "text", "default": "none"},
]  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Any:
    world = make_world(tmp_path / "proj")
    yield world
    world.project.close()


def _connect_only(world: World, sub: str) -> None:
    world.project.connect_user(
        sub, "marketo", endpoint=ENDPOINT, identity=IDENTITY,
        client_id=world.sandbox.client_id, client_secret=world.sandbox.client_secret,
    )  # fmt: skip


def test_shared_settings_are_declared_checked_and_seen_by_every_workflow(world: World) -> None:
    project = world.project
    project.add_workflow(MAPPED)
    with pytest.raises(WorkflowSpecError, match=r"settings\.region is not a declared"):
        project.deploy("Mapped sync")
    project.define_shared_settings(SHARED)
    assert [s.id for s in project.shared_settings()] == ["region", "note"]
    project.deploy("Mapped sync")
    _connect_only(world, "user-1")
    mapping = {"first_name": "firstName", "last_name": "lastName", "email": "email"}
    project.set_workflow_settings("user-1", "Mapped sync", {"lead_fields": mapping})
    with pytest.raises(RuntimeStateError, match=r"required setting.*region.*set_shared_settings"):
        project.enable_workflow("user-1", "Mapped sync")
    with pytest.raises(RuntimeStateError, match=r"'EU', 'US'|options"):
        project.set_shared_settings("user-1", {"region": "APAC"})
    with pytest.raises(RuntimeStateError, match=r"no user setting 'regoin'.*did you mean"):
        project.set_shared_settings("user-1", {"regoin": "EU"})
    state = project.set_shared_settings("user-1", {"region": "EU"})
    assert state.shared_settings == {"region": "EU"}
    project.set_workflow_settings("user-1", "Mapped sync", {"plan": "pro"})
    project.enable_workflow("user-1", "Mapped sync")
    project.trigger_event("user-1", EVENT, lead(7))
    assert project.wait_idle(timeout=60)
    [row] = [r for r in world.sandbox.leads() if r["email"] == "ada7@example.com"]
    assert row["firstName"] == "Ada" and row["lastName"] == "Lovelace7"
    assert row["title"] == "pro / EU"
    assert not row.get("company")  # not mapped by this user
    project.disconnect_user("user-1", "marketo")
    assert project.user_state("user-1").shared_settings == {}


def test_field_mapping_is_checked_against_describe(world: World) -> None:
    project = world.project
    project.define_shared_settings(SHARED)
    project.add_workflow(MAPPED)
    project.deploy("Mapped sync")
    _connect_only(world, "user-1")
    with pytest.raises(RuntimeStateError, match=r"'firstname'.*did you mean 'firstName'"):
        project.set_workflow_settings("user-1", "Mapped sync",
                                      {"lead_fields": {"first_name": "firstname"}})  # fmt: skip
    with pytest.raises(RuntimeStateError, match=r"'fist_name' is not one of its app fields"):
        project.set_workflow_settings("user-1", "Mapped sync",
                                      {"lead_fields": {"fist_name": "firstName"}})  # fmt: skip
    state = project.set_workflow_settings(
        "user-1",
        "Mapped sync",
        {
            "lead_fields": {
                "fieldMappings": {"email": "email", "company": "company", "last_name": ""}
            }
        },
    )
    wf_id = str(project.workflow("Mapped sync").id)
    stored = state.workflow(wf_id).settings
    assert stored["lead_fields"] == {
        "objectMapping": "lead",
        "fieldMappings": {"email": "email", "company": "company"},
    }


def test_apply_field_mapping() -> None:
    mapping = {"fieldMappings": {"first_name": "firstName", "email": "email"}}
    assert apply_field_mapping(mapping, {"first_name": "Ada", "x": 1}) == {"firstName": "Ada"}
    from paragon_nb.errors import StepError

    with pytest.raises(StepError, match="must be a field mapping setting"):
        apply_field_mapping("{{settings.x}}", {})


def test_shared_settings_over_rest_and_the_sdk(world: World) -> None:
    project = world.project
    project.define_shared_settings(SHARED)
    _connect_only(world, "user-1")
    paragon = Paragon(project, clock=world.clock)
    paragon.authenticate(project.id, world.token("user-1"))
    state = paragon.update_integration_user_settings("marketo", {"region": "US"})
    assert state["integrations"]["marketo"]["sharedSettings"] == {"region": "US"}
    state = paragon.update_integration_user_settings("marketo", {"note": "hello"})
    assert state["integrations"]["marketo"]["sharedSettings"] == {"region": "US", "note": "hello"}
    from paragon_nb.errors import ParagonRequestError

    with pytest.raises(ParagonRequestError, match="no user setting 'nope'"):
        paragon.update_integration_user_settings("marketo", {"nope": 1})


def test_bad_declarations_name_the_setting(world: World) -> None:
    with pytest.raises(WorkflowSpecError, match=r"'m'.*needs 'fields'"):
        world.project.define_shared_settings([{"id": "m", "type": "field_mapping"}])
    with pytest.raises(WorkflowSpecError, match="declared twice"):
        world.project.define_shared_settings([{"id": "a"}, {"id": "a"}])
