"""Read-side views of a project: runs, users and the Marketo queue as pandas DataFrames; a
run's details, a user's state and the event log as the typed values of
:mod:`~paragon_nb.runtime.api`. pandas is imported inside the functions that need it.

    runs_frame(store)          # one row per run
    run_detail(store, row)     # a RunRecord: one run with its event and step records
                               # (batch_id: the Marketo call a step went out in)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paragon_nb.runtime.api import (
    MARKETO,
    Connection,
    CredentialStatus,
    EventRecord,
    InstanceQueue,
    RunRecord,
    RunStatus,
    UserState,
    WorkflowSettings,
)
from paragon_nb.runtime.db import Row
from paragon_nb.runtime.runlog import RunLog
from paragon_nb.runtime.store import ProjectStore, loads
from paragon_nb.runtime.tasks import task_count

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "event_record",
    "events_list",
    "queue_frame",
    "run_detail",
    "runs_frame",
    "user_state",
    "users_frame",
]


def user_state(store: ProjectStore, sub: str) -> UserState:
    """The :class:`~paragon_nb.runtime.api.UserState` of ``sub``: meta, Marketo connection,
    workflow and integration-level settings (an unknown user: nothing connected)."""
    user = store.user_row(sub)
    cred = store.credential(sub, MARKETO)
    shared = store.one(
        "SELECT settings FROM shared_settings WHERE sub = ? AND integration = ?", sub, MARKETO
    )
    connection = None
    if cred is not None:
        connection = Connection(
            credential_id=cred.id, status=CredentialStatus(cred.status), endpoint=cred.endpoint,
            client_id=cred.client_id, identity=cred.identity, error=cred.error or None,
        )  # fmt: skip
    return UserState(
        user_id=sub,
        meta=(loads(user["meta"]) or {}) if user is not None else {},
        connection=connection,
        workflows={
            r["workflow_id"]: WorkflowSettings(bool(r["enabled"]), loads(r["settings"]) or {})
            for r in store.workflow_settings(sub)
        },
        shared_settings=(loads(shared["settings"]) or {}) if shared is not None else {},
    )


def queue_frame(queues: list[InstanceQueue]) -> pd.DataFrame:
    """One row per Marketo instance: instance, queued, in_flight_calls, calls, records,
    records_per_call, limiter."""
    import pandas as pd

    rows = [
        {
            "instance": q.instance,
            "queued": q.queued,
            "in_flight_calls": q.in_flight_calls,
            "calls": q.calls,
            "records": q.records,
            "records_per_call": round(q.records_per_call, 2),
            "limiter": q.limiter,
        }
        for q in queues
    ]
    columns = ["instance", "queued", "in_flight_calls", "calls", "records"]
    return pd.DataFrame(rows, columns=[*columns, "records_per_call", "limiter"])


def users_frame(store: ProjectStore) -> pd.DataFrame:
    """Connected users: user, marketo status, credential id, endpoint, enabled workflows,
    meta, created."""
    import pandas as pd

    names = {r.id: r.name for r in store.workflow_rows()}
    rows = []
    for user in store.user_rows():
        cred = store.credential(user["sub"], MARKETO)
        enabled = [
            names.get(r["workflow_id"], r["workflow_id"])
            for r in store.workflow_settings(user["sub"])
            if r["enabled"]
        ]
        rows.append(
            {
                "user": user["sub"],
                "marketo": cred.status if cred is not None else None,
                "credential_id": cred.id if cred is not None else None,
                "endpoint": cred.endpoint if cred is not None else None,
                "enabled_workflows": enabled,
                "meta": loads(user["meta"]),
                "created": pd.to_datetime(user["created"], unit="s", utc=True),
            }
        )
    columns = [
        "user",
        "marketo",
        "credential_id",
        "endpoint",
        "enabled_workflows",
        "meta",
        "created",
    ]
    return pd.DataFrame(rows, columns=columns)


def runs_frame(store: ProjectStore) -> pd.DataFrame:
    """One row per run: run_id, workflow, version, user, event, status, started,
    duration (s), error, event_id, replay_of."""
    import pandas as pd

    names = {r.id: r.name for r in store.workflow_rows()}
    events = {r["id"]: r["name"] for r in store.all("SELECT id, name FROM events")}
    rows = []
    for r in store.run_rows():
        started = r["started"]
        rows.append(
            {
                "run_id": r["id"],
                "workflow": names.get(r["workflow_id"], r["workflow_id"]),
                "version": r["version"],
                "user": r["sub"],
                "event": events.get(r["event_id"]),
                "status": r["status"],
                "started": pd.to_datetime(started, unit="s", utc=True) if started else pd.NaT,
                "duration": (r["ended"] - started) if r["ended"] and started else None,
                "error": r["error"],
                "event_id": r["event_id"],
                "replay_of": r["replay_of"],
            }
        )
    columns = [
        "run_id",
        "workflow",
        "version",
        "user",
        "event",
        "status",
        "started",
        "duration",
        "error",
        "event_id",
        "replay_of",
    ]
    return pd.DataFrame(rows, columns=columns)


def event_record(e: Row) -> EventRecord:
    """An ``events`` row as the :class:`~paragon_nb.runtime.api.EventRecord` callers see."""
    return EventRecord(
        id=e["id"], name=e["name"], user=e["sub"], payload=loads(e["payload"]),
        received=e["received"], run_count=int(e["run_count"] or 0),
    )  # fmt: skip


def run_detail(store: ProjectStore, r: Row) -> RunRecord:
    """One run with its event and every step record."""
    event = store.event_row(r["event_id"]) if r["event_id"] else None
    wf = store.workflow_row(r["workflow_id"])
    steps = tuple(RunLog(store).steps(r["id"]))
    return RunRecord(
        run_id=r["id"],
        workflow=wf.name if wf is not None else None,
        workflow_id=r["workflow_id"],
        version=r["version"],
        user=r["sub"],
        status=RunStatus(r["status"]),
        error=r["error"],
        created=r["created"],
        started=r["started"],
        ended=r["ended"],
        replay_of=r["replay_of"],
        not_before=r["not_before"],
        task_count=task_count(steps),
        event=event_record(event) if event is not None else None,
        steps=steps,
    )


def events_list(store: ProjectStore) -> list[EventRecord]:
    """Every accepted event, oldest first."""
    return [event_record(e) for e in store.event_rows()]
