"""Event dispatch: turn an accepted App Event into queued runs, durably, then start them.

:meth:`Dispatcher.trigger` checks the payload is a JSON object (and, in a strict project,
that it matches the event's schema), finds the deployed workflows bound to that event which
the user enabled with a VALID credential, and writes the event together with one ``queued``
run per workflow in ONE transaction (shared with the events other threads are accepting at
that moment: a group commit) before returning the receipt: once the caller hears
"accepted" (HTTP 201), the event and its runs survive a crash and resume on the next open.
Each run snapshots the user's settings and metadata, so a replay or a resume sees what the
original run saw.

    receipt = dispatcher.trigger("user-1", "Lead Created", {"email": "a@x.com"}, strict=False)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import (
    BackpressureError,
    ConfigurationError,
    EventValidationError,
    RuntimeStateError,
)
from paragon_nb.runtime.api import EventReceipt
from paragon_nb.runtime.db import Row
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.events import validate_example, validate_payload
from paragon_nb.runtime.rows import AppEventRow
from paragon_nb.runtime.runlog import EventEntry, RunLog
from paragon_nb.runtime.store import ProjectStore, loads
from paragon_nb.runtime.users import ConnectedUsers
from paragon_nb.runtime.workflows import WorkflowSpec

__all__ = [
    "DEFAULT_MAX_QUEUED_RUNS",
    "IDEMPOTENCY_WINDOW",
    "Dispatcher",
    "check_idempotency_key",
]

#: unfinished runs a project holds before trigger_event answers BackpressureError (429)
DEFAULT_MAX_QUEUED_RUNS = 1_000_000
#: how long an Idempotency-Key is remembered (seconds): Stripe's 24 h
IDEMPOTENCY_WINDOW = 24 * 3600.0
MAX_KEY_LENGTH = 255


def check_idempotency_key(key: str | None) -> None:
    """RuntimeStateError for a key that is not a non-empty string of <= 255 characters."""
    if key is None:
        return
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise RuntimeStateError(
            f"idempotency key {str(key)[:40]!r} must be a non-empty string of at most "
            f"{MAX_KEY_LENGTH} characters (e.g. a UUID per event you send)"
        )


@dataclass(frozen=True)
class _Plan:
    event_def: AppEventRow | None
    runs: list[tuple[str, int, dict[str, Any]]]
    not_triggered: tuple[str, ...]


class _Pending:
    __slots__ = ("answer", "done", "entry", "error")

    def __init__(self, entry: EventEntry) -> None:
        self.entry = entry
        self.done = False
        self.answer: Any = None
        self.error: BaseException | None = None


class Dispatcher:
    """Creates runs for events and replays; the engine executes them."""

    def __init__(
        self,
        store: ProjectStore,
        users: ConnectedUsers,
        engine: Engine,
        *,
        clock: Clock,
        spec_for: Callable[[str, int], WorkflowSpec],
        max_queued_runs: int = DEFAULT_MAX_QUEUED_RUNS,
    ) -> None:
        if max_queued_runs < 1:
            raise ConfigurationError(f"max_queued_runs must be >= 1, got {max_queued_runs}")
        self._max_queued_runs = max_queued_runs
        self._bound_lock = threading.Lock()
        self._plans: dict[tuple[str, str], tuple[str, _Plan]] = {}
        self._runs = RunLog(store)
        self._group = threading.Condition()
        self._queued: list[_Pending] = []
        self._writing = False
        self._unfinished, self._counted_at = 0, -float("inf")
        self._store = store
        self._users = users
        self._engine = engine
        self._clock = clock
        self._spec_for = spec_for

    def trigger(
        self,
        sub: str,
        name: str,
        payload: Mapping[str, Any],
        *,
        strict: bool,
        idempotency_key: str | None = None,
    ) -> EventReceipt:
        """Persist the event and its runs, start the runs, return the receipt.

        Raises RuntimeStateError (no user id / name, payload not a JSON object, bad key),
        EventValidationError (strict project: unknown event or field errors) or
        BackpressureError (the queued-run bound is reached; nothing recorded). An event that
        starts no run is still accepted, as Paragon does; the receipt says why nothing ran.
        """
        if not isinstance(sub, str) or not sub:
            raise RuntimeStateError("trigger_event needs the user id (the token's sub)")
        if not isinstance(name, str) or not name:
            raise RuntimeStateError("trigger_event needs the App Event name")
        check_idempotency_key(idempotency_key)
        data = validate_example(payload, name=f"payload of event {name!r}")
        plan = self._plan(sub, name)
        if strict:
            self._validate(name, data, plan.event_def)
        now = self._clock.time()
        event_id = str(uuid.uuid4())
        runs = [
            {"id": str(uuid.uuid4()), "event_id": event_id, "workflow_id": wf_id,
             "version": version, "sub": sub, "context": context, "created": now}
            for wf_id, version, context in plan.runs
        ]  # fmt: skip
        not_triggered = plan.not_triggered
        if runs:
            self._check_bound(len(runs))
        receipt = EventReceipt(
            event_id=event_id,
            name=name,
            run_ids=tuple(r["id"] for r in runs),
            not_triggered=tuple(not_triggered),
        )
        idem = None
        if idempotency_key is not None:
            idem = (idempotency_key, receipt.to_dict(), now - IDEMPOTENCY_WINDOW)
        event = {"id": event_id, "sub": sub, "name": name, "payload": data, "received": now}
        try:
            earlier = self._commit(EventEntry(event, runs, idem))
        except BaseException:
            with self._bound_lock:
                self._unfinished -= len(runs)
            raise
        if earlier is not None:
            with self._bound_lock:
                self._unfinished -= len(runs)
            return EventReceipt.from_dict(earlier, repeated=True)
        self._engine.start_new(runs, data)
        return receipt

    def _plan(self, sub: str, name: str) -> _Plan:
        """What an event of ``name`` from ``sub`` starts, cached until configuration changes
        (in any process: the store's config_version)."""
        version = self._store.config_version()
        key = (sub, name)
        with self._bound_lock:
            cached = self._plans.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
        # (U) event names match exactly (case and spaces), as senders must "use the same string"
        event_def = self._store.app_event(name)
        runs, not_triggered = self._plan_runs(sub, name, event_def)
        plan = _Plan(event_def, runs, tuple(not_triggered))
        with self._bound_lock:
            if len(self._plans) > 10_000:
                self._plans.clear()
            self._plans[key] = (version, plan)
        return plan

    def _commit(self, entry: EventEntry) -> Any:
        """Group commit: concurrent callers' events go into one transaction. The first
        caller to find no write in progress writes everything queued so far; the others
        wait for it (each returns once its own event is durable)."""
        slot = _Pending(entry)
        with self._group:
            self._queued.append(slot)
            while not slot.done:
                if self._writing:
                    self._group.wait()
                    continue
                self._writing = True
                group, self._queued = self._queued, []
                break
            else:
                if slot.error is not None:
                    raise slot.error
                return slot.answer
        try:
            owner, lease_until = self._engine.new_run_holder()
            answers = self._runs.insert_events(
                [p.entry for p in group], owner=owner, lease_until=lease_until
            )
            for pending, answer in zip(group, answers, strict=True):
                pending.answer = answer
        except BaseException as exc:
            for pending in group:
                pending.error = exc
        with self._group:
            for pending in group:
                pending.done = True
            self._writing = False
            self._group.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.answer

    def _check_bound(self, adding: int) -> None:
        """BackpressureError when ``adding`` more runs would pass the bound. The count of
        unfinished runs is read from the store at most once a second (other processes add
        runs too) and kept up to date in between by this process's own inserts."""
        with self._bound_lock:
            now = time.monotonic()
            if now - self._counted_at >= 1.0:
                self._unfinished, self._counted_at = self._store.count_unfinished_runs(), now
            queued = self._unfinished
            if queued + adding <= self._max_queued_runs:
                self._unfinished += adding
                return
        # (U) one second is a guess at how long the runtime needs to make room
        raise BackpressureError(
            f"the project holds {queued} unfinished runs, its bound of "
            f"{self._max_queued_runs} (Project option max_queued_runs); nothing was "
            "recorded: send the event again after Retry-After seconds",
            retry_after=1.0,
        )

    def _plan_runs(
        self, sub: str, name: str, event_def: AppEventRow | None
    ) -> tuple[list[tuple[str, int, dict[str, Any]]], list[str]]:
        """(workflow id, version, settings snapshot) of each run the event starts, and one
        sentence per workflow on the event that did not run."""
        live = self._live_versions(name, event_def)
        runs: list[tuple[str, int, dict[str, Any]]] = []
        skipped: list[str] = []
        for wf_id, wf_name, version in live:
            why = self._users.why_not_runnable(sub, wf_id)
            if why is None:
                runs.append((wf_id, version, self._snapshot(wf_id, version, sub)))
            else:
                skipped.append(f"workflow {wf_name!r} {why}")
        deployed = {wf_id for wf_id, _, _ in live}
        for row in self._store.workflow_rows():
            on_event = (row.draft.get("trigger") or {}).get("app_event") == name
            if on_event and row.id not in deployed and row.deployed_version is None:
                skipped.append(f"workflow {row.name!r} is not deployed")
        if not live and not skipped:
            skipped.append(f"no deployed workflow is triggered by {name!r}")
        return runs, skipped

    def start_workflow(
        self, sub: str, wf_id: str, version: int, payload: dict[str, Any], *, name: str
    ) -> str:
        """One run of one workflow for ``sub`` from a non-App-Event trigger (Request,
        Scheduler, Integration Enabled, Lead Added to List; runtime.triggers): its trigger
        data is stored as an event named ``name`` and the run is durable before this returns
        its id."""
        self._check_bound(1)
        now = self._clock.time()
        event_id = str(uuid.uuid4())
        run = {"id": str(uuid.uuid4()), "event_id": event_id, "workflow_id": wf_id,
               "version": version, "sub": sub, "context": self._snapshot(wf_id, version, sub),
               "created": now}  # fmt: skip
        event = {"id": event_id, "sub": sub, "name": name, "payload": payload, "received": now}
        try:
            self._commit(EventEntry(event, [run]))
        except BaseException:
            with self._bound_lock:
                self._unfinished -= 1
            raise
        self._engine.start_new([run], payload)
        return str(run["id"])

    def replay(self, row: Row, *, version: int) -> str:
        """A new run of ``row``'s event and settings snapshot on ``version``; returns its id."""
        new = {
            "id": str(uuid.uuid4()),
            "event_id": row["event_id"],
            "workflow_id": row["workflow_id"],
            "version": version,
            "sub": row["sub"],
            "context": loads(row["context"]),
            "created": self._clock.time(),
            "replay_of": row["id"],
        }
        owner, lease_until = self._engine.new_run_holder()
        self._runs.insert_runs([new], owner=owner, lease_until=lease_until)
        self._engine.submit([new["id"]])
        return new["id"]

    @staticmethod
    def _validate(name: str, data: dict[str, Any], event_def: AppEventRow | None) -> None:
        if event_def is None:
            # (U) a strict project refuses events it has no schema for (422)
            raise EventValidationError(
                f"App Event {name!r} is not defined and the project is strict",
                errors=[{"field": "name", "message": f"unknown App Event {name!r}"}],
            )
        errors = validate_payload(data, event_def.schema)
        if errors:
            raise EventValidationError(
                f"payload of App Event {name!r} does not match its schema: "
                + "; ".join(f"{e['field'] or '(root)'}: {e['message']}" for e in errors),
                errors=errors,
            )

    def _live_versions(
        self, name: str, event_def: AppEventRow | None
    ) -> list[tuple[str, str, int]]:
        """(workflow id, name, deployed version) of every live workflow bound to this event."""
        rows = self._store.all(
            "SELECT w.id, w.name, w.deployed_version, v.event_id, v.event_name FROM workflows w "
            "JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.deployed_version"
        )
        out = []
        for r in rows:
            # versions are bound to the App Event's id at deploy, so a rename keeps them live
            bound = event_def is not None and r["event_id"] == event_def.id
            if bound or (r["event_id"] is None and r["event_name"] == name):
                out.append((r["id"], r["name"], int(r["deployed_version"])))
        return out

    def _snapshot(self, wf_id: str, version: int, sub: str) -> dict[str, Any]:
        """The settings and user metadata a run sees (kept with the run for replays)."""
        spec = self._spec_for(wf_id, version)
        user = self._store.user_row(sub)
        return {
            "settings": self._users.effective_settings(sub, wf_id, spec),
            "user": {"id": sub, "meta": loads(user["meta"]) if user is not None else {}},
        }
