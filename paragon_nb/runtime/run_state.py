"""One run's state in memory: :class:`RunContext` (its spec, the template data its steps
see, its step records, the secrets to mask, what it waits for) and how it is loaded from
the store's run row and step records. The rules that move it forward are
:class:`~paragon_nb.runtime.runcontext.StepRunner`.

    ctx = RunContext.load(row, payload=..., steps=..., spec_for=..., secrets_for=...)
    ctx.step("fan.3.upsert")        # the spec step of a record id
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paragon_nb.errors import MarketoError, StepError, TemplateError
from paragon_nb.runtime.api import RunStatus, StepRecord
from paragon_nb.runtime.masking import mask_secrets
from paragon_nb.runtime.runlog import RunRow
from paragon_nb.runtime.workflows import ActionStep, WorkflowSpec, iter_steps

__all__ = ["RunContext", "describe"]


def describe(exc: BaseException) -> str:
    if isinstance(exc, StepError | TemplateError | MarketoError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class RunContext:
    """What advancing a run needs: its spec, the template data (event, settings, user,
    finished steps' outputs), its step records and the secrets to mask."""

    run_id: str
    sub: str
    spec: WorkflowSpec
    data: dict[str, Any]
    records: dict[str, StepRecord] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)  # steps parked on a batch or a timer
    timers: dict[str, float] = field(default_factory=dict)  # step id -> retry time (new)
    wake_at: float | None = None  # a Delay parks the run until then (as data, no thread)
    #: one thread at a time advances the run or records a batch answer into it (a fan-out
    #: has several batches in flight, answered on their senders' threads)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    started: bool = False
    broken: str | None = None  # why the run cannot run at all (e.g. undecryptable secret)

    @classmethod
    def load(
        cls,
        row: RunRow,
        *,
        payload: Any,
        steps: Sequence[StepRecord],
        spec_for: Callable[[str, int], WorkflowSpec],
        secrets_for: Callable[[str], Sequence[str]],
        env_secrets: Callable[[], Mapping[str, str]] | None = None,
    ) -> RunContext:
        """``secrets_for(sub)``: the values to mask in every record; ``env_secrets()``: the
        environment secrets ``{{secrets.NAME}}`` resolves from (kept in memory only, and
        masked too)."""
        snapshot = row.context
        data = {
            "event": payload,
            "settings": snapshot.get("settings", {}),
            "user": snapshot.get("user", {"id": row.sub, "meta": {}}),
            "steps": {},
            "secrets": {},
        }
        broken = None
        secrets: list[str] = []
        spec: Any = None
        try:
            data["secrets"] = dict(env_secrets()) if env_secrets is not None else {}
            secrets = [*secrets_for(row.sub), *data["secrets"].values()]  # may fail: e.g.
            # the project's secret key changed since a value was stored
            spec = spec_for(row.workflow_id, row.version)  # NotFoundError if gone
            if payload is None:
                raise StepError(f"run {row.id}: its event {row.event_id!r} is missing")
        except Exception as exc:
            broken = mask_secrets(describe(exc), secrets)
        if spec is not None and spec.trigger.request is not None:
            data["request"] = payload  # Paragon's request.body / .query / .headers
        return cls(
            run_id=row.id,
            sub=row.sub,
            spec=spec,
            data=data,
            records={s.step_id: s for s in steps},
            secrets=secrets,
            started=row.status == RunStatus.RUNNING,
            broken=broken,
        )

    def step(self, step_id: str) -> ActionStep:
        """The spec step of a record id (``fan.3.upsert`` is step ``upsert``)."""
        step_id = step_id.rsplit(".", 1)[-1]
        for step in iter_steps(self.spec.steps):
            if step.id == step_id:
                return step  # type: ignore[no-any-return]
        raise StepError(f"workflow {self.spec.name!r} has no step {step_id!r}")

    def mask(self, value: Any) -> Any:
        return mask_secrets(value, self.secrets)
