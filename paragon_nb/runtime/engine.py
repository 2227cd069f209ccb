"""The run engine: runs are data (state + step records), advanced by a few worker threads.

A run is created ``queued`` (with its event, by the project) and owned by the engine that
will execute it. A worker takes a group of ready runs and advances each as far as it can:
``condition`` and ``python`` steps (and Marketo reads) run on the worker; a Marketo write
(upsert, list add or remove) becomes a :class:`~paragon_nb.runtime.runlog.WorkItem` and
the run parks, holding no thread, until its instance's dispatcher (runtime.batcher) sends
it in a batch and hands back this run's own answer. Everything one group or one batch
changed is written in one transaction (runtime.runlog).

Retries follow each step's :class:`~paragon_nb.runtime.workflows.RetrySpec`; a run waiting
to retry is ``running`` and parked on a timer (the injected clock's ``wait``). After a
crash, opening the project resumes every unfinished run from its step records: a finished
step is never done twice, a queued Marketo write is sent again (upserts by lookup value and
list changes are idempotent in Marketo).

Claims and leases (issue 11): the engine holds each run it executes with a lease in the
store (``runs.owner`` / ``lease_until``), renewed by a heartbeat thread every third of
``lease_seconds``. Runs nobody holds, or whose holder's lease ran out (a killed or hung
process, on any machine), are taken by :meth:`Engine.claim` (worker processes call it in a
loop; an embedded project once, when it opens); a process on this machine that is gone is
noticed at once (runtime.ownership). A record whose batch had left when its holder died
(sent, answer never recorded) is sent again only ``grace`` seconds later, when that call
is over at Marketo: never two calls for one record at once.

    engine = Engine(store, clock=clock, gateway_for=..., spec_for=catalog.version_spec)
    engine.submit(["run-id"]); engine.wait_idle(5)
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import MarketoAuthError
from paragon_nb.runtime.api import InstanceQueue, RunStatus, StepStatus
from paragon_nb.runtime.batcher import InstanceDispatcher
from paragon_nb.runtime.budget import StoreBudget
from paragon_nb.runtime.db import DatabaseError
from paragon_nb.runtime.gateway import MAX_BATCH, MarketoGateway
from paragon_nb.runtime.outbound import OutboundPolicy
from paragon_nb.runtime.ownership import (
    make_owner,
    owner_is_stale,
    register_engine,
    unregister_engine,
)
from paragon_nb.runtime.runcontext import PARKED, RunContext, StepRunner
from paragon_nb.runtime.runlog import RunLog, RunRow, WorkItem, Writes
from paragon_nb.runtime.store import ProjectStore
from paragon_nb.runtime.workflows import WorkflowSpec

__all__ = ["Engine", "RunStatus", "StepStatus"]

log = logging.getLogger(__name__)

#: runs one worker advances before it writes their changes in one transaction
GROUP = 64
#: failed writes in a row after which a run is handed back to the store (see _write_failed)
MAX_WRITE_FAILURES = 5


class Engine:
    """Advances runs on ``workers`` threads (default 5; they only carry CPU steps) and sends
    their Marketo writes through one dispatcher per instance (``coalesce=False``: one record
    per call, Paragon's model)."""

    def __init__(
        self,
        store: ProjectStore,
        *,
        clock: Clock,
        gateway_for: Callable[[str], MarketoGateway],
        spec_for: Callable[[str, int], WorkflowSpec],
        secrets_for: Callable[[str], Sequence[str]] | None = None,
        env_secrets: Callable[[], Mapping[str, str]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        on_auth_error: Callable[[str, MarketoAuthError], None] | None = None,
        workers: int = 5,
        coalesce: bool = True,
        outbound: Callable[[], OutboundPolicy] = OutboundPolicy,
        lease_seconds: float = 30.0,
        grace: float = 5.0,
        executes: bool = True,
    ) -> None:
        self._log = RunLog(store)
        self._clock = clock
        self._gateway_for = gateway_for
        self._spec_for = spec_for
        self._secrets_for = secrets_for or (lambda sub: ())
        self._env_secrets = env_secrets  # {{secrets.NAME}} (runtime.secrets)
        self._on_auth_error = on_auth_error
        self._workers = max(1, workers)
        self._max_batch = MAX_BATCH if coalesce else 1
        self._steps = StepRunner(
            clock=clock,
            gateway_for=gateway_for,
            functions=functions if functions is not None else {},
            outbound=outbound,
        )
        self._responses: dict[str, dict[str, Any]] = {}  # run id -> its Response step output
        self._cond = threading.Condition()
        self._ready: deque[str] = deque()
        self._advancing: set[str] = set()  # runs a worker is advancing right now
        self._again: set[str] = set()  # ... that became ready meanwhile (a fan-out's batches)
        self._contexts: dict[str, RunContext] = {}
        self._active: set[str] = set()
        self._write_failures: dict[str, int] = {}  # run id -> its writes that failed in a row
        self._unreleased: set[str] = set()  # handed back, but the release failed: the next beat
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_seq = 0
        self._timer_wake = threading.Event()
        self._dispatchers: dict[str, InstanceDispatcher] = {}
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._engine_id = uuid.uuid4().hex[:12]
        #: who executes a claimed run: host, process and engine; see runtime.ownership
        self.owner = make_owner(self._engine_id)
        register_engine(self._engine_id)
        self.lease_seconds = lease_seconds
        self.grace = grace
        #: False: this process only accepts events; worker processes claim the runs
        self.executes = executes
        #: the shared Marketo budget whose in-flight leases the heartbeat renews (set by the
        #: project)
        self.budget: StoreBudget | None = None
        self._heartbeat: threading.Thread | None = None

    # queueing ------------------------------------------------------------------------------
    def submit(self, run_ids: Iterable[str]) -> None:
        """Start runs this engine owns (ids already active are ignored)."""
        if self._closing.is_set() or not self.executes:
            return  # they stay queued in the database and resume on the next open
        with self._cond:
            fresh = [r for r in run_ids if r not in self._active]
            self._active.update(fresh)
            self._ready.extend(fresh)
            self._start_threads()
            self._cond.notify_all()

    def start_new(self, runs: list[dict[str, Any]], payload: Any) -> None:
        """Start runs just accepted by this process (their context is built from what the
        accept path already holds, without reading the store back)."""
        if not runs or self._closing.is_set() or not self.executes:
            return
        now = self._clock.time()
        contexts = [
            RunContext.load(
                RunRow(r["id"], r["event_id"], r["workflow_id"], r["version"], r["sub"],
                       RunStatus.QUEUED.value, r["context"], now, None, None, None, None,
                       self.owner),
                payload=payload, steps=(), spec_for=self._spec_for,
                secrets_for=self._secrets_for, env_secrets=self._env_secrets,
            )
            for r in runs
        ]  # fmt: skip
        with self._cond:
            for ctx in contexts:
                self._contexts[ctx.run_id] = ctx
        self.submit(ctx.run_id for ctx in contexts)

    def new_run_holder(self) -> tuple[str | None, float | None]:
        """(owner, lease_until) to write new runs with: this engine when it executes them,
        else nobody (a worker process claims them)."""
        if not self.executes or self._closing.is_set():
            return None, None
        return self.owner, self._clock.time() + self.lease_seconds

    def resume(self) -> list[str]:
        """Claim and restart every unfinished run no live engine holds (after a crash or
        close); queued Marketo writes go back to their dispatchers."""
        self._log.reap(owner_is_stale)
        return self.claim()

    def claim(self, limit: int | None = None) -> list[str]:
        """Claim up to ``limit`` due runs nobody holds (or whose lease ran out) and start
        them; returns their ids."""
        if self._closing.is_set() or not self.executes:
            return []
        now = self._clock.time()
        if not self._log.any_due(now=now):
            return []
        rows = self._log.claim_due(
            self.owner, now=now, lease_until=now + self.lease_seconds, limit=limit
        )
        with self._cond:
            rows = [r for r in rows if r.id not in self._active]  # ours already (renewed)
        if rows:
            self._start_claimed(rows, now)
        return [r.id for r in rows]

    def reap(self) -> list[str]:
        """Release the runs of engines on this machine that are gone (see RunLog.reap)."""
        return self._log.reap(owner_is_stale)

    def renew(self) -> None:
        """Extend the leases of every run and Marketo call this engine holds."""
        with self._cond:
            unreleased, self._unreleased = self._unreleased, set()
        try:
            if unreleased:  # handed back while the store failed (see _write_failed)
                self._log.release(self.owner, sorted(unreleased))
        except DatabaseError:
            with self._cond:
                self._unreleased |= unreleased
            raise
        self._log.renew(self.owner, lease_until=self._clock.time() + self.lease_seconds)
        if self.budget is not None:
            self.budget.renew()

    def _start_claimed(self, rows: list[RunRow], now: float) -> None:
        """Contexts for claimed runs, read in a few grouped queries (not three per run)."""
        ids = [r.id for r in rows]
        payloads = self._log.payloads(r.event_id for r in rows)
        steps = self._log.steps_of(r.id for r in rows if r.status != RunStatus.QUEUED)
        contexts = [
            RunContext.load(
                row, payload=payloads.get(row.event_id), steps=steps.get(row.id, ()),
                spec_for=self._spec_for, secrets_for=self._secrets_for,
            )
            for row in rows
        ]  # fmt: skip
        with self._cond:
            for ctx in contexts:
                self._contexts.setdefault(ctx.run_id, ctx)
        work: dict[str, list[WorkItem]] = {}
        for item in self._log.work(ids):
            if item.batch_id is not None:  # it left in a batch whose answer was lost
                item.not_before = max(item.not_before, now + self.grace)
            work.setdefault(item.run_id, []).append(item)
        parked = []
        with self._cond:
            for run_id in ids:
                ctx = self._load(run_id)
                if ctx is None:
                    continue
                ctx.waiting.update(i.step_id for i in work.get(run_id, ()))
                self._active.add(run_id)
                if ctx.waiting:
                    parked.append(ctx)
                else:
                    self._ready.append(run_id)
            self._start_threads()
            self._cond.notify_all()
        for ctx in parked:
            self._dispatch(ctx.sub, work[ctx.run_id])

    def _beat(self) -> None:
        """The heartbeat: renew leases every third of ``lease_seconds`` (real time, so a
        FakeClock is not moved by it)."""
        while not self._closing.wait(max(0.05, self.lease_seconds / 3)):
            try:
                self.renew()
            except Exception:  # a closed store or a busy database: the next beat retries
                log.debug("could not renew the leases of %s", self.owner, exc_info=True)

    def wake_due(self) -> list[str]:
        """Start the runs whose Delay has passed (``waiting`` with ``not_before <= now``);
        returns their ids. The project's timer (runtime.timers) calls it."""
        owner, lease_until = self.new_run_holder()  # nobody: a worker process claims them
        ids = self._log.wake(self._clock.time(), owner, lease_until)
        if owner is not None:
            self.submit(ids)
        return ids

    def _start_threads(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = threading.Thread(
                target=self._beat, name="paragon-nb-heartbeat", daemon=True
            )
            self._heartbeat.start()
        while len(self._threads) < self._workers:
            name = f"paragon-nb-run-{len(self._threads)}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()
        if len(self._threads) == self._workers:
            timer = threading.Thread(target=self._timer_loop, name="paragon-nb-timer", daemon=True)
            self._threads.append(timer)
            timer.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is active (True) or ``timeout`` real seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._active, timeout=timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._active)

    def queue(self) -> list[InstanceQueue]:
        """One summary per Marketo instance this engine has sent to."""
        with self._cond:
            dispatchers = list(self._dispatchers.values())
        return [d.snapshot() for d in dispatchers]

    def close(self, *, timeout: float = 5.0) -> None:
        """Stop; unfinished runs stay in the store and resume on the next open."""
        self._closing.set()
        self._timer_wake.set()
        with self._cond:
            self._cond.notify_all()
            dispatchers = list(self._dispatchers.values())
        deadline = time.monotonic() + timeout  # one deadline for everything, not each
        for dispatcher in dispatchers:
            dispatcher.close(max(0.0, deadline - time.monotonic()))
        for thread in [*self._threads, self._heartbeat]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        unregister_engine(self._engine_id)
        try:
            self._log.release(self.owner)
            if self.budget is not None:
                self.budget.release_all()
        except DatabaseError:  # the store may already be closed; leases and liveness cover it
            log.debug("could not release the runs of %s", self.owner)

    # workers -------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._closing.is_set():
                    self._cond.wait()
                if self._closing.is_set():
                    return
                group = self._take_group()
            if not group:
                continue
            try:
                self._advance_group(group)
            except Exception as exc:  # a failed write or a bug must not kill the worker
                self._write_failed(group, exc)
            finally:
                with self._cond:
                    self._advancing.difference_update(group)
                    again = [r for r in group if r in self._again]
                    self._again.difference_update(again)
                self._make_ready(again)

    def _take_group(self) -> list[str]:
        """Up to GROUP ready runs, each once, none that another worker is advancing (those
        go again when it is done: one run is never advanced by two workers at once)."""
        group: list[str] = []
        while self._ready and len(group) < GROUP:
            run_id = self._ready.popleft()
            if run_id in self._advancing:
                self._again.add(run_id)
            elif run_id not in group:
                group.append(run_id)
        self._advancing.update(group)
        return group

    def _advance_group(self, run_ids: list[str]) -> None:
        writes = Writes()
        finished: list[str] = []
        parked: list[RunContext] = []
        now = self._clock.time()
        for run_id in run_ids:
            ctx = self._contexts.get(run_id) or self._load(run_id)
            if ctx is None:
                finished.append(run_id)
                continue
            if not ctx.started:
                writes.started.append((run_id, now))
                ctx.started = True
            status, error = self._steps.advance(ctx, writes)
            if status is PARKED and ctx.wake_at is not None and not ctx.waiting:
                writes.waits.append((run_id, ctx.wake_at))  # a Delay: waits as data
                finished.append(run_id)
                continue
            if status is PARKED:
                parked.append(ctx)
                continue
            writes.runs.append((run_id, str(status), self._clock.time(), error))
            finished.append(run_id)
        refused = self._apply(writes)
        self._note_responses(writes)
        items: dict[str, list[WorkItem]] = {}
        for item in writes.new_work:
            if item.run_id not in refused:
                items.setdefault(item.sub, []).append(item)
        for sub, batch in items.items():
            self._dispatch(sub, batch)
        for ctx in parked:
            if ctx.run_id in refused:
                continue
            for step_id, due in ctx.timers.items():
                self._schedule(due, ctx.run_id, step_id)
            ctx.timers.clear()
        self._forget(finished)

    def _apply(self, writes: Writes) -> set[str]:
        """Write ``writes`` for the runs this engine still holds; the refused ones (another
        process took them over) are forgotten here. Returns the refused run ids."""
        refused = self._log.apply(writes, owner=self.owner)
        if refused:
            self._forget(sorted(refused))
        written = {w[0] for w in (*writes.steps, *writes.started, *writes.runs, *writes.waits)}
        written.update(i.run_id for i in (*writes.new_work, *writes.retry_work))
        with self._cond:
            for run_id in written:
                self._write_failures.pop(run_id, None)
        return refused

    def _write_failed(self, run_ids: list[str], exc: BaseException) -> None:
        """Advancing ``run_ids`` failed: usually their write (its transaction rolled back, also
        after the store's own retries of a deadlock), else a bug. What memory holds of them
        may be ahead of the store, so it is dropped; unless the engine is closing they go
        back to the ready queue after a pause (0.1 s doubling per failure in a row, real
        time) and are read again from the store. A run that failed ``MAX_WRITE_FAILURES``
        times in a row is handed back instead (its lease released: claimed again from the
        store, by this or another process, on the next claim or open)."""
        with self._cond:
            for run_id in run_ids:
                self._contexts.pop(run_id, None)
                self._write_failures[run_id] = self._write_failures.get(run_id, 0) + 1
            tries = max(self._write_failures[r] for r in run_ids)
            give_up = [r for r in run_ids if self._write_failures[r] >= MAX_WRITE_FAILURES]
        if self._closing.is_set():
            self._forget(run_ids)  # unfinished in the store: they resume on the next open
            return
        pause = min(5.0, 0.05 * 2**tries)
        log.warning("advancing %d runs failed (%s); again in %.1f s", len(run_ids),
                    exc, pause, exc_info=not isinstance(exc, DatabaseError))  # fmt: skip
        if self._closing.wait(pause):
            self._forget(run_ids)
            return
        if give_up:
            log.error("handing back %d runs whose writes failed %d times in a row: %s",
                      len(give_up), MAX_WRITE_FAILURES, ", ".join(give_up[:5]))  # fmt: skip
            self._forget(give_up)
            try:
                self._log.release(self.owner, give_up)
            except DatabaseError:  # the heartbeat releases them before it renews again
                with self._cond:
                    self._unreleased.update(give_up)
        self._make_ready([r for r in run_ids if r not in give_up])

    def _note_responses(self, writes: Writes) -> None:
        """Hand each Response step's output (Request-triggered runs) to whoever waits."""
        answered = [
            (run_id, s.output) for run_id, s in writes.steps
            if s.action == "response" and s.status == StepStatus.SUCCEEDED
        ]  # fmt: skip
        if answered:
            with self._cond:
                if len(self._responses) > 10_000:  # nobody waits for these (e.g. replays)
                    self._responses.clear()
                self._responses.update(answered)
                self._cond.notify_all()

    def wait_response(self, run_id: str, timeout: float) -> dict[str, Any] | None:
        """The run's Response step output once it ran, or None when the run ended (or
        parked on a Delay) first, or after ``timeout`` real seconds."""
        with self._cond:
            self._cond.wait_for(
                lambda: run_id in self._responses or run_id not in self._active, timeout=timeout
            )
            return self._responses.pop(run_id, None)

    def _forget(self, run_ids: list[str]) -> None:
        if not run_ids:
            return
        with self._cond:
            for run_id in run_ids:
                self._active.discard(run_id)
                self._contexts.pop(run_id, None)
                self._write_failures.pop(run_id, None)
            self._cond.notify_all()

    def _load(self, run_id: str) -> RunContext | None:
        ctx = self._contexts.get(run_id)
        if ctx is not None:
            return ctx
        row = self._log.run(run_id)
        if row is None or row.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        ctx = RunContext.load(
            row,
            payload=self._log.event_payload(row.event_id),
            steps=self._log.steps(run_id),
            spec_for=self._spec_for,
            secrets_for=self._secrets_for,
            env_secrets=self._env_secrets,
        )
        self._contexts[run_id] = ctx
        return ctx

    # Marketo writes -------------------------------------------------------------------------
    def _dispatch(self, sub: str, items: list[WorkItem]) -> None:
        try:
            gateway = self._gateway_for(sub)
        except Exception as exc:  # the credential went away since the item was queued
            self._answer(items, "", None, exc)
            return
        with self._cond:
            dispatcher = self._dispatchers.get(gateway.instance)
            if dispatcher is None:
                if self._closing.is_set():  # close() stops the dispatchers it saw: a new one
                    return  # would run on, past close (the items wait in the store)
                dispatcher = self._dispatchers[gateway.instance] = InstanceDispatcher(
                    gateway,
                    clock=self._clock,
                    on_mark=self._log.mark_sent,
                    on_answer=self._answer,
                    max_batch=self._max_batch,
                )
        dispatcher.add(items)

    def _answer(
        self,
        batch: list[WorkItem],
        batch_id: str,
        answers: list[Any] | None,
        error: BaseException | None,
    ) -> list[WorkItem]:
        """A batch came back (or failed as a whole): each run's step gets its own outcome,
        all in one transaction; returns the items to send again after their retry delay."""
        writes = Writes()
        again: list[WorkItem] = []
        ready: list[str] = []
        for pos, item in enumerate(batch):
            ctx = self._load(item.run_id)
            if ctx is None:
                writes.done_work.append(item.id)
                continue
            answer = None if answers is None else answers[pos]
            retry_at = self._steps.answered(ctx, item, batch_id, len(batch), answer, error, writes)
            if retry_at is not None:
                item.not_before = retry_at
                writes.retry_work.append(item)
                again.append(item)
                continue
            writes.done_work.append(item.id)
            ready.append(item.run_id)
        if isinstance(error, MarketoAuthError) and self._on_auth_error is not None and batch:
            for sub in {i.sub for i in batch}:
                self._on_auth_error(sub, error)
        try:
            refused = self._apply(writes)
        except Exception as exc:  # the answer is not recorded: the runs go again from the
            # store (their records are sent again: upserts and list changes are idempotent)
            with self._cond:
                held = [r for r in dict.fromkeys(i.run_id for i in batch) if r in self._active]
            if held:
                self._write_failed(held, exc)
            return []
        self._make_ready([r for r in ready if r not in refused])
        return [i for i in again if i.run_id not in refused]

    def _make_ready(self, run_ids: list[str]) -> None:
        if not run_ids:
            return
        with self._cond:
            waiting = set(self._ready)
            self._ready.extend(r for r in dict.fromkeys(run_ids) if r not in waiting)
            self._cond.notify_all()

    # retry timers for steps run on a worker ---------------------------------------------------
    def _schedule(self, due: float, run_id: str, step_id: str) -> None:
        with self._cond:
            self._timer_seq += 1
            heapq.heappush(self._timers, (due, self._timer_seq, run_id, step_id))
            self._cond.notify_all()
        self._timer_wake.set()

    def _timer_loop(self) -> None:
        while not self._closing.is_set():
            with self._cond:
                while not self._timers and not self._closing.is_set():
                    self._cond.wait()
                if self._closing.is_set():
                    return
                due = self._timers[0][0]
                self._timer_wake.clear()
            wait = due - self._clock.time()
            if wait > 0 and self._clock.wait(wait, self._timer_wake):
                continue  # an earlier timer arrived, or the engine is closing
            now = self._clock.time()
            fired = []
            with self._cond:
                while self._timers and self._timers[0][0] <= now:
                    _, _, run_id, step_id = heapq.heappop(self._timers)
                    ctx = self._contexts.get(run_id)
                    if ctx is not None:
                        ctx.waiting.discard(step_id)
                        fired.append(run_id)
            self._make_ready(fired)
