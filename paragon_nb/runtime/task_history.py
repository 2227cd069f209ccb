"""Task History: a project's workflow executions in the shape of Paragon's Task History API.

Paragon (reference paragon-platform.md §3, §5.6) serves, to a **project API key** only::

    GET  /projects/{id}/task-history/workflow-executions      ?userId workflowId status
         beforeDate afterDate integration offset              pages of 100: data, total, nextLink
    GET  .../workflow-executions/{executionId}                one execution with stepExecutions
    GET  .../{executionId}/step-executions                    its step executions
    GET  .../{executionId}/step-executions/{stepExecutionId}  one, with its (masked) input/output
    POST .../{executionId}/replay                             201 {"executionId": <new run>}

An execution is a run. Statuses map to Paragon's ``EXECUTING | FAILED | SUCCEEDED | DELAYED``:
a run that waits for a resume time (a rate-limited Marketo write retried later, a Delay) is
DELAYED with ``resumeAt``; other unfinished runs are EXECUTING (Paragon shows retrying steps
as Running). Step records are stored masked, so nothing here can show a secret.

    history = TaskHistory(store, clock=clock)
    page = history.executions(ExecutionFilter(user_id="user-1"), offset=0)
    page["total"], page["data"][0]["status"]

# (U) Paragon documents the parameters and the record fields, not the exact page envelope or
# the date format: we answer ``{"data": [...], "total": n, "nextLink": <path> | null}`` with
# ISO-8601 UTC dates, and take ISO-8601 dates or epoch milliseconds as filters.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from paragon_nb._clock import Clock
from paragon_nb.errors import BackpressureError, NotFoundError, RuntimeStateError, did_you_mean
from paragon_nb.runtime.api import MARKETO, RunStatus, StepStatus
from paragon_nb.runtime.store import loads
from paragon_nb.runtime.tasks import counts_as_task

__all__ = ["PAGE_SIZE", "ExecutionFilter", "ExecutionStatus", "TaskHistory", "parse_date"]

PAGE_SIZE = 100
#: Paragon's Task History API limit: 1,000 requests per 10 minutes (reference §9)
RATE_LIMIT, RATE_WINDOW = 1000, 600.0


class ExecutionStatus(StrEnum):
    """Paragon's execution statuses (Task History API)."""

    EXECUTING = "EXECUTING"
    FAILED = "FAILED"
    SUCCEEDED = "SUCCEEDED"
    DELAYED = "DELAYED"


# When an unfinished run will go on: its own resume time (runs.not_before: a Delay, a run
# held back) or else the earliest of its Marketo writes waiting for a retry time (606...).
_WORK_RESUME = "(SELECT MIN(w.not_before) FROM marketo_work w WHERE w.run_id = runs.id)"
_RESUME_AT = (
    f"(CASE WHEN COALESCE(runs.not_before, 0) > 0 THEN runs.not_before ELSE {_WORK_RESUME} END)"
)
_COLUMNS = (
    f"runs.*, {_RESUME_AT} AS resume_at, "
    "(SELECT LENGTH(e.payload) FROM events e WHERE e.id = runs.event_id) AS event_size"
)
_FINISHED = (RunStatus.SUCCEEDED.value, RunStatus.FAILED.value)


def parse_date(value: str, *, name: str) -> float:
    """Epoch seconds of an ISO-8601 date/time (UTC unless it says otherwise) or of epoch
    milliseconds; RuntimeStateError naming the parameter otherwise."""
    text = value.strip()
    try:
        if text.isdigit():
            return int(text) / 1000.0
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RuntimeStateError(
            f"{name}={value!r} is not a date; use ISO 8601 (2026-01-31 or "
            "2026-01-31T12:00:00Z) or epoch milliseconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ExecutionFilter:
    """What to list. Dates are epoch seconds: ``after`` <= created < ``before``."""

    user_id: str | None = None
    workflow_id: str | None = None
    statuses: tuple[ExecutionStatus, ...] = ()
    before: float | None = None
    after: float | None = None
    integration: str | None = None

    @classmethod
    def from_query(cls, query: dict[str, str]) -> ExecutionFilter:
        """From the API's query parameters (RuntimeStateError naming a bad one)."""
        statuses = []
        for word in filter(None, (query.get("status") or "").split(",")):
            try:
                statuses.append(ExecutionStatus(word.strip().upper()))
            except ValueError:
                known = [s.value for s in ExecutionStatus]
                raise RuntimeStateError(
                    f"status={word!r} is not an execution status; use one of "
                    f"{', '.join(known)}" + did_you_mean(word.strip().upper(), known)
                ) from None
        return cls(
            user_id=query.get("userId") or None,
            workflow_id=query.get("workflowId") or None,
            statuses=tuple(statuses),
            before=parse_date(query["beforeDate"], name="beforeDate")
            if query.get("beforeDate")
            else None,
            after=parse_date(query["afterDate"], name="afterDate")
            if query.get("afterDate")
            else None,
            integration=query.get("integration") or None,
        )


class TaskHistory:
    """Reads executions and step executions from a project store. ``admit()`` enforces the
    API's rate limit (``limit`` requests per ``window`` seconds, sliding, on the injected
    clock; per process: # (U) Paragon does not say whether its limit is per key or project)."""

    def __init__(
        self, store: Any, *, clock: Clock, limit: int = RATE_LIMIT, window: float = RATE_WINDOW
    ) -> None:
        self._store = store
        self._clock = clock
        self.limit, self.window = limit, window
        self._seen: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Count one API request; BackpressureError (429, ``retry_after``) over the limit."""
        now = self._clock.time()
        with self._lock:
            while self._seen and self._seen[0] <= now - self.window:
                self._seen.popleft()
            if len(self._seen) >= self.limit:
                retry_after = self._seen[0] + self.window - now
                raise BackpressureError(
                    f"the Task History API allows {self.limit} requests per "
                    f"{self.window:g} s; retry in {retry_after:.0f} s",
                    retry_after=retry_after,
                )
            self._seen.append(now)

    # executions ------------------------------------------------------------------------
    def _where(self, f: ExecutionFilter, now: float) -> tuple[str, list[Any]]:
        clauses, args = ["1 = 1"], []
        if f.integration is not None and f.integration.lower() != MARKETO:
            clauses.append("1 = 0")  # the only integration here is Marketo
        for condition, value in (
            ("runs.sub = ?", f.user_id),
            ("runs.workflow_id = ?", f.workflow_id),
            ("runs.created >= ?", f.after),
            ("runs.created < ?", f.before),
        ):
            if value is not None:
                clauses.append(condition)
                args.append(value)
        if f.statuses:
            waiting = f"COALESCE({_RESUME_AT}, 0) > ?"
            unfinished = "runs.status NOT IN (?, ?)"
            parts = []
            for status in f.statuses:
                if status is ExecutionStatus.SUCCEEDED:
                    parts.append("runs.status = ?")
                    args.append(RunStatus.SUCCEEDED.value)
                elif status is ExecutionStatus.FAILED:
                    parts.append("runs.status = ?")
                    args.append(RunStatus.FAILED.value)
                elif status is ExecutionStatus.DELAYED:
                    parts.append(f"({unfinished} AND {waiting})")
                    args.extend([*_FINISHED, now])
                else:
                    parts.append(f"({unfinished} AND NOT {waiting})")
                    args.extend([*_FINISHED, now])
            clauses.append("(" + " OR ".join(parts) + ")")
        return " AND ".join(clauses), args

    def executions(
        self, f: ExecutionFilter, *, offset: int = 0, base_path: str = "", query: Any = None
    ) -> dict[str, Any]:
        """One page (100, newest first): ``{"data", "total", "nextLink"}``; ``nextLink`` is
        ``base_path`` with the same ``query`` and the next offset (None on the last page)."""
        if offset < 0:
            raise RuntimeStateError(f"offset must be 0 or more, got {offset}")
        now = self._clock.time()
        where, args = self._where(f, now)
        total_row = self._store.one(f"SELECT COUNT(*) AS n FROM runs WHERE {where}", *args)
        total = int(total_row["n"]) if total_row is not None else 0
        rows = self._store.all(
            f"SELECT {_COLUMNS} FROM runs WHERE {where} "
            "ORDER BY runs.created DESC, runs.seq DESC LIMIT ? OFFSET ?",
            *args,
            PAGE_SIZE,
            offset,
        )
        steps = self._steps_of([r["id"] for r in rows])
        data = [self._execution(r, steps.get(r["id"], []), now) for r in rows]
        next_link = None
        if offset + len(rows) < total:
            params = {k: v for k, v in dict(query or {}).items() if k != "offset"}
            params["offset"] = str(offset + PAGE_SIZE)
            next_link = f"{base_path}?{urlencode(params)}"
        return {"data": data, "total": total, "nextLink": next_link}

    def execution(self, execution_id: str) -> dict[str, Any]:
        """One execution with its step executions (NotFoundError)."""
        row = self._run(execution_id)
        return self._execution(row, self._steps_of([execution_id]).get(execution_id, []),
                               self._clock.time())  # fmt: skip

    def step_executions(self, execution_id: str) -> list[dict[str, Any]]:
        return self.execution(execution_id)["stepExecutions"]  # type: ignore[no-any-return]

    def step_execution(self, execution_id: str, step_execution_id: str) -> dict[str, Any]:
        """One step execution with its input, output and error (stored masked)."""
        row = self._run(execution_id)
        records = self._steps_of([execution_id]).get(execution_id, [])
        listed = self._step_list(row, records)
        for item, record in zip(listed, [None, *records], strict=True):
            if step_execution_id in (item["id"], item["stepId"]):
                detail = dict(item)
                if record is None:  # the trigger: its output is the event payload
                    event = self._store.one("SELECT payload FROM events WHERE id = ?",
                                            row["event_id"])  # fmt: skip
                    detail.update(input=None, output=loads(event["payload"]) if event else None,
                                  error=None)  # fmt: skip
                else:
                    detail.update(
                        input=loads(record["input"]),
                        output=loads(record["output"]),
                        error=record["error"],
                        attempts=int(record["attempts"]),
                    )
                return detail
        ids = [i["id"] for i in listed]
        raise NotFoundError(
            f"execution {execution_id!r} has no step execution {step_execution_id!r}; "
            f"its step executions: {', '.join(ids)}"
        )

    # plumbing --------------------------------------------------------------------------
    def _run(self, execution_id: str) -> Any:
        row = self._store.one(f"SELECT {_COLUMNS} FROM runs WHERE runs.id = ?", execution_id)
        if row is None:
            raise NotFoundError(
                f"no workflow execution {execution_id!r}; list them with "
                "GET /task-history/workflow-executions"
            )
        return row

    def _steps_of(self, run_ids: Sequence[str]) -> dict[str, list[Any]]:
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        out: dict[str, list[Any]] = {}
        for r in self._store.all(
            f"SELECT * FROM run_steps WHERE run_id IN ({marks}) ORDER BY run_id, seq", *run_ids
        ):
            out.setdefault(r["run_id"], []).append(r)
        return out

    def _execution(self, row: Any, records: list[Any], now: float) -> dict[str, Any]:
        status, resume_at = _status(row, now)
        started, ended = row["started"], row["ended"]
        tasks = sum(counts_as_task(str(r["action"]), str(r["status"])) for r in records)
        return {
            "id": row["id"],
            "workflowId": row["workflow_id"],
            "workflowVersion": int(row["version"]),
            "userId": row["sub"],
            "integration": MARKETO,
            "status": status.value,
            "taskCount": tasks,
            "runDuration": round((ended - started) * 1000) if started and ended else None,
            "dateCreated": iso(row["created"]),
            "dateStarted": iso(started),
            "dateEnded": iso(ended),
            "resumeAt": iso(resume_at),
            "error": row["error"],
            "eventId": row["event_id"],
            "replayOf": row["replay_of"],
            "stepExecutions": self._step_list(row, records),
        }

    def _step_list(self, row: Any, records: list[Any]) -> list[dict[str, Any]]:
        """The trigger, then every recorded step in the order it ran, linked prev/next."""
        trigger = {
            "id": f"{row['id']}:trigger",
            "stepId": "trigger",
            "type": "TRIGGER/APP_EVENT",
            "status": ExecutionStatus.SUCCEEDED.value,
            "start": iso(row["created"]),
            "end": iso(row["created"]),
            "inputSize": 0,
            "outputSize": int(row["event_size"] or 0),
        }
        items = [trigger]
        for r in records:
            items.append(
                {
                    "id": f"{row['id']}:{r['step_id']}",
                    "stepId": r["step_id"],
                    "type": _step_type(r["action"]),
                    "status": _step_status(r["status"]),
                    "start": iso(r["started"]),
                    "end": iso(r["ended"]),
                    "inputSize": len(r["input"] or ""),
                    "outputSize": len(r["output"] or ""),
                }
            )
        for i, item in enumerate(items):
            item["prev"] = items[i - 1]["id"] if i > 0 else None
            item["next"] = [items[i + 1]["id"]] if i + 1 < len(items) else []
        return items


def _status(row: Any, now: float) -> tuple[ExecutionStatus, float | None]:
    if row["status"] == RunStatus.SUCCEEDED:
        return ExecutionStatus.SUCCEEDED, None
    if row["status"] == RunStatus.FAILED:
        return ExecutionStatus.FAILED, None
    resume_at = row["resume_at"]
    if resume_at is not None and float(resume_at) > now:
        return ExecutionStatus.DELAYED, float(resume_at)
    return ExecutionStatus.EXECUTING, None


def _step_status(status: str) -> str:
    return {
        StepStatus.SUCCEEDED.value: ExecutionStatus.SUCCEEDED.value,
        StepStatus.FAILED.value: ExecutionStatus.FAILED.value,
    }.get(status, ExecutionStatus.EXECUTING.value)


def _step_type(action: str) -> str:
    """Paragon-style step types (``ACTION/REQUEST``...). # (U) beyond the two documented
    examples the names are ours."""
    if action.startswith("marketo."):
        return "ACTION/MARKETO"
    return {
        "condition": "CONDITIONAL",
        "python": "ACTION/FUNCTION",
        "request": "ACTION/REQUEST",
        "integration_request": "ACTION/INTEGRATION_REQUEST",
        "fan_out": "FANOUT",
        "delay": "DELAY",
        "response": "RESPONSE",
    }.get(action, f"ACTION/{action.upper()}")
