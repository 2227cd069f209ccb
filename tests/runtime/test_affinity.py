"""Per-instance affinity (issue 11): one worker batches an instance's Marketo writes, so
calls per event do not grow with workers; many instances spread over the workers; a dead
holder's instance is taken over; one lead's events apply in the order they were accepted.
Several "worker processes" are several projects on one store (each its own engine and
dispatchers, as a process has), driven step by step on a FakeClock."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.runtime.affinity import INSTANCE_SQL, InstanceLeases
from paragon_nb.runtime.gateway import instance_of
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.steps import MarketoCredentials
from paragon_nb.runtime.worker import Worker

from .conftest import LEAD_EXAMPLE, SEED_SPEC, open_store
from .fakes import CLIENT_ID, CLIENT_SECRET, FakeClient, FakeMarketo

WORKFLOW = "Sync new leads to Marketo"
FOREIGN = "other-host:4242:abcdef"  # a holder on another machine: only its lease counts


class GatedMarketo(FakeMarketo):
    """A FakeMarketo whose upserts wait at a gate (Marketo's window is full) and that logs
    every record it upserts, in the order it applied them."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = 0  # records in upsert calls held at the gate
        self.applied: list[tuple[str, str]] = []  # (email, lastName) in apply order

    def factory(self, creds: MarketoCredentials) -> FakeClient:
        return _GatedClient(self, creds)


class _GatedClient(FakeClient):
    m: GatedMarketo

    def sync_leads(self, records: Sequence[Mapping[str, Any]], **kw: Any) -> Any:
        with self.m.lock:
            self.m.waiting += len(records)
        assert self.m.gate.wait(60), "the test never opened the gate"
        with self.m.lock:
            self.m.waiting -= len(records)
            self.m.applied += [(r["email"], r["lastName"]) for r in records]
        return super().sync_leads(records, **kw)


def _until(check: Callable[[], bool], what: str) -> None:
    """Wait (real time, polling) until ``check()``; fails naming ``what`` after 60 s."""
    pause = threading.Event()
    for _ in range(12_000):
        if check():
            return
        pause.wait(0.005)
    raise AssertionError(f"timed out waiting until {what}")


def _endpoint(n: int) -> str:
    return f"https://{100 + n}-ABC-456.mktorest.com/rest"


def _seed(project: Project, users: int) -> Project:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(SEED_SPEC)
    project.deploy(WORKFLOW)
    for n in range(users):  # one Marketo instance per user
        sub = f"user-{n}"
        project.connect_user(
            sub, "marketo", endpoint=_endpoint(n), client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )  # fmt: skip
        project.set_workflow_settings(sub, WORKFLOW, {"marketo_list": "1001"})
        project.enable_workflow(sub, WORKFLOW)
    return project


def _lead(i: int, *, emails: int | None = None, tag: str = "ada") -> dict[str, str]:
    email = f"{tag}{i if emails is None else i % emails}@example.com"
    return {**LEAD_EXAMPLE, "email": email, "last_name": f"v{i:05d}"}


@pytest.fixture
def marketo() -> GatedMarketo:
    return GatedMarketo()


@pytest.fixture
def accepting(project_dir: Path | str, clock: FakeClock, marketo: GatedMarketo) -> Project:
    """A project that only accepts events (``serve --workers 0``): runs wait for workers."""
    p = Project.create(
        "Demo", path=project_dir, clock=clock, client_factory=marketo.factory, execute_runs=False
    )
    yield p
    p.close()


@pytest.fixture
def open_worker(
    project_dir: Path | str, clock: FakeClock, marketo: GatedMarketo
) -> Callable[[], Worker]:
    """``open_worker()``: a new worker "process" on the project (closed at the end)."""
    opened: list[Project] = []

    def make() -> Worker:
        project = Project.open(
            project_dir, clock=clock, client_factory=marketo.factory, resume=False
        )
        opened.append(project)
        return Worker(project, balance_every=0)  # renew and rebalance at every step

    yield make
    for project in opened:
        project.close()


def _upserts(marketo: FakeMarketo) -> int:
    return marketo.calls.count("sync_leads")


def _burst(
    accepting: Project, marketo: GatedMarketo, workers: list[Worker], *, events: int, tag: str
) -> int:
    """``events`` events for one instance while Marketo's window is full (the gate), run by
    ``workers`` stepping in turn; returns how many upsert calls they took."""
    before, claimed = _upserts(marketo), sum(w.claimed for w in workers)
    marketo.gate.clear()
    for i in range(events):
        accepting.trigger_event("user-0", "Lead Created", _lead(i, tag=tag))
    while sum(w.claimed for w in workers) < claimed + events:
        for worker in workers:  # claims alternate between the workers, as processes' do
            worker.step()

    def parked() -> int:
        queued = sum(q.queued for w in workers for q in w.project._engine.queue())
        return queued + marketo.waiting

    _until(lambda: parked() == events, f"all {events} records wait for Marketo")
    marketo.gate.set()
    for worker in workers:
        assert worker.project.wait_idle(60)
    assert {s for w in workers for s in w.project.runs()["status"]} == {"succeeded"}
    return _upserts(marketo) - before


def test_calls_per_event_do_not_grow_with_workers(
    accepting: Project, marketo: GatedMarketo, open_worker: Callable[[], Worker]
) -> None:
    _seed(accepting, users=1)
    first = open_worker()
    alone = _burst(accepting, marketo, [first], events=600, tag="one")
    second = open_worker()
    together = _burst(accepting, marketo, [first, second], events=600, tag="two")

    # 600 records that waited for Marketo leave in full batches of 300 (plus the first,
    # which left before the window filled: what was queued when it got its grant), with one
    # worker or two: the instance's writes are batched by the worker that holds it; the
    # other claimed none of its runs. (Each batching on its own: 4-5 calls.)
    assert alone <= 3
    assert together <= alone + 1
    assert (first.claimed, second.claimed) == (1200, 0)
    assert len(marketo.leads) == 1200


def test_instances_spread_over_the_workers_and_each_is_batched_by_its_holder(
    accepting: Project,
    marketo: GatedMarketo,
    open_worker: Callable[[], Worker],
    project_dir: Path | str,
) -> None:
    _seed(accepting, users=4)
    for i in range(40):
        accepting.trigger_event(f"user-{i % 4}", "Lead Created", _lead(i))
    a, b = open_worker(), open_worker()
    a.leases.balance()  # alone so far: it takes every instance with work
    assert len(a.leases.held) == 4
    b.leases.balance()  # two workers now: a fair share is 2, but all 4 are held
    assert b.leases.held == frozenset()
    a.leases.balance()  # over its share, nothing of them running here: hands 2 back
    b.leases.balance()
    assert len(a.leases.held) == len(b.leases.held) == 2
    assert not a.leases.held & b.leases.held

    while a.claimed + b.claimed < 40:
        a.step()
        b.step()
    assert a.project.wait_idle(30) and b.project.wait_idle(30)
    assert (a.claimed, b.claimed) == (20, 20)
    holders = a.leases.holders()
    owners = {
        (r["sub"], r["owner"])
        for r in open_store(project_dir).all(
            "SELECT sub, owner FROM runs WHERE status = ?", "succeeded"
        )
    }
    for sub, owner in owners:  # every run of a user ran on the holder of its instance
        assert holders[f"{_endpoint(int(sub.split('-')[1]))}#{CLIENT_ID}"] == owner
    assert len(marketo.leads) == 40


def test_a_worker_over_its_share_hands_an_instance_back_once_it_runs_nothing_of_it(
    accepting: Project, marketo: GatedMarketo, open_worker: Callable[[], Worker]
) -> None:
    _seed(accepting, users=2)
    marketo.gate.clear()  # the runs stay held: their upserts wait for Marketo
    for n in (0, 1):
        accepting.trigger_event(f"user-{n}", "Lead Created", _lead(n))
    a = open_worker()
    assert a.step() == 2  # alone: both instances, both runs
    _until(lambda: marketo.waiting == 2, "both upserts wait for Marketo")
    b = open_worker()
    assert b.step() == 0  # a fair share is 1 now, but both instances are held
    a.step()
    assert len(a.leases.held) == len(a.leases.draining) == 1  # running both: keeps both
    (drained,) = a.leases.draining
    n_drained = next(n for n in (0, 1) if drained.startswith(_endpoint(n)))
    accepting.trigger_event(f"user-{n_drained}", "Lead Created", _lead(2))
    assert a.step() == 0 and b.step() == 0  # nobody claims for the instance being handed back

    marketo.gate.set()
    assert a.project.wait_idle(30)
    accepting.trigger_event(f"user-{1 - n_drained}", "Lead Created", _lead(3))
    claimed = a.step() + b.step()  # a keeps one instance (its share), b takes the other
    assert claimed == 2
    assert len(a.leases.held) == len(b.leases.held) == 1 and not a.leases.draining
    assert a.project.wait_idle(30) and b.project.wait_idle(30)
    assert len(marketo.leads) == 4


@pytest.mark.parametrize("death", ["lease ran out", "process gone"])
def test_a_dead_holders_instance_is_taken_over(
    death: str,
    accepting: Project,
    marketo: GatedMarketo,
    open_worker: Callable[[], Worker],
    project_dir: Path | str,
    clock: FakeClock,
) -> None:
    _seed(accepting, users=1)
    for i in range(5):
        accepting.trigger_event("user-0", "Lead Created", _lead(i))
    if death == "process gone":  # a worker on this machine that was killed (kill -9)
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        holder = f"{socket.gethostname()}:{proc.pid}:deadbeef"
    else:  # a worker on another machine that stopped renewing
        holder = FOREIGN
    dead = InstanceLeases(open_store(project_dir), owner=holder, clock=clock, lease_seconds=30)
    dead.balance()
    assert len(dead.held) == 1

    worker = open_worker()
    if death == "lease ran out":
        assert worker.step() == 0  # the instance is held: its runs are not claimed here
        clock.advance(29)
        assert worker.step() == 0
        dead.balance()  # its heartbeat: held for 30 s more
        clock.advance(29)
        assert worker.step() == 0
        clock.advance(2)  # 31 s since its last renewal: presumed dead
    assert worker.step() == 5  # taken over at once for a process that is gone
    assert worker.leases.holders() == {f"{_endpoint(0)}#{CLIENT_ID}": worker.project._engine.owner}
    assert worker.project.wait_idle(30)
    assert set(worker.project.runs()["status"]) == {"succeeded"}
    assert len(marketo.leads) == 5


def test_one_leads_events_apply_in_the_order_they_were_accepted(
    accepting: Project, marketo: GatedMarketo, open_worker: Callable[[], Worker]
) -> None:
    _seed(accepting, users=1)
    events = 400
    for i in range(events):  # 10 leads, 40 events each, each with a later last name
        accepting.trigger_event("user-0", "Lead Created", _lead(i, emails=10))
    workers = [open_worker(), open_worker()]
    while sum(w.claimed for w in workers) < events:
        for worker in workers:
            worker.step()
    for worker in workers:
        assert worker.project.wait_idle(60)

    by_lead: dict[str, list[str]] = {}
    for email, last_name in marketo.applied:
        by_lead.setdefault(email, []).append(last_name)
    assert len(by_lead) == 10
    for email, names in by_lead.items():
        assert names == sorted(names), f"{email}'s events applied out of order: {names}"
        assert len(names) == events // 10
    final = {lead["email"]: lead["lastName"] for lead in marketo.leads.values()}
    assert final == {f"ada{n}@example.com": f"v{events - 10 + n:05d}" for n in range(10)}


def test_the_claims_instance_rule_is_the_gateways(
    accepting: Project, project_dir: Path | str
) -> None:
    accepting.connect_user(
        "user-9", "marketo", endpoint="https://9-XYZ-999.mktorest.com/rest/",
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
    )  # fmt: skip
    creds = MarketoCredentials(
        endpoint="https://9-XYZ-999.mktorest.com/rest/", client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )  # fmt: skip
    row = open_store(project_dir).one(
        f"SELECT {INSTANCE_SQL} AS instance FROM credentials c WHERE c.sub = ?", "user-9"
    )
    assert row is not None and row["instance"] == instance_of(creds)


def test_a_run_whose_user_has_no_credential_any_more_is_still_claimed(
    accepting: Project, open_worker: Callable[[], Worker]
) -> None:
    _seed(accepting, users=2)
    receipt = accepting.trigger_event("user-1", "Lead Created", _lead(1))
    accepting.disconnect_user("user-1", "marketo")  # after the accept: no instance to batch on
    worker = open_worker()
    assert worker.step() == 1  # it holds no instance, but this run needs none
    assert worker.leases.held == frozenset()
    assert worker.project.wait_idle(30)
    run = worker.project.run(receipt.run_ids[0])
    assert run.status == "failed" and "credential" in (run.error or "")
    assert worker.step() == 0 and not worker.leases.claimable  # nothing left to look for
