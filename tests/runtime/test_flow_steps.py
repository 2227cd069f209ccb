"""Delay and Fan Out against the sandbox on a FakeClock: a delay waits as data (no thread)
and survives closing and reopening the project; a fan-out of 1,000 leads shares upsert
batches (4 calls of <= 300)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import WorkflowSpecError
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.workflows import parse_spec
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

from .test_batched_runs import open_project

UPSERT = "POST /rest/v1/leads.json"

DELAYED = """\
name: Welcome later
trigger: {app_event: Signup}
steps:
  - {id: wait, action: delay, value: 2, unit: DAYS}
  - id: upsert
    action: marketo.create_or_update_lead
    fields: {email: "{{event.email}}"}
"""

FAN_OUT = """\
name: Import leads
trigger: {app_event: Batch}
steps:
  - id: each
    action: fan_out
    over: "{{event.leads}}"
    steps:
      - id: upsert
        action: marketo.create_or_update_lead
        fields: {email: "{{steps.each.instance.email}}", firstName: "{{steps.each.instance.name}}"}
  - id: summary
    action: python
    function: count
    input: {n: "{{steps.each.count}}"}
"""


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)


def _count(n: int) -> int:
    return n * 2


def _echo(**kwargs: object) -> dict:
    return dict(kwargs)


def connect_sandbox(project: Project, app: SandboxApp, sub: str = "user-1") -> None:
    project.connect_user(
        sub, "marketo", endpoint=f"{LOCAL_ORIGIN}/rest", identity=f"{LOCAL_ORIGIN}/identity",
        client_id=app.client_id, client_secret=app.client_secret,
    )  # fmt: skip


def setup_project(
    path: Path,
    clock: FakeClock,
    app: SandboxApp,
    spec: str,
    example: dict | None = None,
    *,
    users: tuple[str, ...] = ("user-1",),
    settings: dict | None = None,
) -> None:
    """A project with ``spec`` deployed and enabled for ``users`` (connected to ``app``)."""
    with open_project(path, clock, app) as project:
        project.register_function("count", _count, output=1)
        project.register_function("echo", _echo, output={})
        wf = parse_spec(spec)
        if wf.trigger.app_event is not None:
            project.define_app_event(wf.trigger.app_event, example=example or {})
        project.add_workflow(spec)
        project.deploy(wf.name)
        for sub in users:
            connect_sandbox(project, app, sub)
            if settings:
                project.set_workflow_settings(sub, wf.name, settings)
            if not wf.trigger.integration_enabled:
                project.enable_workflow(sub, wf.name)


def test_a_delay_waits_as_data_and_survives_a_restart(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    path = tmp_path / "proj"
    setup_project(path, clock, app, DELAYED, {"email": "a@x.com"})
    with open_project(path, clock, app) as project:
        run_id = project.trigger_event("user-1", "Signup", {"email": "ada@x.com"}).run_ids[0]
        assert project.wait_idle(10)  # parked: no thread holds it
        detail = project.run(run_id)
        assert detail.status == "waiting" and detail.not_before == clock.time() + 2 * 86400
        wait = next(s for s in detail.steps if s.step_id == "wait")
        assert wait.status == "running" and wait.input["seconds"] == 2 * 86400
        clock.advance(86400)
        assert project.tick()["woken"] == 0
    assert app.leads() == []
    clock.advance(86400 - 1)
    with open_project(path, clock, app) as project:  # reopened: still waiting, not resumed
        assert project.wait_idle(10) and project.run(run_id).status == "waiting"
        clock.advance(1)
        assert project.tick()["woken"] == 1
        assert project.wait_idle(10)
        detail = project.run(run_id)
        assert project.tick()["woken"] == 0  # woken once
    assert detail.status == "succeeded", detail.error
    wait = next(s for s in detail.steps if s.step_id == "wait")
    assert wait.status == "succeeded" and wait.output["resumed_at"] == clock.time()
    assert [lead["email"] for lead in app.leads()] == ["ada@x.com"]
    assert detail.task_count == 1  # the upsert; a Delay is free
    assert app.stats.calls_by_route[UPSERT] == 1


def test_a_fan_out_of_1000_leads_batches_into_4_upsert_calls(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    path = tmp_path / "proj"
    leads = [{"email": f"l{i}@x.com", "name": f"L{i}"} for i in range(1000)]
    setup_project(path, clock, app, FAN_OUT, {"leads": leads[:1]})
    app.reset_stats()
    with open_project(path, clock, app) as project:
        project.register_function("count", _count)
        run_id = project.trigger_event("user-1", "Batch", {"leads": leads}).run_ids[0]
        assert project.wait_idle(60)
        detail = project.run(run_id)
    assert detail.status == "succeeded", detail.error
    assert app.stats.calls_by_route[UPSERT] == 4, app.stats.as_dict()
    assert len(app.leads()) == 1000
    by_id = {s.step_id: s for s in detail.steps}
    assert (by_id["each"].output or {}).get("count") == 1000, by_id["each"]
    assert by_id["each.999.upsert"].status == "succeeded"
    assert by_id["each.999.upsert"].input["fields"]["email"] == "l999@x.com"
    assert by_id["summary"].output["result"] == 2000
    assert detail.task_count == 1001  # each iteration's upsert + the function; fan-out free
    ids = {r["upsert"]["id"] for r in by_id["each"].output["results"]}
    assert len(ids) == 1000


def test_a_fan_out_over_a_non_array_fails_the_step_naming_the_value(project: Project) -> None:
    project.define_app_event("Batch", example={"leads": [{"email": "a@x.com"}]})
    spec = FAN_OUT.replace("{{event.leads}}", "{{event.nope}}")
    project.add_workflow(spec)
    with pytest.raises(WorkflowSpecError, match=r"event\.nope"):
        project.deploy("Import leads")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"id": "w", "action": "delay", "value": 1, "unit": "weeks"}, "weeks"),
        ({"id": "w", "action": "delay", "value": -1}, "negative"),
        ({"id": "w", "action": "delay", "value": "soon"}, "soon"),
        ({"id": "f", "action": "fan_out", "over": "{{event.x}}", "steps": []}, "steps"),
    ],
)
def test_bad_delay_and_fan_out_specs_are_refused(step: dict, message: str) -> None:
    spec = {"name": "w", "trigger": {"app_event": "E"}, "steps": [step]}
    with pytest.raises(WorkflowSpecError, match=message):
        parse_spec(spec)


def test_the_builder_writes_the_new_steps_and_triggers() -> None:
    from paragon_nb.runtime.builder import Steps, WorkflowBuilder

    spec = (
        WorkflowBuilder("Nightly", trigger={"schedule": {"every": 1, "unit": "days"}})
        .delay("pause", 5, "seconds")
        .fan_out("each", "{{event.items}}", Steps().request("call", "http://127.0.0.1:9/x"))
        .integration_request("lookup", "/v1/leads.json", params={"filterType": "email"})
        .response("reply", status_code=201, body={"ok": True})
        .build()
    )
    assert spec.trigger.kind == "schedule" and spec.trigger.schedule.every == 1
    kinds = [type(s).__name__ for s in spec.steps]
    assert kinds == ["DelayStep", "FanOutStep", "ActionStep", "ActionStep"]
    assert spec.steps[1].steps[0].action == "request"
    with pytest.raises(TypeError, match="exactly one"):
        WorkflowBuilder("x")


def test_delays_inside_a_fan_out_wait_once_for_the_latest(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    spec = """\
name: Staggered
trigger: {app_event: Batch}
steps:
  - id: each
    action: fan_out
    over: "{{event.waits}}"
    steps:
      - {id: pause, action: delay, value: "{{steps.each.instance}}", unit: minutes}
      - {id: note, action: python, function: count, input: {n: "{{steps.each.index}}"}}
"""
    path = tmp_path / "proj"
    setup_project(path, clock, app, spec, {"waits": [1]})
    with open_project(path, clock, app) as project:
        project.register_function("count", _count)
        run_id = project.trigger_event("user-1", "Batch", {"waits": [1, 3, 2]}).run_ids[0]
        assert project.wait_idle(10)
        assert project.run(run_id).not_before == clock.time() + 60  # the earliest first
        woken = []
        for _ in range(4):
            clock.advance(60)
            woken.append(project.tick()["woken"])
            assert project.wait_idle(10)
        detail = project.run(run_id)
    assert woken == [1, 1, 1, 0]  # at 1, 2 and 3 minutes: each time the next iteration is due
    assert detail.status == "succeeded", detail.error
    notes = sorted(s.output["result"] for s in detail.steps if s.step_id.endswith("note"))
    assert notes == [0, 2, 4] and detail.task_count == 3
