"""Event dispatch: turn an accepted App Event into queued runs, durably, then start them.

:meth:`Dispatcher.trigger` checks the payload is a JSON object (and, in a strict project,
that it matches the event's schema), finds the deployed workflows bound to that event which
the user enabled with a VALID credential, and writes the event together with one ``queued``
run per workflow in ONE transaction before returning the event id: once the caller hears
"accepted" (HTTP 201), the event and its runs survive a crash and resume on the next open.
Each run snapshots the user's settings and metadata, so a replay or a resume sees what the
original run saw.

    event_id = dispatcher.trigger("user-1", "Lead Created", {"email": "a@x.com"}, strict=False)
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import EventValidationError, RuntimeStateError
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.events import validate_example, validate_payload
from paragon_nb.runtime.store import ProjectStore, loads
from paragon_nb.runtime.users import ConnectedUsers
from paragon_nb.runtime.workflows import WorkflowSpec

__all__ = ["Dispatcher"]


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
    ) -> None:
        self._store = store
        self._users = users
        self._engine = engine
        self._clock = clock
        self._spec_for = spec_for

    def trigger(self, sub: str, name: str, payload: Mapping[str, Any], *, strict: bool) -> str:
        """Persist the event and its runs, start the runs, return the event id.

        Raises RuntimeStateError (no user id / name, payload not a JSON object) or
        EventValidationError (strict project: unknown event or field errors). An event that
        starts no run is still accepted, as Paragon does.
        """
        if not isinstance(sub, str) or not sub:
            raise RuntimeStateError("trigger_event needs the user id (the token's sub)")
        if not isinstance(name, str) or not name:
            raise RuntimeStateError("trigger_event needs the App Event name")
        data = validate_example(payload, name=f"payload of event {name!r}")
        # (U) event names match exactly (case and spaces), as senders must "use the same string"
        event_def = self._store.app_event(name)
        if strict:
            self._validate(name, data, event_def)
        now = self._clock.time()
        event_id = str(uuid.uuid4())
        runs = [
            self._new_run(event_id, wf_id, version, sub, now)
            for wf_id, version in self._live_versions(name, event_def)
            if self._users.is_runnable(sub, wf_id)
        ]
        self._store.insert_event_with_runs(
            event={"id": event_id, "sub": sub, "name": name, "payload": data, "received": now},
            runs=runs,
        )
        self._engine.submit(r["id"] for r in runs)
        return event_id

    def replay(self, row: sqlite3.Row, *, version: int) -> str:
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
        self._store.insert_runs([new])
        self._engine.submit([new["id"]])
        return new["id"]

    @staticmethod
    def _validate(name: str, data: dict[str, Any], event_def: sqlite3.Row | None) -> None:
        if event_def is None:
            # (U) a strict project refuses events it has no schema for (422)
            raise EventValidationError(
                f"App Event {name!r} is not defined and the project is strict",
                errors=[{"field": "name", "message": f"unknown App Event {name!r}"}],
            )
        errors = validate_payload(data, loads(event_def["schema"]))
        if errors:
            raise EventValidationError(
                f"payload of App Event {name!r} does not match its schema: "
                + "; ".join(f"{e['field'] or '(root)'}: {e['message']}" for e in errors),
                errors=errors,
            )

    def _live_versions(self, name: str, event_def: sqlite3.Row | None) -> list[tuple[str, int]]:
        """(workflow id, deployed version) of every live workflow bound to this event."""
        rows = self._store.all(
            "SELECT w.id, w.deployed_version, v.event_id, v.event_name FROM workflows w "
            "JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.deployed_version"
        )
        out = []
        for r in rows:
            # versions are bound to the App Event's id at deploy, so a rename keeps them live
            bound = event_def is not None and r["event_id"] == event_def["id"]
            if bound or (r["event_id"] is None and r["event_name"] == name):
                out.append((r["id"], int(r["deployed_version"])))
        return out

    def _new_run(
        self, event_id: str, wf_id: str, version: int, sub: str, now: float
    ) -> dict[str, Any]:
        spec = self._spec_for(wf_id, version)
        user = self._store.user_row(sub)
        context = {
            "settings": self._users.effective_settings(sub, wf_id, spec),
            "user": {"id": sub, "meta": loads(user["meta"]) if user is not None else {}},
        }
        return {
            "id": str(uuid.uuid4()),
            "event_id": event_id,
            "workflow_id": wf_id,
            "version": version,
            "sub": sub,
            "context": context,
            "created": now,
        }
