"""Task counting as Paragon counts (reference §9 "Task quota"): a task is a *successful*
Action, Request or Function step (Marketo actions, ``request``, ``marketo.request``,
``python``), each fan-out iteration's steps counting on their own; all attempts of a
retried step are one task; triggers, conditions, Fan Out, Delay and Response are free.
(Proxy calls count too: they are not run steps, see the SDK proxy.)

    task_count(project.run(run_id)["steps"])      # or any StepRecord list
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["FREE_STEPS", "counts_as_task", "task_count"]

#: step kinds that never count as a task
FREE_STEPS = frozenset({"condition", "fan_out", "delay", "response"})


def counts_as_task(action: str, status: str) -> bool:
    return status == "succeeded" and action not in FREE_STEPS


def task_count(steps: Iterable[Any]) -> int:
    """Tasks of a run's step records (dicts from ``project.run`` or StepRecords)."""
    total = 0
    for s in steps:
        action = s["action"] if isinstance(s, dict) else s.action
        status = s["status"] if isinstance(s, dict) else s.status
        total += counts_as_task(str(action), str(status))
    return total
