"""Runs share Marketo calls: a burst goes out in batches, each run gets its own answer,
injected 606/615/502 are ridden out within Marketo's limits, and project.queue() shows it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.steps import MarketoCredentials
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

from .conftest import LEAD_EXAMPLE

WF = "Sync signups"
SPEC = """\
name: Sync signups
trigger:
  app_event: Lead Created
user_settings:
  - {id: marketo_list, type: marketo_list, required: true}
steps:
  - id: upsert
    action: marketo.create_or_update_lead
    fields:
      email: "{{event.email}}"
      firstName: "{{event.first_name}}"
      numberOfEmployees: "{{event.employees}}"
  - id: add
    action: marketo.add_leads_to_list
    list_id: "{{settings.marketo_list}}"
    lead_ids: "{{steps.upsert.id}}"
"""


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)  # Marketo's real limits: 100 calls / 20 s, 10 in flight


def open_project(path: Path, clock: FakeClock, app: SandboxApp, **kw: object) -> Project:
    def factory(creds: MarketoCredentials) -> MarketoClient:
        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            transport=app.transport(),
            clock=clock,
        )

    if not path.exists():
        return Project.create("Batches", path=path, clock=clock, client_factory=factory)
    return Project.open(path, clock=clock, client_factory=factory, **kw)  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path, clock: FakeClock, app: SandboxApp) -> Iterator[Path]:
    path = tmp_path / "proj"
    with open_project(path, clock, app) as project:
        project.define_app_event("Lead Created", example={**LEAD_EXAMPLE, "employees": 10})
        project.add_workflow(SPEC)
        project.deploy(WF)
        project.connect_user(
            "user-1",
            "marketo",
            endpoint=f"{LOCAL_ORIGIN}/rest",
            identity=f"{LOCAL_ORIGIN}/identity",
            client_id=app.client_id,
            client_secret=app.client_secret,
        )
        list_id = app.create_list("Newsletter")["id"]
        project.set_workflow_settings("user-1", WF, {"marketo_list": list_id})
        project.enable_workflow("user-1", WF)
    yield path


def burst(path: Path, clock: FakeClock, app: SandboxApp, payloads: list[dict]) -> list[str]:
    """Accept every event with nothing executing, so the reopened project finds them all
    queued at once (what piles up while Marketo's window is full)."""
    with open_project(path, clock, app, resume=False) as project:
        project._engine.close()
        return [project.trigger_event("user-1", "Lead Created", p).event_id for p in payloads]


def lead(i: int, **extra: object) -> dict:
    return {**LEAD_EXAMPLE, "email": f"l{i}@x.com", "employees": i, **extra}


def test_a_burst_shares_calls_and_one_bad_record_fails_only_its_run(
    folder: Path, clock: FakeClock, app: SandboxApp
) -> None:
    payloads = [lead(i) for i in range(40)]
    payloads[7] = lead(7, employees="lots")  # Marketo refuses the value: that record only
    burst(folder, clock, app, payloads)
    with open_project(folder, clock, app) as project:
        assert project.wait_idle(20)
        runs = project.runs()
        details = {r: project.run(r) for r in runs.run_id}
        queue = project.queue()
    failed = [d for d in details.values() if d.status == "failed"]
    assert len(failed) == 1 and failed[0].event.payload["email"] == "l7@x.com"
    assert "Marketo skipped the lead" in failed[0].error and "1003" in failed[0].error
    assert "numberOfEmployees" in failed[0].error
    upserts = [next(s for s in d.steps if s.step_id == "upsert") for d in details.values()]
    assert {s.batch_id for s in upserts} != {None}
    assert Counter(s.batch_size for s in upserts) == Counter({40: 40})
    assert all(s.attempts == 1 for s in upserts)
    assert len(app.list_members(app.state.list_by_name("Newsletter")["id"])) == 39
    assert queue.loc[0, "calls"] == 2 and queue.loc[0, "records"] == 79
    assert queue.loc[0, "records_per_call"] == 39.5 and queue.loc[0, "queued"] == 0


def test_injected_606_615_502_are_ridden_out_within_marketos_limits(
    folder: Path, clock: FakeClock, app: SandboxApp
) -> None:
    app.set_faults(["leads:seq=606,615,502", "members:seq=502,606"])
    burst(folder, clock, app, [lead(i) for i in range(700)])
    with open_project(folder, clock, app) as project:
        assert project.wait_idle(60)
        runs = project.runs()
    assert len(runs) == 700 and set(runs["status"]) == {"succeeded"}, runs["error"].unique()[:3]
    stats = app.stats
    assert stats.max_calls_in_window <= 100 and stats.max_in_flight <= 10
    injected = Counter({"606": 2, "615": 1, "502": 2})
    assert Counter(stats.errors_by_code) == injected  # the client caused none itself
    emails = Counter(row["email"] for row in app.leads())
    assert len(emails) == 700 and set(emails.values()) == {1}


def test_coalesce_false_sends_one_record_per_call(
    folder: Path, clock: FakeClock, app: SandboxApp
) -> None:
    burst(folder, clock, app, [lead(i) for i in range(5)])
    with open_project(folder, clock, app, coalesce=False) as project:
        assert project.wait_idle(20)
        assert set(project.runs()["status"]) == {"succeeded"}
        queue = project.queue()
    assert queue.loc[0, "calls"] == 10 and queue.loc[0, "records_per_call"] == 1.0


def test_the_same_lead_twice_in_a_burst_applies_in_order(
    folder: Path, clock: FakeClock, app: SandboxApp
) -> None:
    burst(folder, clock, app, [lead(1, first_name="Old"), lead(2), lead(1, first_name="New")])
    with open_project(folder, clock, app) as project:
        assert project.wait_idle(20)
        assert set(project.runs()["status"]) == {"succeeded"}
    by_email = {row["email"]: row for row in app.leads()}
    assert by_email["l1@x.com"]["firstName"] == "New" and len(by_email) == 2
