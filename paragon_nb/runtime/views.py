"""Read-side views of a project: runs, users and the Marketo queue as pandas DataFrames, a
run's details, a user's SDK-shaped state and the event log as plain dicts. pandas is
imported inside the functions that need it.

    runs_frame(store)          # one row per run
    run_detail(store, row)     # one run with its event and step records (with batch_id:
                               # the Marketo call a step went out in, None when sent alone)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paragon_nb.runtime.api import MARKETO, CredentialStatus, InstanceQueue
from paragon_nb.runtime.db import Row
from paragon_nb.runtime.runlog import RunLog
from paragon_nb.runtime.store import ProjectStore, loads
from paragon_nb.runtime.tasks import task_count

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["events_list", "queue_frame", "run_detail", "runs_frame", "user_state", "users_frame"]


def user_state(store: ProjectStore, sub: str) -> dict[str, Any]:
    """The SDK's ConnectUser shape (reference §2.4) for ``sub``: authenticated, userId, meta,
    integrations.marketo (enabled, credential id/status/config, workflowSettings)."""
    user = store.user_row(sub)
    meta = loads(user["meta"]) if user is not None else {}
    cred = store.credential(sub, MARKETO)
    workflow_settings = {
        r["workflow_id"]: {"enabled": bool(r["enabled"]), "settings": loads(r["settings"])}
        for r in store.workflow_settings(sub)
    }
    shared = store.one(
        "SELECT settings FROM shared_settings WHERE sub = ? AND integration = ?", sub, MARKETO
    )
    marketo: dict[str, Any] = {
        "enabled": cred is not None and cred.status == CredentialStatus.VALID,
        "sharedSettings": (loads(shared["settings"]) or {}) if shared is not None else {},
        "workflowSettings": workflow_settings,
        "configuredWorkflows": workflow_settings,  # deprecated alias the docs still use
    }
    if cred is not None:
        marketo.update(
            credentialId=cred.id,
            credentialStatus=cred.status,
            config={"endpoint": cred.endpoint, "client_id": cred.client_id,
                    "identity": cred.identity},
        )  # fmt: skip
        if cred.error:
            marketo["credentialError"] = cred.error
    return {
        "authenticated": True,
        "userId": sub,
        "meta": meta,
        "integrations": {MARKETO: marketo},
    }


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


def run_detail(store: ProjectStore, r: Row) -> dict[str, Any]:
    """Details of one run, with its event and every step record."""
    event = store.event_row(r["event_id"])
    wf = store.workflow_row(r["workflow_id"])
    steps = [
        {
            "step_id": s.step_id,
            "action": s.action,
            "status": s.status,
            "input": s.input,
            "output": s.output,
            "error": s.error,
            "attempts": s.attempts,
            "started": s.started,
            "ended": s.finished,
            "finished": s.finished,
            "duration": (s.finished - s.started) if s.finished and s.started else None,
            "batch_id": s.batch_id,
            "batch_size": s.batch_size,
        }
        for s in RunLog(store).steps(r["id"])
    ]
    return {
        "run_id": r["id"],
        "workflow": wf.name if wf is not None else None,
        "workflow_id": r["workflow_id"],
        "version": r["version"],
        "user": r["sub"],
        "status": r["status"],
        "error": r["error"],
        "created": r["created"],
        "started": r["started"],
        "ended": r["ended"],
        "duration": (r["ended"] - r["started"]) if r["ended"] and r["started"] else None,
        "replay_of": r["replay_of"],
        "task_count": task_count(steps),  # as Paragon counts (runtime.tasks)
        "not_before": r["not_before"],  # a waiting run's resume time (a Delay)
        "event": {
            "id": event["id"],
            "name": event["name"],
            "payload": loads(event["payload"]),
            "received": event["received"],
        }
        if event is not None
        else None,
        "steps": steps,
    }


def events_list(store: ProjectStore) -> list[dict[str, Any]]:
    """Every accepted event: id, user, name, payload, received, run_count (oldest first)."""
    return [
        {
            "id": e["id"],
            "user": e["sub"],
            "name": e["name"],
            "payload": loads(e["payload"]),
            "received": e["received"],
            "run_count": e["run_count"],
        }
        for e in store.event_rows()
    ]
