from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import (
    EventValidationError,
    MarketoAuthError,
    NotFoundError,
    RuntimeStateError,
    TokenExpired,
    TokenInvalid,
    WorkflowSpecError,
)
from paragon_nb.runtime import connect_shapes
from paragon_nb.runtime.api import Connection, CredentialStatus, UserState, WorkflowSettings
from paragon_nb.runtime.project import Project
from paragon_nb.tokens import sign_user_token

from .conftest import ENDPOINT, LEAD_EXAMPLE, SEED_SPEC, connect, stored_data
from .fakes import CLIENT_ID, CLIENT_SECRET, FakeMarketo

WF = "Sync new leads to Marketo"


def test_create_and_open(
    project: Project, project_dir: Path | str, clock: FakeClock, tmp_path: Path
) -> None:
    assert len(project.id) == 36 and project.name == "Demo" and project.path == project_dir
    with pytest.raises(RuntimeStateError, match=r"already exists.*Project.open"):
        Project.create("Again", path=project_dir, clock=clock)
    with Project.open(project_dir, clock=clock) as again:
        assert again.id == project.id and again.name == "Demo"
    with pytest.raises(NotFoundError, match="no project in"):
        Project.open(tmp_path / "nothing")


@pytest.mark.sqlite_only
def test_a_folder_holds_the_database_and_a_private_key(project: Project, project_dir: Path) -> None:
    assert (project_dir / "project.sqlite3").exists()
    key_file = project_dir / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_secret_key_from_env_means_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("PARAGON_NB_SECRET_KEY", Fernet.generate_key().decode())
    with Project.create("Env", path=tmp_path / "p", clock=clock):
        pass
    assert not (tmp_path / "p" / "secret.key").exists()


def test_signing_key_private_half_is_never_stored(project: Project, clock: FakeClock) -> None:
    key = project.generate_signing_key()
    token = sign_user_token(key.private_pem, "user-1", now=clock.time())
    assert project.verify_user_token(token)["sub"] == "user-1"
    body = key.private_pem.split("-----")[2].strip().splitlines()[1]
    for where, data in stored_data(project.path).items():
        assert body.encode() not in data, where
    assert "PRIVATE" not in repr(key)


def test_a_new_signing_key_invalidates_the_old_one(project: Project, clock: FakeClock) -> None:
    old = project.generate_signing_key()
    old_token = sign_user_token(old.private_pem, "u", now=clock.time())
    new = project.generate_signing_key()
    with pytest.raises(TokenInvalid):
        project.verify_user_token(old_token)
    assert project.verify_user_token(sign_user_token(new.private_pem, "u", now=clock.time()))
    assert project.public_key == new.public_pem


def test_token_checks_use_the_project_clock(project: Project, clock: FakeClock) -> None:
    with pytest.raises(TokenInvalid, match="no signing key"):
        project.verify_user_token("a.b.c")
    key = project.generate_signing_key()
    token = sign_user_token(key.private_pem, "u", ttl=60, now=clock.time())
    clock.advance(3600)
    with pytest.raises(TokenExpired):
        project.verify_user_token(token)


def test_app_events_define_update_rename(project: Project) -> None:
    ev = project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    assert ev.schema["properties"]["email"] == {"type": "string"}
    project.add_workflow(SEED_SPEC)
    ev2 = project.define_app_event("Lead Created", example={**LEAD_EXAMPLE, "score": 3})
    assert ev2.id == ev.id and "score" in ev2.schema["properties"]
    renamed = project.rename_app_event("Lead Created", "Lead Added")
    assert renamed.id == ev.id and renamed.name == "Lead Added"
    assert project.workflow(WF).spec.trigger.app_event == "Lead Added"  # the draft follows
    with pytest.raises(NotFoundError, match="did you mean 'Lead Added'"):
        project.app_event("Lead Adde")
    with pytest.raises(RuntimeStateError, match="JSON object"):
        project.define_app_event("Bad", example=["not", "an", "object"])


def test_deploy_requires_the_event_and_valid_references(project: Project) -> None:
    project.add_workflow(SEED_SPEC)
    with pytest.raises(WorkflowSpecError, match="'Lead Created', which is not defined"):
        project.deploy(WF)
    project.define_app_event("Lead Created", example={"email": "a@x.com"})
    with pytest.raises(
        WorkflowSpecError, match=r"event\.first_name does not exist; available: email"
    ):
        project.deploy(WF)
    assert not project.workflow(WF).deployed


def test_versioning_edits_touch_only_the_draft(seeded: Project) -> None:
    wf = seeded.workflow(WF)
    assert wf.deployed_version == 1 and wf.versions == (1,)
    assert seeded.deploy(WF) == 1  # unchanged draft: no new version
    edited = SEED_SPEC.replace("lookup_field: email", "lookup_field: email\n    partition: Default")
    seeded.update_workflow(WF, edited)
    wf = seeded.workflow(WF)
    assert wf.spec.steps[0].params["partition"] == "Default"
    assert "partition" not in wf.deployed_spec.steps[0].params  # live version untouched
    assert seeded.deploy(WF) == 2
    history = seeded.versions(WF)
    assert [(h.version, h.live) for h in history] == [(1, False), (2, True)]
    assert "partition" not in history[0].spec["steps"][0] and history[0].event == "Lead Created"
    restored = seeded.restore(WF, 1)
    assert "partition" not in restored.spec.steps[0].params and restored.deployed_version == 2
    assert seeded.deploy(WF) == 3  # a restore is deployed as a new version
    seeded.undeploy(WF)
    assert not seeded.workflow(WF).deployed and seeded.workflow(WF).versions == (1, 2, 3)


def test_add_workflow_refuses_duplicates_and_unknown_names(project: Project) -> None:
    project.add_workflow(SEED_SPEC)
    with pytest.raises(RuntimeStateError, match="update_workflow"):
        project.add_workflow(SEED_SPEC)
    with pytest.raises(NotFoundError, match="did you mean 'Sync new leads to Marketo'"):
        project.workflow("Sync new lead to Marketo")


def test_connect_refuses_bad_credentials_and_stores_nothing(project: Project) -> None:
    with pytest.raises(MarketoAuthError, match="refused the credentials of user 'u'") as info:
        project.connect_user(
            "u", "marketo", endpoint=ENDPOINT, client_id=CLIENT_ID, client_secret="wrong-secret-123"
        )
    assert "wrong-secret-123" not in str(info.value)
    code = info.value.code
    assert code and str(info.value).count(f"[{code}]") == 1  # the code is shown once
    state = project.user_state("u")
    assert state.enabled is False and state.connection is None
    with pytest.raises(NotFoundError, match="available: marketo"):
        project.connect_user(
            "u", "salesforce", endpoint=ENDPOINT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )


def test_user_state_is_typed_and_its_sdk_json_is_the_connect_user(seeded: Project) -> None:
    state = seeded.user_state("user-1")
    wf_id = seeded.workflow(WF).id
    assert isinstance(state, UserState) and state.user_id == "user-1"
    assert isinstance(state.connection, Connection)
    assert state.enabled is True and state.connection.status == CredentialStatus.VALID
    assert (state.connection.endpoint, state.connection.client_id) == (ENDPOINT, CLIENT_ID)
    assert state.workflows == {wf_id: WorkflowSettings(True, {"marketo_list": 1001})}
    assert state.workflow("no-such-workflow") == WorkflowSettings(False, {})
    assert CLIENT_SECRET not in repr(state)
    sdk = connect_shapes.user_state(seeded, state)  # what GET /sdk/me answers
    assert sdk["authenticated"] is True and sdk["userId"] == "user-1"
    marketo = sdk["integrations"]["marketo"]
    assert marketo["enabled"] is True and marketo["credentialStatus"] == "VALID"
    assert marketo["credentialId"] == state.connection.credential_id
    assert marketo["workflowSettings"] == {
        wf_id: {"enabled": True, "settings": {"marketo_list": 1001}}
    }
    assert marketo["allCredentials"][0]["providerData"] == {"endpoint": ENDPOINT}
    assert CLIENT_SECRET not in repr(sdk)


def test_settings_are_checked(project: Project, marketo: FakeMarketo) -> None:
    spec = SEED_SPEC.replace(
        "    required: true\n",
        "    required: true\n  - id: size\n    type: number\n  - id: vip\n    type: boolean\n"
        "  - id: tier\n    type: dropdown\n    options: [gold, silver]\n",
    )
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(spec)
    with pytest.raises(RuntimeStateError, match="not deployed"):
        project.set_workflow_settings("user-1", WF, {"marketo_list": 1001})
    project.deploy(WF)
    with pytest.raises(RuntimeStateError, match="has not connected Marketo"):
        project.set_workflow_settings("user-1", WF, {"marketo_list": 1001})
    connect(project)
    with pytest.raises(RuntimeStateError, match="no user setting 'colour'; declared: marketo_list"):
        project.set_workflow_settings("user-1", WF, {"colour": "red"})
    with pytest.raises(RuntimeStateError, match=r"list 4242 does not exist.*1001 \(Newsletter\)"):
        project.set_workflow_settings("user-1", WF, {"marketo_list": "4242"})
    with pytest.raises(RuntimeStateError, match="takes a Marketo static list id"):
        project.set_workflow_settings("user-1", WF, {"marketo_list": "Newsletter"})
    with pytest.raises(RuntimeStateError, match="takes a number"):
        project.set_workflow_settings("user-1", WF, {"size": "big"})
    with pytest.raises(RuntimeStateError, match="not an option"):
        project.set_workflow_settings("user-1", WF, {"tier": "bronze"})
    with pytest.raises(RuntimeStateError, match=r"required setting.*marketo_list"):
        project.enable_workflow("user-1", WF)
    project.set_workflow_settings("user-1", WF, {"marketo_list": "1001", "size": "3", "vip": "yes"})
    project.set_workflow_settings("user-1", WF, {"tier": "gold"})  # merges
    settings = project.user_state("user-1").workflow(project.workflow(WF).id).settings
    assert settings == {
        "marketo_list": 1001,
        "size": 3,
        "vip": True,
        "tier": "gold",
    }
    project.enable_workflow("user-1", WF)
    with pytest.raises(RuntimeStateError, match="required while workflow"):
        project.set_workflow_settings("user-1", WF, {"marketo_list": None})


def test_disconnect_clears_settings_and_disables(seeded: Project) -> None:
    seeded.disconnect_user("user-1", "marketo")
    state = seeded.user_state("user-1")
    assert state.connection is None and state.workflows == {}
    with pytest.raises(NotFoundError, match="nothing to disconnect"):
        seeded.disconnect_user("user-1", "marketo")
    with pytest.raises(RuntimeStateError, match="has not connected"):
        seeded.enable_workflow("user-1", WF)
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert seeded.runs().empty


def test_users_frame(seeded: Project) -> None:
    seeded.set_user_meta("user-1", {"Name": "Ada"})
    frame = seeded.users()
    assert list(frame.columns) == [
        "user",
        "marketo",
        "credential_id",
        "endpoint",
        "enabled_workflows",
        "meta",
        "created",
    ]
    row = frame.iloc[0]
    assert row["user"] == "user-1" and row["marketo"] == "VALID"
    assert row["enabled_workflows"] == [WF] and row["meta"] == {"Name": "Ada"}


def test_strict_projects_validate_live_events(seeded: Project) -> None:
    # not strict: anything goes (as Paragon), even an undefined event name
    seeded.trigger_event("user-1", "Lead Created", {"email": 3})
    seeded.trigger_event("user-1", "Unknown", {})
    seeded.strict = True
    assert seeded.strict
    with pytest.raises(EventValidationError) as info:
        seeded.trigger_event("user-1", "Lead Created", {"email": 3, "first_name": "A"})
    fields = {e["field"] for e in info.value.errors}
    assert {"email", "last_name", "company", "title"} <= fields
    with pytest.raises(EventValidationError, match="not defined"):
        seeded.trigger_event("user-1", "Unknown", {})
    seeded.wait_idle(5)
    assert len(seeded.events()) == 2  # refused events are not stored
    with pytest.raises(RuntimeStateError, match="JSON object"):
        seeded.trigger_event("user-1", "Lead Created", ["x"])  # type: ignore[arg-type]


def test_reopen_keeps_workflows_users_and_runs(
    seeded: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert seeded.wait_idle(5)
    seeded.close()
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        assert again.workflow(WF).deployed_version == 1
        assert again.user_state("user-1").enabled
        assert list(again.runs()["status"]) == ["succeeded"]
        again.trigger_event("user-1", "Lead Created", {**LEAD_EXAMPLE, "email": "b@x.com"})
        assert again.wait_idle(5)
        assert list(again.runs()["status"]) == ["succeeded", "succeeded"]
    assert marketo.members[1001] == {1, 2}


def test_no_plaintext_secret_in_the_project_folder(seeded: Project) -> None:
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    seeded.wait_idle(5)
    seeded.close()
    stored = stored_data(seeded.path)
    assert any("project.sqlite3" in where or where == "credentials" for where in stored)
    for where, data in stored.items():
        assert CLIENT_SECRET.encode() not in data, where
    assert CLIENT_SECRET not in repr(seeded)


def test_short_lived_threads_do_not_leak_connections(seeded: Project) -> None:
    import psutil

    proc = psutil.Process()
    seeded.user_state("user-1")
    before = proc.num_fds()
    for _ in range(100):  # the REST server runs each request on a new thread
        t = threading.Thread(target=seeded.user_state, args=("user-1",))
        t.start()
        t.join()
    assert proc.num_fds() - before < 10
