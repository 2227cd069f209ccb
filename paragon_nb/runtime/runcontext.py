"""The rules that move a run forward (:class:`StepRunner`): which step is next, running a
step, recording an attempt, a retry or a failure, and a Marketo batch's answer. The run's
state in memory is :class:`~paragon_nb.runtime.run_state.RunContext` (re-exported here).
Nothing here touches the store: every change goes into a
:class:`~paragon_nb.runtime.runlog.Writes` that the engine commits for a whole group.

    ctx = RunContext.load(row, payload=..., steps=..., spec_for=..., secrets_for=...)
    status, error = runner.advance(ctx, writes)      # PARKED, or a final RunStatus
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import StepError, TemplateError, TransientMarketoError
from paragon_nb.runtime.api import RunStatus, StepRecord, StepStatus
from paragon_nb.runtime.conditions import evaluate_condition
from paragon_nb.runtime.gateway import MarketoGateway
from paragon_nb.runtime.outbound import OutboundPolicy
from paragon_nb.runtime.run_state import RunContext, describe
from paragon_nb.runtime.runlog import WorkItem, Writes
from paragon_nb.runtime.steps import ACTIONS, StepEnv, to_jsonable
from paragon_nb.runtime.templating import render
from paragon_nb.runtime.workflows import (
    ActionStep,
    ConditionStep,
    DelayStep,
    FanOutStep,
    iter_steps,
)

__all__ = ["PARKED", "RunContext", "StepRunner"]


class _Parked:
    def __repr__(self) -> str:
        return "PARKED"


#: the run waits for a Marketo batch or a retry timer; it holds no thread meanwhile
PARKED: Any = _Parked()


@dataclass
class _Scope:
    """Where a walk is: the record-id prefix (a fan-out iteration's ``fan.3.``) and the
    template data its steps see."""

    prefix: str
    data: dict[str, Any]


class _StepFailed(Exception):
    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(message)
        self.step_id = step_id


class StepRunner:
    """Runs steps of a :class:`RunContext` and records each outcome in a ``Writes``."""

    def __init__(
        self,
        *,
        clock: Clock,
        gateway_for: Callable[[str], MarketoGateway],
        functions: Mapping[str, Callable[..., Any]],
        outbound: Callable[[], OutboundPolicy] = OutboundPolicy,
    ) -> None:
        self._clock = clock
        self._gateway_for = gateway_for
        self._functions = functions
        self._outbound = outbound

    def advance(self, ctx: RunContext, writes: Writes) -> tuple[Any, str | None]:
        """Run steps until the run parks or ends: (PARKED, None) or (final status, error)."""
        with ctx.lock:
            return self._advance(ctx, writes)

    def _advance(self, ctx: RunContext, writes: Writes) -> tuple[Any, str | None]:
        if ctx.broken is not None:
            return RunStatus.FAILED, ctx.broken
        ctx.wake_at = None
        try:
            if self._walk(ctx, ctx.spec.steps, writes) is PARKED:
                return PARKED, None
        except _StepFailed as failed:
            return RunStatus.FAILED, f"step {failed.step_id!r}: {failed}"
        except Exception as exc:
            return RunStatus.FAILED, ctx.mask(describe(exc))
        return RunStatus.SUCCEEDED, None

    def _walk(
        self, ctx: RunContext, steps: Sequence[Any], writes: Writes, scope: _Scope | None = None
    ) -> Any:
        scope = scope or _Scope("", ctx.data)
        for step in steps:
            rid = scope.prefix + step.id
            record = ctx.records.get(rid)
            if record is not None and record.is_finished:
                if record.status == StepStatus.FAILED and record.output is None:
                    raise _StepFailed(rid, record.error or "failed")
                output = record.output
            elif rid in ctx.waiting:
                return PARKED
            elif isinstance(step, ConditionStep):
                output = self._condition(ctx, step, scope, writes)
            elif isinstance(step, DelayStep):
                output = self._delay(ctx, step, scope, record, writes)
            elif isinstance(step, FanOutStep):
                output = self._fan_out(ctx, step, scope, writes)
            else:
                output = self._action(ctx, step, scope, record, writes)
            if output is PARKED:
                return PARKED
            scope.data["steps"][step.id] = output
            if isinstance(step, ConditionStep):
                branch = step.then if (output or {}).get("result") else step.else_
                if self._walk(ctx, branch, writes, scope) is PARKED:
                    return PARKED
        return None

    # Delay and Fan Out (runtime.workflows.DelayStep / FanOutStep) ----------------------------
    def _delay(
        self,
        ctx: RunContext,
        step: DelayStep,
        scope: _Scope,
        record: StepRecord | None,
        writes: Writes,
    ) -> Any:
        """First visit: record the resume time and park the run (the engine writes it as
        ``waiting`` with ``runs.not_before``); a later visit at or after that time ends the
        step. Waking early (or twice) only parks it again."""
        rid = scope.prefix + step.id
        now = self._clock.time()
        if record is None:
            try:
                seconds = step.seconds(render(step.value, scope.data))
            except (TemplateError, ValueError) as exc:
                given = {"value": step.value, "unit": step.unit}
                failed = StepRecord(rid, "delay", StepStatus.FAILED, 1, now, now, given, None,
                                    str(exc))  # fmt: skip
                self._put(ctx, failed, writes)
                raise _StepFailed(rid, str(exc)) from None
            due = now + seconds
            record = StepRecord(
                rid, "delay", StepStatus.RUNNING, 1, now, None,
                {"value": step.value, "unit": step.unit, "seconds": seconds, "resume_at": due},
                None, None,
            )  # fmt: skip
            self._put(ctx, record, writes)
        due = float((record.input or {}).get("resume_at", now))
        if now < due:
            ctx.wake_at = due if ctx.wake_at is None else min(ctx.wake_at, due)
            return PARKED
        seconds = float((record.input or {}).get("seconds", 0.0))
        return self._succeed(ctx, record, {"seconds": seconds, "resumed_at": now}, writes)

    def _fan_out(self, ctx: RunContext, step: FanOutStep, scope: _Scope, writes: Writes) -> Any:
        """Every iteration advances as far as it can in this pass (so their Marketo writes
        are queued together and share batches); the step ends when all have ended. Inner
        step records are ``<fan-out id>.<index>.<step id>``."""
        rid = scope.prefix + step.id
        record = ctx.records.get(rid)
        now = self._clock.time()
        try:
            items = render(step.over, scope.data)
            if not isinstance(items, list):
                raise StepError(
                    f"fan_out {step.id!r}: 'over' must render to an array, got "
                    f"{type(items).__name__} ({str(items)[:60]!r})"
                )
        except (TemplateError, StepError) as exc:
            message = ctx.mask(str(exc))
            self._put(ctx, StepRecord(rid, "fan_out", StepStatus.FAILED, 1, now, now,
                                      ctx.mask(step.over), None, message), writes)  # fmt: skip
            raise _StepFailed(rid, message) from None
        if record is None:
            record = StepRecord(rid, "fan_out", StepStatus.RUNNING, 1, now, None,
                                {"count": len(items)}, None, None)  # fmt: skip
            self._put(ctx, record, writes)
        parked = False
        results: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            inner = _Scope(
                f"{rid}.{index}.",
                {**scope.data, "steps": {**scope.data["steps"],
                                         step.id: {"instance": item, "index": index}}},
            )  # fmt: skip
            if self._walk(ctx, step.steps, writes, inner) is PARKED:
                parked = True
                continue
            results.append({s.id: inner.data["steps"].get(s.id) for s in iter_steps(step.steps)})
        if parked:
            return PARKED
        return self._succeed(ctx, record, {"count": len(items), "results": results}, writes)

    def _put(self, ctx: RunContext, record: StepRecord, writes: Writes) -> StepRecord:
        ctx.records[record.step_id] = record
        writes.steps.append((ctx.run_id, record))
        return record

    def _condition(
        self, ctx: RunContext, step: ConditionStep, scope: _Scope, writes: Writes
    ) -> Any:
        rid = scope.prefix + step.id
        now = self._clock.time()
        output: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = evaluate_condition(step.if_, scope.data)
        except (TemplateError, StepError) as exc:
            error = ctx.mask(str(exc))
        else:
            output = {"result": result, "selectedChoice": "Yes" if result else "No"}
        status = StepStatus.FAILED if error is not None else StepStatus.SUCCEEDED
        record = StepRecord(
            rid, "condition", status, 1, now, self._clock.time(), ctx.mask(step.if_),
            output, error,
        )  # fmt: skip
        self._put(ctx, record, writes)
        if output is None:
            raise _StepFailed(rid, str(error))
        return output

    def _action(
        self,
        ctx: RunContext,
        step: ActionStep,
        scope: _Scope,
        record: StepRecord | None,
        writes: Writes,
    ) -> Any:
        action = ACTIONS[step.action]
        rid = scope.prefix + step.id
        attempts = record.attempts if record is not None else 0
        base = StepRecord(
            rid, step.action, StepStatus.RUNNING, attempts,
            record.started if record is not None and record.started else self._clock.time(),
            None, None, None, None,
        )  # fmt: skip
        try:
            rendered = render(step.params, scope.data)
            base = replace(base, input=ctx.mask(to_jsonable(rendered)))
            params = action.validate(rendered)
            if action.batch is not None:
                key = action.batch.key(params)
                self._gateway_for(ctx.sub)  # StepError now when there is no VALID credential
                payload = to_jsonable(action.batch.payload(params))
        except (TemplateError, StepError) as exc:
            return self._record_failure(ctx, step, base, exc, writes)
        if action.batch is not None:
            writes.new_work.append(
                WorkItem(ctx.run_id, rid, ctx.sub, action.batch.op, key, payload, attempts)
            )
            self._put(ctx, base, writes)
            ctx.waiting.add(rid)
            return PARKED
        return self._attempt(ctx, step, params, replace(base, attempts=attempts + 1), writes)

    def _attempt(
        self, ctx: RunContext, step: ActionStep, params: Any, record: StepRecord, writes: Writes
    ) -> Any:
        """One try of a step run on this worker (python, Marketo reads)."""
        env = StepEnv(
            gateway_factory=lambda: self._gateway_for(ctx.sub),
            functions=self._functions,
            outbound=self._outbound(),
        )
        try:
            output = to_jsonable(ACTIONS[step.action].execute(params, env))  # type: ignore[misc]
        except Exception as exc:
            retry_at = self._retry_at(step, exc, record.attempts)
            if retry_at is None:
                return self._record_failure(ctx, step, record, exc, writes)
            self._put(ctx, replace(record, error=ctx.mask(describe(exc))), writes)
            ctx.waiting.add(record.step_id)
            ctx.timers[record.step_id] = retry_at
            return PARKED
        return self._succeed(ctx, record, output, writes)

    def _succeed(self, ctx: RunContext, record: StepRecord, output: Any, writes: Writes) -> Any:
        done = replace(
            record, status=StepStatus.SUCCEEDED, output=ctx.mask(output), error=None,
            finished=self._clock.time(),
        )  # fmt: skip
        self._put(ctx, done, writes)
        return output

    def _record_failure(
        self,
        ctx: RunContext,
        step: ActionStep,
        record: StepRecord,
        failure: BaseException,
        writes: Writes,
    ) -> Any:
        """The step failed for good: its record says why; the run goes on only when the step
        has ``continue_on_failure`` (the error is then its output)."""
        message = ctx.mask(describe(failure))
        error_output = {
            "error": {
                "message": message,
                "type": type(failure).__name__,
                "code": getattr(failure, "code", None),
            }
        }
        failed = replace(
            record, status=StepStatus.FAILED, error=message, finished=self._clock.time(),
            output=error_output if step.continue_on_failure else None,
        )  # fmt: skip
        self._put(ctx, failed, writes)
        if not step.continue_on_failure:
            raise _StepFailed(record.step_id, message)
        return error_output

    def _retry_at(self, step: ActionStep, exc: BaseException, attempts: int) -> float | None:
        """When to try again (epoch seconds), or None when the step fails now."""
        if attempts - 1 >= step.retry.max_retries:
            return None
        if step.retry.on == "any":
            retryable = not isinstance(exc, TemplateError | StepError)
        else:
            retryable = isinstance(exc, TransientMarketoError)
        if not retryable:
            return None
        return self._clock.time() + step.retry.delay(attempts)

    def answered(
        self,
        ctx: RunContext,
        item: WorkItem,
        batch_id: str,
        batch_size: int,
        answer: Any,
        error: BaseException | None,
        writes: Writes,
    ) -> float | None:
        """Record this run's share of a batch; the retry time when it goes again."""
        with ctx.lock:
            step = ctx.step(item.step_id)
            previous = ctx.records.get(item.step_id)
            record = StepRecord(
                item.step_id, step.action, StepStatus.RUNNING, item.attempts,
                previous.started if previous is not None else self._clock.time(), None,
                previous.input if previous is not None else None, None, None,
                batch_id=batch_id if batch_size > 1 else None, batch_size=batch_size,
            )  # fmt: skip
            if error is None:
                batch = ACTIONS[step.action].batch
                assert batch is not None
                try:
                    output = to_jsonable(batch.finish(item.call_key, item.payload, answer))
                except StepError as exc:  # a record-level skip (1004, 1006...): this run only
                    error = exc
                else:
                    ctx.waiting.discard(item.step_id)
                    self._succeed(ctx, record, output, writes)
                    return None
            retry_at = (
                None if isinstance(error, StepError) else self._retry_at(step, error, item.attempts)
            )
            if retry_at is not None:
                self._put(ctx, replace(record, error=ctx.mask(describe(error))), writes)
                return retry_at
            ctx.waiting.discard(item.step_id)
            try:
                self._record_failure(ctx, step, record, error, writes)
            except _StepFailed:
                pass  # the next advance ends the run from the failed record
            return None
