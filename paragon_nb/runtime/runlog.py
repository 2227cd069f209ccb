"""The engine's durable state: events, runs, step records and the Marketo work queue.

Everything the engine writes goes through :class:`RunLog`, in few, grouped transactions:
a group of accepted events (with their runs and idempotency records) is one transaction;
everything one engine pass or one Marketo batch produced (:class:`Writes`) is one
transaction. The SQL is portable (:mod:`paragon_nb.runtime.db`: SQLite or PostgreSQL);
rows come back as dataclasses.

    log = RunLog(store)
    log.insert_events([entry])            # one transaction for the whole group
    log.apply(writes)                      # step records + run states + work items
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paragon_nb.runtime.api import UNFINISHED, RunStatus, StepRecord
from paragon_nb.runtime.db import Conn, Row
from paragon_nb.runtime.store import ProjectStore, dumps, from_row, loads

__all__ = ["EventEntry", "RunLog", "RunRow", "WorkItem", "Writes", "step_record"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRow:
    id: str
    event_id: str
    workflow_id: str
    version: int
    sub: str
    status: str
    context: dict[str, Any]
    created: float
    started: float | None
    ended: float | None
    error: str | None
    replay_of: str | None
    owner: str | None


@dataclass
class WorkItem:
    """One run's Marketo record waiting for (or in) a batch. ``op`` is ``upsert``, ``add`` or
    ``remove``; ``call_key`` is what must be equal to share a call (lookup field and
    partition; list id); ``payload`` is the record, or the run's lead ids."""

    run_id: str
    step_id: str
    sub: str
    op: str
    call_key: tuple[Any, ...]
    payload: Any
    attempts: int = 0
    not_before: float = 0.0
    id: int = 0
    batch_id: str | None = None


@dataclass(frozen=True)
class EventEntry:
    """An accepted event with its runs; ``idempotency`` is ``(key, receipt, since)``."""

    event: dict[str, Any]
    runs: list[dict[str, Any]]
    idempotency: tuple[str, dict[str, Any], float] | None = None


@dataclass
class Writes:
    """What one engine pass or one batch changes, written in one transaction."""

    steps: list[tuple[str, StepRecord]] = field(default_factory=list)
    runs: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    started: list[tuple[str, float]] = field(default_factory=list)
    new_work: list[WorkItem] = field(default_factory=list)
    done_work: list[int] = field(default_factory=list)
    retry_work: list[WorkItem] = field(default_factory=list)
    waits: list[tuple[str, float]] = field(default_factory=list)  # (run id, not_before)

    def __bool__(self) -> bool:
        return any((self.steps, self.runs, self.started, self.new_work, self.done_work,
                    self.retry_work, self.waits))  # fmt: skip


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """``items`` in lists of ``size`` (bound parameters per statement stay few)."""
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _run_row(r: Row) -> RunRow:
    return from_row(RunRow, r, version=int(r["version"]), context=loads(r["context"]) or {})


def step_record(r: Row) -> StepRecord:
    return from_row(
        StepRecord, r, attempts=int(r["attempts"]), finished=r["ended"],
        input=loads(r["input"]), output=loads(r["output"]),
    )  # fmt: skip


def _work_item(r: Row) -> WorkItem:
    return from_row(
        WorkItem, r, id=int(r["id"]), call_key=tuple(loads(r["call_key"])),
        payload=loads(r["payload"]), attempts=int(r["attempts"]),
        not_before=float(r["not_before"]),
    )  # fmt: skip


_UPSERT_STEP = (
    "INSERT INTO run_steps(run_id, step_id, seq, action, status, input, output, error, "
    "attempts, started, ended, batch_id, batch_size) VALUES (?, ?, "
    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM run_steps WHERE run_id = ?), "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, step_id) DO UPDATE SET "
    "status = excluded.status, input = excluded.input, output = excluded.output, "
    "error = excluded.error, attempts = excluded.attempts, started = excluded.started, "
    "ended = excluded.ended, batch_id = excluded.batch_id, batch_size = excluded.batch_size"
)


class RunLog:
    """Grouped reads and writes of events, runs, step records and Marketo work."""

    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    # events ---------------------------------------------------------------------------------
    def insert_events(
        self,
        entries: Sequence[EventEntry],
        *,
        owner: str | None,
        lease_until: float | None = None,
    ) -> list[Any]:
        """One transaction for every entry; per entry, the earlier receipt when its
        idempotency key was already used (nothing written for it), else None. The runs are
        written held by ``owner`` until ``lease_until`` (the engine that will execute them),
        or held by nobody (``None``: any worker may claim them)."""

        def body(c: Conn) -> list[Any]:
            answers: list[Any] = []
            c.lock("seq")  # MAX(seq) + 1 below: one writer at a time across processes
            seq = _max_seq(c, "events")
            run_seq = _max_seq(c, "runs")
            for entry in entries:
                event = entry.event
                if entry.idempotency is not None:
                    key, receipt, since = entry.idempotency
                    row = c.one(
                        "SELECT receipt, created FROM idempotency WHERE sub = ? AND key = ?",
                        event["sub"], key,
                    )  # fmt: skip
                    if row is not None and row["created"] >= since:
                        answers.append(loads(row["receipt"]))
                        continue
                    c.execute(
                        "DELETE FROM idempotency WHERE sub = ? AND key = ?", (event["sub"], key)
                    )
                    c.execute(
                        "INSERT INTO idempotency(sub, key, receipt, created) VALUES (?, ?, ?, ?)",
                        (event["sub"], key, dumps(receipt), event["received"]),
                    )
                seq += 1
                c.execute(
                    "INSERT INTO events(id, seq, sub, name, payload, received, run_count) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event["id"], seq, event["sub"], event["name"], dumps(event["payload"]),
                     event["received"], len(entry.runs)),
                )  # fmt: skip
                run_seq = self._insert_runs(c, entry.runs, run_seq, owner, lease_until)
                answers.append(None)
            return answers

        return self._store.transact(body)

    def insert_runs(
        self, runs: list[dict[str, Any]], *, owner: str | None, lease_until: float | None = None
    ) -> None:

        def body(c: Conn) -> None:
            c.lock("seq")
            self._insert_runs(c, runs, _max_seq(c, "runs"), owner, lease_until)

        self._store.transact(body)

    @staticmethod
    def _insert_runs(
        c: Conn, runs: list[dict[str, Any]], seq: int, owner: str | None, lease_until: float | None
    ) -> int:
        rows = []
        for run in runs:
            seq += 1
            rows.append(
                (run["id"], seq, run["event_id"], run["workflow_id"], run["version"], run["sub"],
                 RunStatus.QUEUED.value, dumps(run["context"]), run["created"],
                 run.get("replay_of"), owner, lease_until)
            )  # fmt: skip
        c.executemany(
            "INSERT INTO runs(id, seq, event_id, workflow_id, version, sub, status, context, "
            "created, replay_of, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return seq

    def payloads(self, event_ids: Iterable[str]) -> dict[str, Any]:
        """The payloads of many events at once (chunked IN queries)."""
        out: dict[str, Any] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            marks = ", ".join("?" for _ in chunk)
            for r in self._store.all(
                f"SELECT id, payload FROM events WHERE id IN ({marks})", *chunk
            ):
                out[r["id"]] = loads(r["payload"])
        return out

    def steps_of(self, run_ids: Iterable[str]) -> dict[str, list[StepRecord]]:
        """The step records of many runs at once, each run's in order."""
        out: dict[str, list[StepRecord]] = {}
        for chunk in _chunks(list(run_ids)):
            marks = ", ".join("?" for _ in chunk)
            rows = self._store.all(
                f"SELECT * FROM run_steps WHERE run_id IN ({marks}) ORDER BY run_id, seq", *chunk
            )
            for r in rows:
                out.setdefault(r["run_id"], []).append(step_record(r))
        return out

    def event_payload(self, event_id: str) -> Any:
        row = self._store.one("SELECT payload FROM events WHERE id = ?", event_id)
        return None if row is None else loads(row["payload"])

    # runs -----------------------------------------------------------------------------------
    def unfinished_run_ids(self) -> list[str]:
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = self._store.all(
            f"SELECT id FROM runs WHERE status IN ({marks}) ORDER BY seq", *UNFINISHED
        )
        return [r["id"] for r in rows]

    def claim_due(
        self, owner: str, *, now: float, lease_until: float, limit: int | None = None
    ) -> list[RunRow]:
        """Make ``owner`` the holder (until ``lease_until``) of up to ``limit`` unfinished
        runs that nobody holds or whose lease ran out, and that are due (``not_before`` <=
        ``now``), oldest first; returns their rows.

        One statement: the CTE picks the candidates once (MATERIALIZED: on PostgreSQL a
        ``LIMIT`` subquery under ``IN`` may be re-run for every row it is compared with),
        skipping rows another claimer has locked (``FOR UPDATE SKIP LOCKED`` through the
        store's dialect hook, empty on SQLite); the outer WHERE repeats the claimable
        condition, so a row another worker claimed meanwhile is re-checked and left alone
        (PostgreSQL's READ COMMITTED re-check): two claimers never get one run. SQLite runs
        the statement under its write lock."""
        marks = ", ".join("?" for _ in UNFINISHED)
        free = "(owner IS NULL OR lease_until IS NULL OR lease_until < ?)"
        cap = "" if limit is None else " LIMIT ?"
        with self._store.run_tx() as c:
            skip_locked = c.skip_locked
            rows = c.execute(
                f"WITH picked AS MATERIALIZED (SELECT id FROM runs WHERE status IN ({marks}) "
                f"AND {free} AND COALESCE(not_before, 0) <= ? ORDER BY seq{cap}{skip_locked}) "
                f"UPDATE runs SET owner = ?, lease_until = ? WHERE id IN (SELECT id FROM picked) "
                f"AND status IN ({marks}) AND {free} RETURNING *",
                (*UNFINISHED, now, now, *(() if limit is None else (limit,)), owner, lease_until,
                 *UNFINISHED, now),
            ).fetchall()  # fmt: skip
        return [_run_row(r) for r in sorted(rows, key=lambda r: r["seq"])]

    def any_due(self, *, now: float) -> bool:
        """Whether :meth:`claim_due` would find a run (a read: idle workers polling for work
        do not take the write lock, which event accepts need)."""
        marks = ", ".join("?" for _ in UNFINISHED)
        row = self._store.one(
            f"SELECT id FROM runs WHERE status IN ({marks}) AND (owner IS NULL OR "
            f"lease_until IS NULL OR lease_until < ?) AND COALESCE(not_before, 0) <= ? LIMIT 1",
            *UNFINISHED,
            now,
            now,
        )
        return row is not None

    def renew(self, owner: str, *, lease_until: float) -> None:
        """Extend the lease of every unfinished run ``owner`` holds (its heartbeat)."""
        marks = ", ".join("?" for _ in UNFINISHED)
        where, args = f"owner = ? AND status IN ({marks})", (owner, *UNFINISHED)

        def body(c: Conn) -> None:
            _lock_in_order(c, where, args)
            c.execute(f"UPDATE runs SET lease_until = ? WHERE {where}", (lease_until, *args))

        self._store.transact(body)

    def reap(self, is_stale: Callable[[str], bool]) -> list[str]:
        """Release the runs of owners that can no longer run them (a process on this machine
        that is gone: see runtime.ownership) without waiting for their leases; returns
        those owners."""
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = self._store.all(
            f"SELECT DISTINCT owner FROM runs WHERE status IN ({marks}) AND owner IS NOT NULL",
            *UNFINISHED,
        )
        stale = [r["owner"] for r in rows if is_stale(r["owner"])]
        for owner in stale:
            self.release(owner)
        return stale

    def wake(self, now: float, owner: str | None, lease_until: float | None) -> list[str]:
        """Make every ``waiting`` run whose ``not_before`` has passed ``queued`` again, held
        by ``owner`` until ``lease_until`` (None: by nobody, for any worker to claim); one
        statement, so two processes never wake the same run."""
        due = self._store.one(
            "SELECT id FROM runs WHERE status = ? AND not_before <= ? LIMIT 1",
            RunStatus.WAITING.value, now,
        )  # fmt: skip
        if due is None:  # the usual case, every tick: a read, no write transaction
            return []

        def body(c: Conn) -> list[Row]:
            where = "status = ? AND not_before <= ?"
            _lock_in_order(c, where, (RunStatus.WAITING.value, now))
            return c.execute(  # type: ignore[no-any-return]
                f"UPDATE runs SET status = ?, not_before = NULL, owner = ?, lease_until = ? "
                f"WHERE {where} RETURNING id",
                (RunStatus.QUEUED.value, owner, lease_until, RunStatus.WAITING.value, now),
            ).fetchall()

        return [r["id"] for r in self._store.transact(body)]

    def release(self, owner: str, run_ids: Sequence[str] | None = None) -> None:
        """Unfinished runs of ``owner`` (only those of ``run_ids``, when given) become
        claimable at once (an orderly close, a stale owner, a group whose write failed)."""
        marks = ", ".join("?" for _ in UNFINISHED)
        where, args = f"owner = ? AND status IN ({marks})", (owner, *UNFINISHED)

        def body(c: Conn, where: str, args: tuple[Any, ...]) -> None:
            _lock_in_order(c, where, args)
            c.execute(f"UPDATE runs SET owner = NULL, lease_until = NULL WHERE {where}", args)

        for part in _of_runs(where, args, run_ids):
            self._store.transact(functools.partial(body, where=part[0], args=part[1]))

    def run(self, run_id: str) -> RunRow | None:
        row = self._store.one("SELECT * FROM runs WHERE id = ?", run_id)
        return None if row is None else _run_row(row)

    def steps(self, run_id: str) -> list[StepRecord]:
        rows = self._store.all("SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq", run_id)
        return [step_record(r) for r in rows]

    # the Marketo work queue -----------------------------------------------------------------
    def work(self, run_ids: Sequence[str] | None = None) -> list[WorkItem]:
        """Queued Marketo records, in id order (of ``run_ids`` only, when given)."""
        if run_ids is None:
            rows = self._store.all("SELECT * FROM marketo_work ORDER BY id")
            return [_work_item(r) for r in rows]
        rows = []
        for chunk in _chunks(list(run_ids)):
            marks = ", ".join("?" for _ in chunk)
            rows += self._store.all(f"SELECT * FROM marketo_work WHERE run_id IN ({marks})", *chunk)
        return sorted((_work_item(r) for r in rows), key=lambda i: i.id)

    def mark_sent(self, items: Sequence[WorkItem], batch_id: str) -> None:
        """Before a batch leaves: its id and one more attempt on each item (durable, so a
        batch whose answer is lost in a crash is counted and sent again on reopen)."""
        # in id order: two writers of the same rows never wait on each other in a circle
        rows = sorted(((batch_id, i.attempts, i.id) for i in items), key=lambda r: r[2])
        self._store.transact(
            lambda c: c.executemany(
                "UPDATE marketo_work SET batch_id = ?, attempts = ? WHERE id = ?", rows
            )
        )

    # grouped writes -------------------------------------------------------------------------
    def apply(self, writes: Writes, *, owner: str | None = None) -> set[str]:
        """Everything in ``writes`` in one transaction (run again after a deadlock); new work
        items get their ids. With ``owner``, only the writes of runs ``owner`` still holds are
        applied: those of a run another process took over (this one stalled past its lease)
        are refused and logged; returns the refused run ids."""
        if not writes:
            return set()
        return self._store.transact(lambda c: self._apply(c, writes, owner))

    def _apply(self, c: Conn, writes: Writes, owner: str | None) -> set[str]:
        touched = sorted(
            {run_id for run_id, _ in writes.started}
            | {run_id for run_id, _ in writes.waits}
            | {w[0] for w in writes.runs}
            | {run_id for run_id, _ in writes.steps}
            | {i.run_id for i in (*writes.new_work, *writes.retry_work)}
        )
        holders: dict[str, str | None] = {}
        if owner is None and c.dialect != "postgresql":
            touched = []  # nothing to check, and SQLite's writer lock orders writers anyway
        for chunk in _chunks(touched):
            marks = ", ".join("?" for _ in chunk)
            for r in _lock_in_order(c, f"id IN ({marks})", chunk, columns="id, owner"):
                holders[r["id"]] = r["owner"]
        refused = set() if owner is None else {r for r, o in holders.items() if o != owner}
        if refused:
            log.warning(
                "refused the writes of %d run(s) %s no longer holds (taken over after its lease "
                "ran out, or released): %s", len(refused), owner, ", ".join(sorted(refused)[:5]),
            )  # fmt: skip
            writes = _without(c, writes, refused)
        self._write(c, writes)
        return refused

    @staticmethod
    def _write(c: Conn, writes: Writes) -> None:
        if writes.started:
            c.executemany(
                "UPDATE runs SET status = ?, started = COALESCE(started, ?) "
                "WHERE id = ? AND status = ?",
                [(RunStatus.RUNNING.value, at, run_id, RunStatus.QUEUED.value)
                 for run_id, at in writes.started],
            )  # fmt: skip
        if writes.steps:
            c.executemany(
                _UPSERT_STEP,
                [(run_id, s.step_id, run_id, s.action, str(s.status), dumps(s.input),
                  None if s.output is None else dumps(s.output), s.error, s.attempts,
                  s.started, s.finished, s.batch_id, s.batch_size)
                 for run_id, s in writes.steps],
            )  # fmt: skip
        for item in writes.new_work:
            row = c.one(
                "INSERT INTO marketo_work(run_id, step_id, sub, op, call_key, payload, "
                "attempts, not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(run_id, step_id) DO UPDATE SET payload = excluded.payload "
                "RETURNING id",
                item.run_id, item.step_id, item.sub, item.op, dumps(list(item.call_key)),
                dumps(item.payload), item.attempts, item.not_before,
            )  # fmt: skip
            assert row is not None  # RETURNING answers for an insert and an update alike
            item.id = int(row["id"])
        if writes.retry_work:
            c.executemany(
                "UPDATE marketo_work SET not_before = ?, attempts = ?, batch_id = NULL "
                "WHERE id = ?",
                sorted(((i.not_before, i.attempts, i.id) for i in writes.retry_work),
                       key=lambda r: r[2]),
            )  # fmt: skip
        if writes.done_work:
            c.executemany(
                "DELETE FROM marketo_work WHERE id = ?", [(i,) for i in sorted(writes.done_work)]
            )
        if writes.waits:
            c.executemany(
                "UPDATE runs SET status = ?, not_before = ?, owner = NULL, lease_until = NULL "
                "WHERE id = ?",
                [(RunStatus.WAITING.value, at, run_id) for run_id, at in writes.waits],
            )
        if writes.runs:
            c.executemany(
                "UPDATE runs SET status = ?, ended = ?, error = ? WHERE id = ?",
                [(status, ended, error, run_id) for run_id, status, ended, error in writes.runs],
            )


def _without(c: Conn, writes: Writes, refused: set[str]) -> Writes:
    """``writes`` minus everything of the runs in ``refused``."""
    done = set(writes.done_work)
    for chunk in _chunks(sorted(done)):
        marks = ", ".join("?" for _ in chunk)
        for r in c.all(f"SELECT id, run_id FROM marketo_work WHERE id IN ({marks})", *chunk):
            if r["run_id"] in refused:
                done.discard(int(r["id"]))
    return Writes(
        steps=[w for w in writes.steps if w[0] not in refused],
        runs=[w for w in writes.runs if w[0] not in refused],
        started=[w for w in writes.started if w[0] not in refused],
        new_work=[i for i in writes.new_work if i.run_id not in refused],
        done_work=[i for i in writes.done_work if i in done],
        retry_work=[i for i in writes.retry_work if i.run_id not in refused],
        waits=[w for w in writes.waits if w[0] not in refused],
    )


def _lock_in_order(c: Conn, where: str, args: Sequence[Any], *, columns: str = "id") -> list[Row]:
    """Lock the ``runs`` rows matching ``where`` in id order before updating them, and return
    their ``columns``: transactions that update several runs (a group's writes, a heartbeat,
    a release, a wake) then always take the row locks in one order, so two of them never
    deadlock (seen in bench_scaleout with 2-4 workers: DeadlockDetected in apply). ``NO KEY
    UPDATE`` is the lock the UPDATE takes anyway: it does not conflict with the KEY SHARE
    locks of foreign-key checks (rows inserted into run_steps/marketo_work). On SQLite the
    rows are only read: BEGIN IMMEDIATE already serialises writers."""
    lock = " FOR NO KEY UPDATE" if c.dialect == "postgresql" else ""
    return c.all(f"SELECT {columns} FROM runs WHERE {where} ORDER BY id{lock}", *args)


def _of_runs(
    where: str, args: tuple[Any, ...], run_ids: Sequence[str] | None
) -> list[tuple[str, tuple[Any, ...]]]:
    """``(where, args)``, narrowed to ``run_ids`` when given (in chunks: one per statement)."""
    if run_ids is None:
        return [(where, args)]
    return [
        (f"{where} AND id IN ({', '.join('?' for _ in chunk)})", (*args, *chunk))
        for chunk in _chunks(sorted(run_ids))
    ]


def _max_seq(c: Conn, table: str) -> int:
    row = c.one(f"SELECT COALESCE(MAX(seq), 0) AS s FROM {table}")
    return 0 if row is None else int(row["s"])
