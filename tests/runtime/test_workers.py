"""Claims with leases (issue 11): expired leases are taken over, two claimers never get one
run, waiting runs are claimed only when due, and a live holder keeps what it renews. All on
a FakeClock; several "processes" are several stores/projects on one folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.runlog import RunLog

from .conftest import LEAD_EXAMPLE, SEED_SPEC, connect, open_store
from .fakes import FakeMarketo

FOREIGN = "other-host:4242:abcdef"  # a holder on another machine: only its lease counts


def _seed(project: Project) -> Project:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(SEED_SPEC)
    project.deploy("Sync new leads to Marketo")
    connect(project)
    project.set_workflow_settings("user-1", "Sync new leads to Marketo", {"marketo_list": "1001"})
    project.enable_workflow("user-1", "Sync new leads to Marketo")
    return project


def _lead(i: int) -> dict:
    return {**LEAD_EXAMPLE, "email": f"ada{i}@example.com"}


@pytest.fixture
def accepting(project_dir: Path, clock: FakeClock, marketo: FakeMarketo) -> Project:
    """A project that only accepts events (``serve --workers 0``): runs wait for a worker."""
    p = Project.create(
        "Demo", path=project_dir, clock=clock, client_factory=marketo.factory, execute_runs=False
    )
    yield _seed(p)
    p.close()


def _worker(project_dir: Path, clock: FakeClock, marketo: FakeMarketo) -> Project:
    return Project.open(project_dir, clock=clock, client_factory=marketo.factory, resume=False)


def _statuses(project: Project) -> list[str]:
    return sorted(project.runs()["status"])


def test_an_accept_only_project_leaves_runs_unclaimed_for_a_worker(
    accepting: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    receipts = [accepting.trigger_event("user-1", "Lead Created", _lead(i)) for i in range(5)]
    assert _statuses(accepting) == ["queued"] * 5
    assert accepting.claim_runs() == 0  # it does not execute runs
    assert "sync_leads" not in marketo.calls

    with _worker(project_dir, clock, marketo) as worker:
        assert worker.claim_runs() == 5
        assert worker.wait_idle(10)
        assert worker.claim_runs() == 0
        runs = worker.runs()
    assert sorted(runs["event_id"]) == sorted(str(r) for r in receipts)
    assert set(runs["status"]) == {"succeeded"}
    assert {lead["email"] for lead in marketo.leads.values()} == {
        f"ada{i}@example.com" for i in range(5)
    }


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(
    accepting: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    for i in range(3):
        accepting.trigger_event("user-1", "Lead Created", _lead(i))
    log = RunLog(open_store(project_dir))
    now = clock.time()
    held = log.claim_due(FOREIGN, now=now, lease_until=now + 30)
    assert len(held) == 3

    with _worker(project_dir, clock, marketo) as worker:
        clock.advance(29)
        assert worker.claim_runs() == 0  # still leased by the other machine
        log.renew(FOREIGN, lease_until=clock.time() + 30)  # its heartbeat
        clock.advance(29)
        assert worker.claim_runs() == 0
        clock.advance(2)  # 31 s since the last renewal: the holder is presumed dead
        assert worker.claim_runs() == 3
        assert worker.wait_idle(10)
        assert set(worker.runs()["status"]) == {"succeeded"}
    assert len(marketo.leads) == 3


def test_two_claimers_never_get_the_same_run(
    accepting: Project, project_dir: Path, clock: FakeClock
) -> None:
    for i in range(120):
        accepting.trigger_event("user-1", "Lead Created", _lead(i))
    logs = [RunLog(open_store(project_dir)) for _ in range(4)]  # 4 "processes"
    got: dict[int, list[str]] = {n: [] for n in range(4)}
    start = threading.Barrier(4)

    def claimer(n: int) -> None:
        for _ in range(6):  # 6 rounds x 4 claimers x 7 > 120: all claimed, all competing
            start.wait()
            now = clock.time()
            rows = logs[n].claim_due(f"host:{n}:w", now=now, lease_until=now + 30, limit=7)
            got[n] += [r.id for r in rows]

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    claimed = [r for ids in got.values() for r in ids]
    assert len(claimed) == len(set(claimed)) == 120
    assert all(got.values())  # every claimer won some


def test_a_waiting_run_is_claimed_only_when_due(
    accepting: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    receipt = accepting.trigger_event("user-1", "Lead Created", _lead(1))
    store = open_store(project_dir)
    with store.run_tx() as c:
        c.execute("UPDATE runs SET not_before = ?", (clock.time() + 60,))
    with _worker(project_dir, clock, marketo) as worker:
        assert worker.claim_runs() == 0
        clock.advance(59)
        assert worker.claim_runs() == 0
        clock.advance(1)
        assert worker.claim_runs() == 1
        assert worker.wait_idle(10)
        assert worker.run(receipt.run_ids[0]).status == "succeeded"


def test_the_heartbeat_renews_what_a_worker_holds_and_close_hands_it_back(
    accepting: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    accepting.trigger_event("user-1", "Lead Created", _lead(1))
    log = RunLog(open_store(project_dir))
    worker = _worker(project_dir, clock, marketo)
    owner = worker._engine.owner
    now = clock.time()
    assert len(log.claim_due(owner, now=now, lease_until=now + 30)) == 1  # held, not started
    clock.advance(20)
    worker._engine.renew()  # what the heartbeat thread does every lease/3 seconds
    row = log.run(log.unfinished_run_ids()[0])
    assert row is not None and row.owner == owner
    lease = open_store(project_dir).one("SELECT lease_until FROM runs")
    assert lease["lease_until"] == pytest.approx(now + 50)
    clock.advance(20)  # 40 s after the claim, 20 s after the renewal: still held
    assert log.claim_due(FOREIGN, now=clock.time(), lease_until=clock.time() + 30) == []
    worker.close()  # an orderly stop: claimable at once, by anyone
    assert log.claim_due(FOREIGN, now=clock.time(), lease_until=clock.time() + 30) != []


def test_lease_seconds_must_be_positive(project_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="lease_seconds"):
        Project.create("Demo", path=project_dir, lease_seconds=0)
