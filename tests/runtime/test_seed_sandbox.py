"""The seed flow through the real MarketoClient against the sandbox: in-process (WSGI
transport, FakeClock) and over loopback (MarketoSandbox, default client factory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import MarketoAuthError, RuntimeStateError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.retry import RetryPolicy
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.steps import MarketoCredentials
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp
from paragon_nb.sandbox.server import MarketoSandbox

from .conftest import LEAD_EXAMPLE, SEED_SPEC

WF = "Sync new leads to Marketo"


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)


@pytest.fixture
def sandbox_project(tmp_path: Path, clock: FakeClock, app: SandboxApp) -> Iterator[Project]:
    def factory(creds: MarketoCredentials) -> MarketoClient:
        # the client's own retries are off so the engine's step retries are what we see
        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            transport=app.transport(),
            clock=clock,
            retry=RetryPolicy(max_attempts=1),
        )

    project = Project.create("Seed", path=tmp_path / "seed", clock=clock, client_factory=factory)
    yield project
    project.close()


def seed(
    project: Project, *, endpoint: str, identity: str, client_id: str, secret: str, list_id: Any
) -> None:
    key = project.generate_signing_key()
    assert key.private_pem
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(SEED_SPEC)
    assert project.deploy(WF) == 1
    project.connect_user(
        "user-1",
        "marketo",
        endpoint=endpoint,
        identity=identity,
        client_id=client_id,
        client_secret=secret,
    )
    project.set_workflow_settings("user-1", WF, {"marketo_list": list_id})
    project.enable_workflow("user-1", WF)


def test_seed_flow_in_process(sandbox_project: Project, app: SandboxApp) -> None:
    list_id = app.create_list("Newsletter")["id"]
    seed(
        sandbox_project,
        endpoint=f"{LOCAL_ORIGIN}/rest",
        identity=f"{LOCAL_ORIGIN}/identity",
        client_id=app.client_id,
        secret=app.client_secret,
        list_id=str(list_id),
    )
    sandbox_project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert sandbox_project.wait_idle(10)
    runs = sandbox_project.runs()
    assert list(runs["status"]) == ["succeeded"], runs["error"].tolist()
    lead = next(x for x in app.leads() if x["email"] == "ada@example.com")
    assert lead["firstName"] == "Ada" and lead["company"] == "Analytical Engines"
    assert app.list_members(list_id) == [lead["id"]]
    # the same lead again: updated, still one member (idempotent)
    sandbox_project.trigger_event("user-1", "Lead Created", {**LEAD_EXAMPLE, "title": "CTO"})
    assert sandbox_project.wait_idle(10)
    run = sandbox_project.run(sandbox_project.runs().run_id[1])
    assert run.status == "succeeded", run.error
    assert run.steps[0].output == {"id": lead["id"], "status": "updated"}
    assert app.list_members(list_id) == [lead["id"]]


def test_connect_and_list_checks_against_the_sandbox(
    sandbox_project: Project, app: SandboxApp
) -> None:
    sandbox_project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    sandbox_project.add_workflow(SEED_SPEC)
    sandbox_project.deploy(WF)
    with pytest.raises(MarketoAuthError):
        sandbox_project.connect_user(
            "u",
            "marketo",
            endpoint=f"{LOCAL_ORIGIN}/rest",
            identity=f"{LOCAL_ORIGIN}/identity",
            client_id=app.client_id,
            client_secret="not-the-secret",
        )
    sandbox_project.connect_user(
        "u",
        "marketo",
        endpoint=f"{LOCAL_ORIGIN}/rest",
        identity=f"{LOCAL_ORIGIN}/identity",
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    with pytest.raises(RuntimeStateError, match="list 987654 does not exist"):
        sandbox_project.set_workflow_settings("u", WF, {"marketo_list": 987654})


def test_engine_retries_sandbox_faults_on_the_fake_clock(
    sandbox_project: Project, app: SandboxApp, clock: FakeClock
) -> None:
    list_id = app.create_list("Newsletter")["id"]
    seed(
        sandbox_project,
        endpoint=f"{LOCAL_ORIGIN}/rest",
        identity=f"{LOCAL_ORIGIN}/identity",
        client_id=app.client_id,
        secret=app.client_secret,
        list_id=list_id,
    )
    app.set_faults("members:seq=503,615")
    before = list(clock.sleeps)
    sandbox_project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert sandbox_project.wait_idle(10)
    run = sandbox_project.run(sandbox_project.runs().run_id[0])
    assert run.status == "succeeded", run.error
    add = next(s for s in run.steps if s.step_id == "add_to_list")
    assert add.attempts == 3
    assert clock.sleeps[len(before) :] == [10.0, 20.0]
    assert len(app.list_members(list_id)) == 1


def test_seed_flow_over_loopback_with_the_default_client(tmp_path: Path) -> None:
    with MarketoSandbox() as sandbox, Project.create("Loop", path=tmp_path / "loop") as project:
        list_id = sandbox.app.create_list("Newsletter")["id"]
        seed(
            project,
            endpoint=sandbox.endpoint,
            identity=sandbox.identity,
            client_id=sandbox.client_id,
            secret=sandbox.client_secret,
            list_id=list_id,
        )
        project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        assert project.wait_idle(20)
        assert list(project.runs()["status"]) == ["succeeded"], project.runs()["error"].tolist()
        assert len(sandbox.app.list_members(list_id)) == 1
        secret = sandbox.client_secret.encode()
        project.close()
        for path in project.path.rglob("*"):
            if path.is_file():
                assert secret not in path.read_bytes(), path
