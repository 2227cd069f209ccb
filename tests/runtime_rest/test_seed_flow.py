"""The seed tutorial end to end against the sandbox: key -> token -> authenticate ->
connect Marketo -> pick the list -> enable -> event over REST -> the lead is in the list.
Then the same through ``Paragon``, and every attack against the real project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from paragon_nb.errors import EventValidationError
from paragon_nb.runtime.sdk import Paragon
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp
from paragon_nb.tokens import SigningKey

from .e2e import EVENT, WORKFLOW, Seeded, in_process_factory, lead, seed_project
from .test_rest_http import _attack_tokens


@pytest.fixture
def sandbox() -> SandboxApp:
    return SandboxApp(rate_limit=None)


@pytest.fixture
def seeded(store: Path | str, sandbox: SandboxApp) -> Any:
    """The seeded project, once in a folder and once in PostgreSQL (``store``)."""
    seeded = seed_project(store, client_factory=in_process_factory(sandbox.transport()))
    yield seeded
    seeded.project.close()


def _lead_id(sandbox: SandboxApp, email: str) -> int:
    [match] = [row for row in sandbox.leads() if row.get("email") == email]
    return int(match["id"])


def _install_pick_enable(paragon: Paragon, sandbox: SandboxApp, list_name: str) -> str:
    paragon.install_integration(
        "marketo",
        endpoint=f"{LOCAL_ORIGIN}/rest",
        identity=f"{LOCAL_ORIGIN}/identity",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    options = paragon.get_field_options("marketo", "marketo_list")
    [picked] = [o for o in options if o["label"] == list_name]
    [integration] = paragon.get_integrations()
    [workflow] = [w for w in integration["workflows"] if w["name"] == WORKFLOW]
    paragon.update_workflow_settings("marketo", workflow["id"], {"marketo_list": picked["value"]})
    paragon.enable_workflow(workflow["id"])
    return workflow["id"]


def test_seed_flow_over_rest(seeded: Seeded, sandbox: SandboxApp) -> None:
    listing = sandbox.create_list("Newsletter")
    sandbox.create_list("Other")
    project = seeded.project
    token = seeded.token("user-1")
    with project.serve() as handle, Paragon(base_url=handle.url) as paragon:
        paragon.authenticate(project.id, token, metadata={"Name": "Ada's app"})
        wf_id = _install_pick_enable(paragon, sandbox, "Newsletter")
        state = paragon.get_user()["integrations"]["marketo"]
        assert state["credentialStatus"] == "VALID"
        assert state["workflowSettings"][wf_id]["enabled"] is True
        assert sandbox.client_secret not in str(paragon.get_user())

        response = httpx.post(
            f"{handle.project_url}/sdk/events/trigger",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": EVENT, "payload": lead(1)},
        )
        assert response.status_code == 201
        event_id = response.json()["eventId"]
        assert [e.id for e in project.events()] == [event_id]  # persisted before the 201

    assert project.wait_idle(timeout=30)
    runs = project.runs()
    assert list(runs["status"]) == ["succeeded"], runs["error"].tolist()
    assert list(runs["event_id"]) == [event_id]
    assert sandbox.list_members(listing["id"]) == [_lead_id(sandbox, "ada1@example.com")]


def test_seed_flow_through_paragon_in_process(seeded: Seeded, sandbox: SandboxApp) -> None:
    listing = sandbox.create_list("Newsletter")
    project = seeded.project
    with Paragon(project) as paragon:
        paragon.authenticate(project.id, seeded.token("user-2"))
        _install_pick_enable(paragon, sandbox, "Newsletter")
        event_ids = [paragon.event(EVENT, lead(i)) for i in range(3)]
    assert project.wait_idle(timeout=30)
    runs = project.runs()
    assert sorted(runs["event_id"]) == sorted(event_ids)
    assert set(runs["status"]) == {"succeeded"}
    members = sandbox.list_members(listing["id"])
    assert sorted(members) == sorted(_lead_id(sandbox, f"ada{i}@example.com") for i in range(3))


def test_unconnected_user_event_is_accepted_without_runs(seeded: Seeded) -> None:
    with Paragon(seeded.project) as paragon:
        paragon.authenticate(seeded.project.id, seeded.token("nobody"))
        assert paragon.event(EVENT, lead()) is not None
    assert seeded.project.wait_idle(timeout=5)
    assert len(seeded.project.events()) == 1 and seeded.project.runs().empty


ATTACKS = [
    "missing header",
    "garbage",
    "alg none",
    "hs256 with public key",
    "expired",
    "wrong key",
    "missing sub",
    "missing exp",
    "iat in future",
    "tampered",
]


def test_attacks_and_malformed_requests_start_no_run(
    seeded: Seeded, sandbox: SandboxApp, tmp_path: Path
) -> None:
    project = seeded.project
    listing = sandbox.create_list("Newsletter")
    project.connect_user(
        "user-1",
        "marketo",
        endpoint=f"{LOCAL_ORIGIN}/rest",
        identity=f"{LOCAL_ORIGIN}/identity",
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    project.set_workflow_settings("user-1", WORKFLOW, {"marketo_list": listing["id"]})
    project.enable_workflow("user-1", WORKFLOW)
    other = seed_project(tmp_path / "other")  # another project's key
    other_token = other.token("user-1")
    other.project.close()
    tokens = _attack_tokens((seeded.key, SigningKey.generate()))
    tokens = {name: tokens[name] for name in ATTACKS} | {"another project": other_token}
    good = {"Authorization": f"Bearer {seeded.token('user-1')}"}
    url = f"/projects/{project.id}/sdk/events/trigger"
    body = {"name": EVENT, "payload": lead()}
    with project.serve() as handle, httpx.Client(base_url=handle.url) as http:
        for name, token in tokens.items():
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            assert http.post(url, json=body, headers=headers).status_code == 401, name
        malformed = [
            (b"{oops", 400),
            (b'{"payload": {}}', 400),
            (b'{"name": "Lead Created", "payload": [1]}', 400),
            (b'{"name": "Lead Created", "payload": {"x": "' + b"y" * 1_000_001 + b'"}}', 413),
        ]
        for raw, status in malformed:
            response = http.post(url, content=raw, headers=good)
            assert response.status_code == status, raw[:40]
        assert (
            http.post(
                f"/projects/{seeded.project.id}x/sdk/events/trigger", json=body, headers=good
            ).status_code
            == 404
        )
        assert http.get(url, headers=good).status_code == 405
    assert project.events() == []
    assert project.runs().empty
    assert sandbox.lead_count() == 0


def test_strict_project_answers_422_and_records_nothing(seeded: Seeded) -> None:
    project = seeded.project
    project.strict = True
    with project.serve() as handle:
        response = httpx.post(
            f"{handle.project_url}/sdk/events/trigger",
            headers={"Authorization": f"Bearer {seeded.token()}"},
            json={"name": EVENT, "payload": {"email": 42}},
        )
    assert response.status_code == 422
    assert response.json()["errors"] and "email" in str(response.json()["errors"])
    assert project.events() == []


def test_strict_project_through_paragon_raises_event_validation_error(seeded: Seeded) -> None:
    seeded.project.strict = True
    with Paragon(seeded.project) as paragon:
        paragon.authenticate(seeded.project.id, seeded.token())
        with pytest.raises(EventValidationError) as info:
            paragon.event(EVENT, {"email": 42})
        assert any(e["field"] == "email" for e in info.value.errors)
        paragon.event(EVENT, lead())  # a matching payload is accepted
    assert len(seeded.project.events()) == 1


def test_project_serve_takes_a_body_limit(seeded: Seeded) -> None:
    project = seeded.project
    with project.serve(max_body=200) as handle:
        response = httpx.post(
            f"{handle.project_url}/sdk/events/trigger",
            headers={"Authorization": f"Bearer {seeded.token()}"},
            json={"name": EVENT, "payload": {"x": "y" * 300}},
        )
    assert response.status_code == 413
    assert "200-byte limit" in response.json()["message"]
    assert project.events() == []


def test_an_idempotency_key_repeat_gets_the_same_201_and_records_one_event(
    seeded: Seeded,
) -> None:
    project = seeded.project
    token = seeded.token("user-1")
    with project.serve() as handle, httpx.Client() as http:
        url = f"{handle.project_url}/sdk/events/trigger"
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "signup-42"}
        first = http.post(url, headers=headers, json={"name": EVENT, "payload": lead(1)})
        again = http.post(url, headers=headers, json={"name": EVENT, "payload": lead(1)})
        second = {**headers, "Idempotency-Key": "signup-43"}
        other = http.post(url, headers=second, json={"name": EVENT, "payload": lead(2)})
        bad = http.post(
            url, headers={**headers, "Idempotency-Key": "a b"}, json={"name": EVENT, "payload": {}}
        )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 201)
    assert again.json() == first.json() and other.json() != first.json()
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["message"]
    assert len(project.events()) == 2

    with Paragon(project) as paragon:  # the in-process mirror sends the same header
        paragon.authenticate(project.id, token)
        assert paragon.event(EVENT, lead(1), idempotency_key="signup-42") == first.json()["eventId"]
        assert paragon.event(EVENT, lead(3), idempotency_key="signup-44") != first.json()["eventId"]
    assert len(project.events()) == 3


def test_connect_opens_the_registered_portal_for_a_local_project(seeded: Seeded) -> None:
    from paragon_nb.widgets import ConnectPortal

    with Paragon(seeded.project) as paragon:
        paragon.authenticate(seeded.project.id, seeded.token("user-1"))
        portal = paragon.connect("marketo")
    assert isinstance(portal, ConnectPortal)
