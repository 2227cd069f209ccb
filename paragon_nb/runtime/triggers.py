"""Triggers other than App Events: Request, Scheduler, Integration Enabled and Marketo's
"Lead Added to a List" (reference §5.1). Each turns into runs the same way App Events do
(:meth:`Dispatcher.start_workflow`: trigger data stored as an event, one durable run).

- **Request**: :meth:`Triggers.request` (``POST /projects/{id}/sdk/triggers/{workflowId}``)
  starts a run for the token's user and answers with the Response step's status and body,
  or 202 when the workflow has no Response step.
- The others are *timer sources* (runtime.timers calls :meth:`Triggers.tick` with the
  clock's time): a Scheduler fires once per enabled user when due (ticks missed while the
  project was closed fire once, not once each); Integration Enabled fires once per
  credential, when the user is connected with a VALID credential and every required
  setting of the workflow is filled; Lead Added to List polls the user's list every
  ``poll_seconds`` (default 60: Paragon's once a minute per account) through the user's
  Marketo client (so through the instance's limiter and budget) and starts one run per
  lead that was not in the list at the last poll (the first poll only takes a baseline).

Each (workflow, user) keeps its cursor in ``trigger_state`` (next fire time, credential
seen, list members seen), so all of this survives a restart.

    answer = triggers.request("user-1", "wf-id", body={...}, query={}, headers={})
    answer.status, answer.body, answer.run_id
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import EventValidationError, NotFoundError, RuntimeStateError
from paragon_nb.runtime.api import MARKETO, RunStatus
from paragon_nb.runtime.dispatch import Dispatcher
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.events import infer_schema, validate_example, validate_payload
from paragon_nb.runtime.schedule import next_fire, zone
from paragon_nb.runtime.store import ProjectStore, dumps, loads
from paragon_nb.runtime.templating import render
from paragon_nb.runtime.trigger_data import EVENT_NAMES
from paragon_nb.runtime.users import ConnectedUsers
from paragon_nb.runtime.workflows import WorkflowSpec, iter_steps

__all__ = ["RESPONSE_TIMEOUT", "RequestAnswer", "Triggers"]

log = logging.getLogger(__name__)

#: how long a Request trigger waits for the Response step (real seconds). (U) Paragon's
#: synchronous limit is not documented; past it the caller gets 202 and the run goes on.
RESPONSE_TIMEOUT = 30.0


@dataclass(frozen=True)
class RequestAnswer:
    """What ``POST .../sdk/triggers/{workflowId}`` answers: ``status`` and JSON ``body``."""

    status: int
    body: Any
    run_id: str
    headers: Mapping[str, str] | None = None


class Triggers:
    """Starts runs from Request calls and from due schedules, enablements and list polls."""

    def __init__(
        self,
        store: ProjectStore,
        users: ConnectedUsers,
        dispatcher: Dispatcher,
        engine: Engine,
        *,
        clock: Clock,
        spec_for: Callable[[str, int], WorkflowSpec],
    ) -> None:
        self._store = store
        self._users = users
        self._dispatch = dispatcher
        self._engine = engine
        self._clock = clock
        self._spec_for = spec_for

    # Request trigger ------------------------------------------------------------------------
    def request(
        self,
        sub: str,
        workflow_id: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        timeout: float = RESPONSE_TIMEOUT,
    ) -> RequestAnswer:
        """Start the Request-triggered workflow ``workflow_id`` (id or name) for ``sub``.
        NotFoundError (no such deployed Request workflow), RuntimeStateError (the user has
        not enabled it with a VALID credential), EventValidationError (validated body)."""
        wf_id, version, spec = self._live(workflow_id, "request")
        why = self._users.why_not_runnable(sub, wf_id)
        if why is not None:
            raise RuntimeStateError(f"workflow {spec.name!r} {why}")
        data = validate_example(body if body is not None else {}, name="the request body")
        trigger = spec.trigger.request
        assert trigger is not None
        if trigger.validate_body:
            errors = validate_payload(data, infer_schema(trigger.example))
            if errors:
                raise EventValidationError(
                    f"the request body does not match workflow {spec.name!r}'s example: "
                    + "; ".join(f"{e['field'] or '(root)'}: {e['message']}" for e in errors),
                    errors=errors,
                )
        payload = {
            "body": data,
            "query": {str(k): v for k, v in (query or {}).items()},
            "headers": {str(k).lower(): str(v) for k, v in (headers or {}).items()},
        }
        run_id = self._dispatch.start_workflow(sub, wf_id, version, payload, name="Request")
        if not any(s.action == "response" for s in iter_steps(spec.steps)):
            return RequestAnswer(202, {"executionId": run_id}, run_id)  # (U) Paragon's body
        output = self._engine.wait_response(run_id, timeout)
        if output is not None:
            return RequestAnswer(
                int(output.get("statusCode", 200)), output.get("body"), run_id,
                output.get("headers") or None,
            )  # fmt: skip
        row = self._store.run_row(run_id)
        if row is not None and row["status"] == RunStatus.FAILED:
            # (U) a run that fails before its Response step: 500 with the run's error
            return RequestAnswer(500, {"message": row["error"], "executionId": run_id}, run_id)
        return RequestAnswer(202, {"executionId": run_id}, run_id)

    def _live(self, workflow: str, kind: str) -> tuple[str, int, WorkflowSpec]:
        for wf_id, version, spec in self._live_of(kind):
            if workflow in (wf_id, spec.name):
                return wf_id, version, spec
        raise NotFoundError(
            f"no deployed workflow {workflow!r} with a {kind} trigger; deployed: "
            + (", ".join(repr(s.name) for _, _, s in self._live_of(kind)) or "none")
        )

    def _live_of(self, kind: str) -> Iterator[tuple[str, int, WorkflowSpec]]:
        for row in self._store.workflow_rows():
            if row.deployed_version is None:
                continue
            spec = self._spec_for(row.id, row.deployed_version)
            if spec.trigger.kind == kind:
                yield row.id, int(row.deployed_version), spec

    # timer sources ----------------------------------------------------------------------------
    def tick(self, now: float) -> dict[str, int]:
        """Fire what is due at ``now``; counts of runs started per trigger kind."""
        counts = {"scheduled": 0, "enabled": 0, "polled": 0, "lead_added": 0}
        for kind, users, act in (
            ("schedule", self._enabled_users, self._schedule),
            ("integration_enabled", lambda _wf: self._connected_users(), self._integration_enabled),
            ("lead_added_to_list", self._enabled_users, self._poll),
        ):
            for wf_id, version, spec in self._live_of(kind):
                for sub in users(wf_id):
                    try:
                        for name, n in act(wf_id, version, spec, sub, now).items():
                            counts[name] += n
                    except Exception:  # one user's failure (Marketo down...) spares the rest
                        log.exception("%s trigger of %r for user %r failed; retried next tick",
                                      kind, spec.name, sub)  # fmt: skip
        return counts

    def _enabled_users(self, wf_id: str) -> list[str]:
        rows = self._store.all(
            "SELECT sub FROM workflow_settings WHERE workflow_id = ? AND enabled = 1 ORDER BY sub",
            wf_id,
        )
        return [r["sub"] for r in rows if self._users.why_not_runnable(r["sub"], wf_id) is None]

    def _connected_users(self) -> list[str]:
        rows = self._store.all(
            "SELECT sub FROM credentials WHERE integration = ? AND status = 'VALID' ORDER BY sub",
            MARKETO,
        )
        return [r["sub"] for r in rows]

    def _state(self, wf_id: str, sub: str) -> dict[str, Any] | None:
        row = self._store.one(
            "SELECT state FROM trigger_state WHERE workflow_id = ? AND sub = ?", wf_id, sub
        )
        return None if row is None else loads(row["state"])

    def _save(
        self, wf_id: str, sub: str, state: dict[str, Any], *, was: dict[str, Any] | None = None
    ) -> bool:
        """Store the cursor; with ``was``, only if it is still ``was`` (compare-and-set:
        several processes tick one project and exactly one of them fires). True if saved."""
        with self._store.run_tx() as c:
            if was is None:
                c.execute(
                    "INSERT INTO trigger_state(workflow_id, sub, state, updated) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (workflow_id, sub) DO UPDATE SET "
                    "state = excluded.state, updated = excluded.updated",
                    (wf_id, sub, dumps(state), self._clock.time()),
                )
                return True
            cur = c.execute(
                "UPDATE trigger_state SET state = ?, updated = ? "
                "WHERE workflow_id = ? AND sub = ? AND state = ?",
                (dumps(state), self._clock.time(), wf_id, sub, dumps(was)),
            )
            return bool(cur.rowcount)

    def _user_zone(self, spec: WorkflowSpec, sub: str) -> str:
        trigger = spec.trigger.schedule
        assert trigger is not None
        user = self._store.user_row(sub)
        meta = loads(user["meta"]) if user is not None else {}
        name = (meta or {}).get(trigger.timezone_meta)
        if isinstance(name, str) and name:
            try:
                zone(name)
                return name
            except ValueError:
                log.warning("user %r: time zone %r in metadata is unknown; using %s",
                            sub, name, trigger.timezone)  # fmt: skip
        return trigger.timezone

    def _schedule(
        self, wf_id: str, version: int, spec: WorkflowSpec, sub: str, now: float
    ) -> dict[str, int]:
        trigger = spec.trigger.schedule
        assert trigger is not None
        tz = self._user_zone(spec, sub)
        state = self._state(wf_id, sub)
        if state is None or state.get("tz") != tz or state.get("version") != version:
            anchor = now if state is None else float(state["anchor"])
            due = next_fire(trigger, after=now, anchor=anchor, tz=tz)
            self._save(wf_id, sub, {"anchor": anchor, "next": due, "tz": tz, "version": version})
            return {}
        due = float(state["next"])
        if now < due:
            return {}
        # fire once for however many ticks were missed, then the first time after now
        upcoming = next_fire(trigger, after=now, anchor=float(state["anchor"]), tz=tz)
        zone_info = zone(tz)
        payload = {
            "scheduled_at": datetime.fromtimestamp(due, zone_info).isoformat(),
            "fired_at": datetime.fromtimestamp(now, zone_info).isoformat(),
            "timezone": tz,
        }
        # the cursor first (compare-and-set: one process fires), then the run. (U) a crash
        # between the two loses this one tick; the next one fires as planned
        if not self._save(wf_id, sub, {**state, "next": upcoming}, was=state):
            return {}
        self._dispatch.start_workflow(sub, wf_id, version, payload, name=EVENT_NAMES["schedule"])
        return {"scheduled": 1}

    def _integration_enabled(
        self, wf_id: str, version: int, spec: WorkflowSpec, sub: str, _now: float
    ) -> dict[str, int]:
        cred = self._store.credential(sub, MARKETO)
        if cred is None:
            return {}
        state = self._state(wf_id, sub)
        if state is not None and state.get("credential_id") == cred.id:
            return {}  # fired for this connection already
        settings = self._users.effective_settings(sub, wf_id, spec)
        if any(s.required and settings.get(s.id) in (None, "") for s in spec.user_settings):
            return {}  # "has filled all required settings": not yet
        if state is None:
            self._save(wf_id, sub, {})
            state = {}
        if not self._save(wf_id, sub, {"credential_id": cred.id}, was=state):
            return {}  # another process fired it
        payload = {"integration": MARKETO, "credential_id": cred.id}
        self._dispatch.start_workflow(
            sub, wf_id, version, payload, name=EVENT_NAMES["integration_enabled"]
        )
        return {"enabled": 1}

    def _poll(
        self, wf_id: str, version: int, spec: WorkflowSpec, sub: str, now: float
    ) -> dict[str, int]:
        trigger = spec.trigger.lead_added_to_list
        assert trigger is not None
        state = self._state(wf_id, sub)
        if state is None:
            self._save(wf_id, sub, {})
            state = {}
        if now < float(state.get("next", 0.0)):
            return {}
        claimed = {**state, "next": now + trigger.poll_seconds}
        if not self._save(wf_id, sub, claimed, was=state):
            return {}  # another process polls this one
        state = claimed
        settings = self._users.effective_settings(sub, wf_id, spec)
        try:
            list_id = int(render(trigger.list_id, {"settings": settings, "user": {"id": sub}}))
        except Exception as exc:  # no list chosen yet: try again at the next poll
            log.info("workflow %r, user %r: no list to poll (%s)", spec.name, sub, exc)
            self._save(wf_id, sub, {**state, "next": now + trigger.poll_seconds})
            return {}
        gateway = self._users.gateway_for(sub)
        members = gateway.list_members(list_id)  # through the instance's limiter
        seen = set(state.get("seen", [])) if state.get("list_id") == list_id else None
        fresh = [] if seen is None else [m for m in members if int(m["id"]) not in seen]
        for lead in fresh:  # runs first, cursor after: a crash repeats leads, never loses one
            self._dispatch.start_workflow(
                sub, wf_id, version, {"list_id": list_id, "lead": lead},
                name=EVENT_NAMES["lead_added_to_list"],
            )  # fmt: skip
        self._save(wf_id, sub, {"list_id": list_id, "next": now + trigger.poll_seconds,
                                "seen": sorted(int(m["id"]) for m in members)})  # fmt: skip
        return {"polled": 1, "lead_added": len(fresh)}
