"""Environment secrets: set/list/delete, encrypted at rest, ``{{secrets.NAME}}`` resolved in
steps, and no secret value in any stored row or display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paragon_nb.errors import NotFoundError, RuntimeStateError, WorkflowSpecError
from paragon_nb.runtime.api import RunRecord
from paragon_nb.runtime.project import Project

from .e2e import lead
from .sdk_parity import World, every_stored_text, make_world

SECRET = "crm-token-5f1c9a77"
CALLS_WORKFLOW = """\
name: Call the CRM
trigger:
  app_event: Lead Created
steps:
  - id: call_crm
    action: python
    function: call_crm
    input:
      auth: "Bearer {{secrets.CRM_TOKEN}}"
      token: "{{secrets.CRM_TOKEN}}"
      note: "sent {{event.email}} with {{secrets.CRM_TOKEN}}"
"""


@pytest.fixture
def world(tmp_path: Path) -> Any:
    world = make_world(tmp_path / "proj")
    yield world
    world.project.close()


def _run_calls_workflow(world: World) -> RunRecord:
    """Deploy CALLS_WORKFLOW, enable it for user-1, send one Lead Created and return the
    finished run of "Call the CRM"."""
    project = world.project
    project.add_workflow(CALLS_WORKFLOW)
    project.deploy("Call the CRM")
    world.connect()
    project.enable_workflow("user-1", "Call the CRM")
    receipt = project.trigger_event("user-1", "Lead Created", {"email": "ada@example.com"})
    assert project.wait_idle(timeout=60)
    [run_id] = [r for r in receipt.run_ids if project.run(r).workflow == "Call the CRM"]
    return project.run(run_id)


def test_set_list_delete(world: World) -> None:
    project = world.project
    assert project.list_secrets() == []
    project.set_secret("CRM_TOKEN", SECRET)
    project.set_secret("OTHER", "value-2")
    project.set_secret("CRM_TOKEN", SECRET + "-v2")  # replaces
    assert project.list_secrets() == ["CRM_TOKEN", "OTHER"]
    project.delete_secret("OTHER")
    assert project.list_secrets() == ["CRM_TOKEN"]
    with pytest.raises(NotFoundError, match=r"no environment secret 'CRM_TOKN'.*did you mean"):
        project.delete_secret("CRM_TOKN")
    with pytest.raises(RuntimeStateError, match="must start with a letter"):
        project.set_secret("crm token", SECRET)
    with pytest.raises(RuntimeStateError, match="at least 4 characters"):
        project.set_secret("SHORT", "abc")
    assert SECRET not in repr(project) and SECRET not in every_stored_text(project.path)


def test_encrypted_at_rest_and_readable_after_reopen(world: World, tmp_path: Path) -> None:
    world.project.set_secret("CRM_TOKEN", SECRET)
    raw = (tmp_path / "proj" / "project.sqlite3").read_bytes()
    assert SECRET.encode() not in raw
    world.project.close()
    with Project.open(tmp_path / "proj", clock=world.clock) as again:
        assert again.list_secrets() == ["CRM_TOKEN"]
        assert again._secrets.values() == {"CRM_TOKEN": SECRET}


def test_secret_resolves_in_steps_and_is_masked_everywhere(world: World) -> None:
    project = world.project
    seen: list[dict[str, str]] = []

    def call_crm(auth: str, token: str, note: str) -> dict[str, str]:
        seen.append({"auth": auth, "token": token, "note": note})
        return {"echo": token, "said": f"the CRM accepted {token}"}

    project.register_function("call_crm", call_crm, output={"echo": "x", "said": "x"})
    project.set_secret("CRM_TOKEN", SECRET)
    detail = _run_calls_workflow(world)
    # the function got the real value ...
    assert seen == [
        {"auth": f"Bearer {SECRET}", "token": SECRET, "note": f"sent ada@example.com with {SECRET}"}
    ]
    # ... and no record, display or row holds it
    assert detail.status == "succeeded"
    assert SECRET not in repr(detail)
    [step] = [s for s in detail.steps if s.step_id == "call_crm"]
    assert step.input["input"]["token"] == "***"
    assert step.output["result"]["said"] == "the CRM accepted ***"
    assert SECRET not in project.runs().to_string()
    assert SECRET not in every_stored_text(project.path)


def test_a_missing_secret_fails_the_step_naming_the_ones_set(world: World) -> None:
    project = world.project
    project.register_function("call_crm", lambda **kw: kw, output={})
    project.set_secret("CRM_TOKEN_OLD", SECRET)
    detail = _run_calls_workflow(world)
    assert detail.status == "failed"
    assert "secrets.CRM_TOKEN" in detail.error and "CRM_TOKEN_OLD" in detail.error
    assert SECRET not in every_stored_text(project.path)


def test_deploy_checks_the_shape_of_a_secret_reference(world: World) -> None:
    project = world.project
    project.register_function("call_crm", lambda **kw: kw, output={})
    project.add_workflow(CALLS_WORKFLOW.replace("{{secrets.CRM_TOKEN}}", "{{secrets}}", 1))
    with pytest.raises(WorkflowSpecError, match="secrets needs one name"):
        project.deploy("Call the CRM")


def test_a_secret_sent_to_marketo_is_masked_in_the_records(world: World) -> None:
    project = world.project
    project.set_secret("PARTNER_CODE", SECRET)
    project.add_workflow(
        "name: Tag partner leads\n"
        "trigger:\n  app_event: Lead Created\n"
        "steps:\n"
        "  - id: upsert\n    action: marketo.create_or_update_lead\n"
        '    fields: {email: "{{event.email}}", title: "partner {{secrets.PARTNER_CODE}}"}\n'
    )
    project.deploy("Tag partner leads")
    world.connect()
    project.enable_workflow("user-1", "Tag partner leads")
    project.disable_workflow("user-1", "Sync new leads to Marketo")  # one writer of the lead
    receipt = project.trigger_event("user-1", "Lead Created", {**lead(), "email": "p@example.com"})
    assert project.wait_idle(timeout=60)
    [row] = [r for r in world.sandbox.leads() if r["email"] == "p@example.com"]
    assert row["title"] == f"partner {SECRET}"  # Marketo got the value
    for run_id in receipt.run_ids:
        assert project.run(run_id).status == "succeeded"
    # the queued write held it until it was sent; nothing stored keeps it afterwards
    assert SECRET not in every_stored_text(project.path)
