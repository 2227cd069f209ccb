"""Task counting as Paragon counts (reference §9 "Task quota"): a task is a *successful*
Action, Request or Function step (Marketo actions, ``request``, ``marketo.request``,
``python``), each fan-out iteration's steps counting on their own; all attempts of a
retried step are one task; triggers, conditions, Fan Out, Delay and Response are free.
(Proxy calls count too: they are not run steps, see the SDK proxy.)

    task_count(project.run(run_id).steps)        # any StepRecords
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.runtime.api import StepRecord

__all__ = ["FREE_STEPS", "counts_as_task", "task_count"]

#: step kinds that never count as a task
FREE_STEPS = frozenset({"condition", "fan_out", "delay", "response"})


def counts_as_task(action: str, status: str) -> bool:
    return status == "succeeded" and action not in FREE_STEPS


def task_count(steps: Iterable[StepRecord]) -> int:
    """Tasks of a run's step records."""
    return sum(counts_as_task(s.action, s.status) for s in steps)
