"""A write the database refuses loses no work (issue 11). A transaction rolled back by a
deadlock or a serialization failure (PostgreSQL) or a busy file (SQLite) is run again by the
store; when it still fails (or fails for another reason), the engine drops what it held in
memory for those runs and runs them again from the store. Every event still ends with
exactly one succeeded run, its lead upserted and in the list. On both stores; the failures
are the drivers' own exception types, injected through the connection a statement runs on."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from paragon_nb.runtime import db
from paragon_nb.runtime.db import Conn
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.runlog import RunLog, Writes

from .conftest import LEAD_EXAMPLE, open_store
from .fakes import FakeMarketo

EVENTS = 20
TAKER = "other-host:7:taker"  # the process that took a run over
#: the statement every grouped write (engine pass or batch answer) starts with
GROUP_WRITE = "SELECT id, owner FROM runs WHERE id IN"
#: a statement only the write of a batch's answer makes
ANSWER_WRITE = "DELETE FROM marketo_work"


class _Raising:
    """Stands in for the driver connection for one statement: raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def execute(self, *_: Any) -> Any:
        raise self.error

    executemany = execute

    def cursor(self) -> Any:
        return self

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *_: Any) -> None:
        pass


class Faults:
    """Makes the next ``times`` statements containing ``text`` fail with the driver's own
    error (``deadlock``: PostgreSQL's DeadlockDetected / SQLite's busy; else a failure that
    does not pass: a cancelled statement / a disk I/O error), translated as any other."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan: list[tuple[str, bool]] = []
        self.fired: Counter[str] = Counter()
        original = Conn.execute
        original_many = Conn.executemany

        def failing(self_: Conn, call: Callable[..., Any], sql: str, args: Any) -> Any:
            for pos, (text, deadlock) in enumerate(self.plan):
                if text in sql:
                    del self.plan[pos]
                    self.fired[text] += 1
                    raw = self_._raw
                    self_._raw = _Raising(_driver_error(self_.dialect, deadlock=deadlock))
                    try:
                        return call(self_, sql, args)
                    finally:
                        self_._raw = raw
            return call(self_, sql, args)

        monkeypatch.setattr(
            Conn, "execute", lambda s, sql, args=(): failing(s, original, sql, args)
        )
        monkeypatch.setattr(
            Conn, "executemany", lambda s, sql, rows: failing(s, original_many, sql, rows)
        )

    def next(self, text: str, *, times: int = 1, deadlock: bool = True) -> None:
        self.plan.extend([(text, deadlock)] * times)


def _driver_error(dialect: str, *, deadlock: bool) -> BaseException:
    if dialect == "postgresql":
        import psycopg

        if deadlock:
            return psycopg.errors.DeadlockDetected("deadlock detected (injected)")
        return psycopg.errors.QueryCanceled("canceling statement (injected)")
    if deadlock:
        return sqlite3.OperationalError("database is locked (injected)")
    return sqlite3.OperationalError("disk I/O error (injected)")


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    f = Faults(monkeypatch)
    yield f
    assert not f.plan, f"faults never injected: {f.plan}"


def _burst(project: Project) -> list[str]:
    return [
        project.trigger_event(
            "user-1", "Lead Created", {**LEAD_EXAMPLE, "email": f"ada{i}@example.com"}
        ).event_id
        for i in range(EVENTS)
    ]


def _each_succeeded_once(project: Project, marketo: FakeMarketo, events: list[str]) -> None:
    assert project.wait_idle(30)
    runs = project.runs()
    assert Counter(runs["event_id"]) == Counter(events)  # one run per event
    assert set(runs["status"]) == {"succeeded"}, list(runs["error"])
    for run_id in runs["run_id"]:
        steps = [s.step_id for s in project.run(run_id).steps]
        assert len(steps) == len(set(steps)) == 2  # each step recorded once
    emails = Counter(lead["email"] for lead in marketo.leads.values())
    assert emails == Counter(f"ada{i}@example.com" for i in range(EVENTS))
    assert len(marketo.members[1001]) == EVENTS


def test_a_deadlock_in_a_group_write_is_run_again_by_the_store(
    seeded: Project, marketo: FakeMarketo, faults: Faults
) -> None:
    faults.next(GROUP_WRITE)
    faults.next(ANSWER_WRITE)
    events = _burst(seeded)
    _each_succeeded_once(seeded, marketo, events)
    assert faults.fired == {GROUP_WRITE: 1, ANSWER_WRITE: 1}


def test_deadlocks_past_the_stores_retries_send_the_runs_again_from_the_store(
    seeded: Project, marketo: FakeMarketo, faults: Faults
) -> None:
    faults.next(GROUP_WRITE, times=db.TX_ATTEMPTS)  # the store gives up: the engine's turn
    events = _burst(seeded)
    _each_succeeded_once(seeded, marketo, events)
    assert faults.fired[GROUP_WRITE] == db.TX_ATTEMPTS


@pytest.mark.parametrize("statement", [GROUP_WRITE, ANSWER_WRITE])
def test_a_write_that_fails_for_good_once_is_not_lost(
    seeded: Project, marketo: FakeMarketo, faults: Faults, statement: str
) -> None:
    """A failure that does not pass (not retried by the store) in an engine pass, or in the
    write of a batch's answer (the call was made; its answer is not recorded): the runs go
    again from the store, and the record is sent again (idempotent in Marketo)."""
    faults.next(statement, deadlock=False)
    events = _burst(seeded)
    _each_succeeded_once(seeded, marketo, events)
    assert faults.fired[statement] == 1


def test_the_store_gives_up_after_its_attempts(project_dir: Any, faults: Faults) -> None:
    Project.create("Demo", path=project_dir).close()
    store = open_store(project_dir)
    faults.next("SELECT 1", times=db.TX_ATTEMPTS)
    with pytest.raises(db.TransientError, match="injected"):
        store.transact(lambda c: c.execute("SELECT 1"))
    faults.next("SELECT 1", times=db.TX_ATTEMPTS - 1)
    assert dict(store.transact(lambda c: c.one("SELECT 1 AS one")) or {}) == {"one": 1}
    faults.next("SELECT 1", deadlock=False)
    with pytest.raises(db.DatabaseError) as failed:  # not transient: not run again
        store.transact(lambda c: c.execute("SELECT 1"))
    assert not isinstance(failed.value, db.TransientError)
    store.close()


def test_writes_of_a_run_another_process_took_over_are_refused(project_dir: Any) -> None:
    """A process that stalled past its lease: its late writes for the run are not applied."""
    p = Project.create("Demo", path=project_dir, execute_runs=False)
    try:
        p.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    finally:
        p.close()
    store = open_store(project_dir)
    log = RunLog(store)
    run = {"id": "run-1", "event_id": "ev-1", "workflow_id": "wf", "version": 1, "sub": "u",
           "context": {}, "created": 1.0}  # fmt: skip
    with store.run_tx() as c:
        c.execute(
            "INSERT INTO events(id, seq, sub, name, payload, received, run_count) "
            "VALUES ('ev-1', 1, 'u', 'Lead Created', '{}', 1.0, 1)"
        )
    log.insert_runs([run], owner="host:1:stalled", lease_until=10.0)
    assert [r.id for r in log.claim_due("host:2:alive", now=11.0, lease_until=41.0)] == ["run-1"]
    late = Writes(started=[("run-1", 12.0)], runs=[("run-1", "succeeded", 12.0, None)])
    assert log.apply(late, owner="host:1:stalled") == {"run-1"}
    row = log.run("run-1")
    assert row is not None and (row.status, row.owner) == ("queued", "host:2:alive")
    assert log.apply(late, owner="host:2:alive") == set()
    row = log.run("run-1")
    assert row is not None and row.status == "succeeded"
    store.close()


def test_a_stalled_engine_does_not_write_for_a_run_another_process_took_over(
    seeded: Project,
    marketo: FakeMarketo,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The engine's Marketo call outlives its lease and another process takes the run over:
    the answer's write is refused and logged, and this engine lets the run go."""
    entered, gate = threading.Event(), threading.Event()
    original = marketo._call

    def stalled(method: str) -> None:
        if method == "sync_leads":
            entered.set()
            gate.wait(30)
        original(method)

    monkeypatch.setattr(marketo, "_call", stalled)
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert entered.wait(30)
    with seeded._store.run_tx() as c:  # its lease ran out: another process claimed the run
        c.execute("UPDATE runs SET owner = ?, lease_until = ?", (TAKER, 4e9))
    with caplog.at_level(logging.WARNING, logger="paragon_nb.runtime.runlog"):
        gate.set()
        assert seeded.wait_idle(30)  # it forgot the run instead of finishing it
    log = RunLog(seeded._store)
    (run_id,) = log.unfinished_run_ids()
    row = log.run(run_id)
    assert row is not None and (row.status, row.owner) == ("running", TAKER)
    assert all(s.status != "succeeded" for s in log.steps(run_id))
    assert marketo.members[1001] == set()  # its next step never ran here
    assert "refused the writes of 1 run(s)" in caplog.text
