"""Handlers of the Task History API (relative to ``/projects/{id}``; the REST app checks the
project API key before any of them runs; see :mod:`~paragon_nb.runtime.task_history` for the
shapes and :mod:`~paragon_nb.runtime.routes` for the route list)."""

from __future__ import annotations

from typing import Any

from paragon_nb.runtime.http import HTTPError, Request
from paragon_nb.runtime.task_history import ExecutionFilter

__all__ = ["API_KEY_ROUTES"]

_EXECUTIONS = "/task-history/workflow-executions"


def list_executions(project: Any, req: Request) -> tuple[int, Any]:
    try:
        offset = int(req.query.get("offset") or 0)
    except ValueError:
        raise HTTPError(
            400, f"offset must be a whole number, got {req.query['offset']!r}"
        ) from None
    page = project.task_history.executions(
        ExecutionFilter.from_query(req.query),
        offset=offset,
        base_path=f"/projects/{project.id}{_EXECUTIONS}",
        query=req.query,
    )
    return 200, page


def get_execution(project: Any, req: Request) -> tuple[int, Any]:
    return 200, project.task_history.execution(req.params["execution"])


def list_step_executions(project: Any, req: Request) -> tuple[int, Any]:
    return 200, project.task_history.step_executions(req.params["execution"])


def get_step_execution(project: Any, req: Request) -> tuple[int, Any]:
    history = project.task_history
    return 200, history.step_execution(req.params["execution"], req.params["step"])


def replay_execution(project: Any, req: Request) -> tuple[int, Any]:
    """Replay with the execution's original input and workflow version (as the API docs
    say; # (U) the UI docs say the deployed version: ``?version=deployed`` asks for that)."""
    execution = req.params["execution"]
    version = req.query.get("version") or "original"
    new_id = project.replay(execution, version=version)
    return 201, {"executionId": new_id, "replayOf": execution}


def _limited(handler: Any) -> Any:
    """``handler`` behind the Task History API's rate limit (429 with Retry-After)."""

    def limited(project: Any, req: Request) -> tuple[int, Any]:
        project.task_history.admit()
        return handler(project, req)  # type: ignore[no-any-return]

    limited.__name__ = handler.__name__
    return limited


_EXECUTION = _EXECUTIONS + "/(?P<execution>[^/]+)"
#: routes relative to /projects/{id} that take a project API key (RestApp checks it)
API_KEY_ROUTES: list[tuple[str, dict[str, Any]]] = [
    (_EXECUTIONS, {"GET": _limited(list_executions)}),
    (_EXECUTION, {"GET": _limited(get_execution)}),
    (_EXECUTION + "/step-executions", {"GET": _limited(list_step_executions)}),
    (_EXECUTION + "/step-executions/(?P<step>[^/]+)", {"GET": _limited(get_step_execution)}),
    (_EXECUTION + "/replay", {"POST": _limited(replay_execution)}),
]
