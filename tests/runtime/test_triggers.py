"""Request, Scheduler, Integration Enabled and Lead Added to List triggers against the
sandbox on a FakeClock (project.tick() after clock.advance(): no sleeps, no wall clock)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import EventValidationError, NotFoundError, RuntimeStateError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

from .test_batched_runs import open_project
from .test_flow_steps import connect_sandbox, setup_project

HOUR, DAY = 3600.0, 86400.0

REQUEST = """\
name: Score lead
trigger:
  request:
    example: {email: a@x.com, score: 1}
    validate: true
steps:
  - id: hot
    action: condition
    if: {left: "{{request.body.score}}", op: ">", right: 50}
    then:
      - {id: yes_reply, action: response, status_code: 201,
         body: {email: "{{request.body.email}}", hot: true, via: "{{request.query.src}}"}}
    else:
      - {id: no_reply, action: response, status_code: 200, body: {hot: false}}
"""

SCHEDULED = """\
name: Morning digest
trigger:
  schedule: {cron: "0 9 * * *"}
steps:
  - {id: note, action: python, function: echo, input: {at: "{{event.scheduled_at}}"}}
"""

POLLED = """\
name: Welcome list members
trigger:
  lead_added_to_list: {list_id: "{{settings.marketo_list}}"}
user_settings:
  - {id: marketo_list, type: marketo_list, required: true}
steps:
  - {id: note, action: python, function: echo, input: {email: "{{event.lead.email}}"}}
"""

ENABLED = """\
name: Say hello
trigger: {integration_enabled: true}
user_settings:
  - {id: greeting, type: text, required: true}
steps:
  - {id: note, action: python, function: echo, input: {greeting: "{{settings.greeting}}"}}
"""


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)


def _runs(project: Project) -> list[dict]:
    assert project.wait_idle(20)
    frame = project.runs()
    return [project.run(r) for r in frame.sort_values("started").run_id]


def _register(project: Project) -> None:
    from .test_flow_steps import _count, _echo

    project.register_function("count", _count, output=1)
    project.register_function("echo", _echo, output={})


# Request trigger --------------------------------------------------------------------------
def test_a_request_trigger_answers_with_its_response_step(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    path = tmp_path / "p"
    setup_project(path, clock, app, REQUEST)
    with open_project(path, clock, app) as project:
        wf_id = project.workflow("Score lead").id
        hot = project.trigger_workflow(
            "user-1", wf_id, body={"email": "ada@x.com", "score": 80}, query={"src": "web"},
            headers={"X-Trace": "t1"},
        )  # fmt: skip
        cold = project.trigger_workflow("user-1", "Score lead", body={"email": "b@x.com",
                                                                      "score": 3})  # fmt: skip
        with pytest.raises(EventValidationError, match="score"):
            project.trigger_workflow("user-1", wf_id, body={"email": "c@x.com"})
        with pytest.raises(RuntimeStateError, match="user-2"):
            project.trigger_workflow("user-2", wf_id, body={"email": "c@x.com", "score": 1})
        with pytest.raises(NotFoundError, match="Score lead"):
            project.trigger_workflow("user-1", "nope", body={})
        detail = project.run(hot.run_id)
    assert (hot.status, hot.body) == (201, {"email": "ada@x.com", "hot": True, "via": "web"})
    assert (cold.status, cold.body) == (200, {"hot": False})
    assert detail.event.name == "Request"
    assert detail.task_count == 0  # a condition and a Response: both free
    assert detail.event.payload["headers"] == {"x-trace": "t1"}


def test_a_request_workflow_without_a_response_step_answers_202(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    spec = """\
name: Fire and forget
trigger: {request: {}}
steps:
  - {id: note, action: python, function: echo, input: {b: "{{request.body}}"}}
"""
    path = tmp_path / "p"
    setup_project(path, clock, app, spec)
    with open_project(path, clock, app) as project:
        _register(project)
        answer = project.trigger_workflow("user-1", "Fire and forget", body={"x": 1})
        runs = _runs(project)
    assert answer.status == 202 and answer.body == {"executionId": answer.run_id}
    assert runs[0].status == "succeeded"
    assert runs[0].steps[0].output["result"] == {"b": {"x": 1}}


# Scheduler --------------------------------------------------------------------------------
def test_a_schedule_over_a_simulated_week_fires_once_per_user_per_day_in_their_zone(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    path = tmp_path / "p"
    setup_project(path, clock, app, SCHEDULED, users=("la", "paris"))
    with open_project(path, clock, app) as project:
        _register(project)
        project.set_user_meta("paris", {"timezone": "Europe/Paris"})
        for _ in range(7 * 24 * 4):  # a week in quarter hours
            project.tick()
            clock.advance(15 * 60)
        runs = _runs(project)
    by_user: dict[str, list[str]] = {}
    for run in runs:
        assert run.status == "succeeded", run.error
        by_user.setdefault(run.user, []).append(run.event.payload["scheduled_at"])
    assert {u: len(v) for u, v in by_user.items()} == {"la": 7, "paris": 7}
    for user, offset in (("la", "-08:00"), ("paris", "+01:00")):
        stamps = [datetime.fromisoformat(s) for s in by_user[user]]
        assert all(s.hour == 9 and s.minute == 0 for s in stamps), by_user[user]
        assert all(s.isoformat().endswith(offset) for s in stamps)
        assert len({s.date() for s in stamps}) == 7


def test_missed_ticks_after_a_restart_run_once_not_n_times(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    spec = SCHEDULED.replace('{cron: "0 9 * * *"}', "{every: 6, unit: hours}")
    path = tmp_path / "p"
    setup_project(path, clock, app, spec)
    with open_project(path, clock, app) as project:
        _register(project)
        assert project.tick()["scheduled"] == 0  # the anchor: now
        clock.advance(6 * HOUR)
        assert project.tick()["scheduled"] == 1
    clock.advance(3 * DAY)  # closed for 12 ticks
    with open_project(path, clock, app) as project:
        _register(project)
        assert project.tick()["scheduled"] == 1
        assert project.tick()["scheduled"] == 0
        clock.advance(6 * HOUR)
        assert project.tick()["scheduled"] == 1
        runs = _runs(project)
    assert len(runs) == 3 and {r.status for r in runs} == {"succeeded"}


# Integration Enabled ----------------------------------------------------------------------
def test_integration_enabled_fires_once_when_connected_with_required_settings(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    path = tmp_path / "p"
    setup_project(path, clock, app, ENABLED, users=())
    with open_project(path, clock, app) as project:
        _register(project)
        connect_sandbox(project, app, "user-1")
        assert project.tick()["enabled"] == 0  # the required greeting is missing
        project.set_workflow_settings("user-1", "Say hello", {"greeting": "hi"})
        assert project.tick()["enabled"] == 1
        assert project.tick()["enabled"] == 0
        runs = _runs(project)
    assert runs[0].event.name == "Integration Enabled"
    assert runs[0].steps[0].output["result"] == {"greeting": "hi"}


# Lead Added to List -----------------------------------------------------------------------
def test_lead_added_to_list_picks_up_leads_another_client_added_once_each(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    list_id = app.create_list("Webinar")["id"]
    other = MarketoClient(f"{LOCAL_ORIGIN}/rest", app.client_id, app.client_secret,
                          identity=f"{LOCAL_ORIGIN}/identity", transport=app.transport(),
                          clock=clock)  # fmt: skip

    def add(*emails: str) -> None:
        ids = [r.id for r in other.sync_leads([{"email": e} for e in emails])]
        other.add_to_list(list_id, ids)

    add("old@x.com")
    path = tmp_path / "p"
    setup_project(path, clock, app, POLLED, settings={"marketo_list": list_id})
    route = f"GET /rest/v1/lists/{list_id}/leads.json"
    with open_project(path, clock, app) as project:
        _register(project)
        assert project.tick()["polled"] == 1  # baseline: old@ was there before
        add("a@x.com", "b@x.com")
        polls = app.stats.calls_by_route[route]
        for _ in range(12):  # two minutes in 10 s ticks: two polls (once a minute)
            clock.advance(10)
            project.tick()
        assert app.stats.calls_by_route[route] - polls == 2
        first = _runs(project)
    add("c@x.com")
    with open_project(path, clock, app) as project:  # the cursor survives a restart
        _register(project)
        clock.advance(60)
        assert project.tick()["lead_added"] == 1
        clock.advance(60)
        assert project.tick()["lead_added"] == 0
        runs = _runs(project)
    emails = sorted(r.steps[0].output["result"]["email"] for r in runs)
    assert sorted(r.steps[0].output["result"]["email"] for r in first) == [
        "a@x.com", "b@x.com",
    ]  # fmt: skip
    assert emails == ["a@x.com", "b@x.com", "c@x.com"]
    assert {r.event.name for r in runs} == {"Lead Added to List"}


def test_the_request_trigger_over_rest_and_paragon_workflow(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    from paragon_nb.runtime.sdk import Paragon
    from paragon_nb.runtime.server import RestApp
    from paragon_nb.tokens import sign_user_token

    path = tmp_path / "p"
    setup_project(path, clock, app, REQUEST)
    with open_project(path, clock, app) as project:
        key = project.generate_signing_key()
        token = sign_user_token(key.private_pem, "user-1", now=clock.time())
        wf_id = project.workflow("Score lead").id
        paragon = Paragon(project, clock=clock)
        paragon.authenticate(project.id, token)
        answer = paragon.workflow(wf_id, body={"email": "ada@x.com", "score": 99},
                                  query={"src": "sdk"})  # fmt: skip
        http = httpx.Client(transport=httpx.WSGITransport(app=RestApp(project)),
                            base_url="http://local")  # fmt: skip
        url = f"/projects/{project.id}/sdk/triggers/{wf_id}"
        bearer = {"Authorization": f"Bearer {token}"}
        cold = http.post(url, json={"email": "b@x.com", "score": 1}, headers=bearer)
        invalid = http.post(url, json={"email": "b@x.com"}, headers=bearer)
        anonymous = http.post(url, json={"email": "b@x.com", "score": 1})
        unknown = http.post(f"/projects/{project.id}/sdk/triggers/nope", json={}, headers=bearer)
    assert answer == {"email": "ada@x.com", "hot": True, "via": "sdk"}
    assert (cold.status_code, cold.json()) == (200, {"hot": False})
    assert invalid.status_code == 422 and "score" in invalid.text
    assert anonymous.status_code == 401
    assert unknown.status_code == 404
