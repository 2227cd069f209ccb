"""The run engine: executes queued runs on worker threads, step by step, recording everything.

A run is created ``queued`` (with its event, in one transaction, by the project), goes
``running`` when a worker claims it and ends ``succeeded`` or ``failed``. Before each step
starts and after it ends, its record is written (rendered input with secrets masked, output,
status, attempts, timing), so a run interrupted by a crash or :meth:`Engine.close` resumes on
the next open from the first step that has no finished record: finished steps are never done
twice; the one step that was in flight is retried (Marketo upserts and list adds are
idempotent).

Retries follow each step's :class:`~paragon_nb.runtime.workflows.RetrySpec`; waits go through
the injected clock (a FakeClock makes them instant). A run waiting to retry stays ``running``,
as Paragon shows it.

    engine = Engine(store, clock=clock, gateway_for=..., spec_for=catalog.version_spec)
    engine.submit(["run-id"]); engine.wait_idle(5)
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from paragon_nb._clock import Clock, SystemClock
from paragon_nb.errors import (
    MarketoAuthError,
    MarketoError,
    StepError,
    TemplateError,
    TransientMarketoError,
)
from paragon_nb.runtime.masking import mask_secrets
from paragon_nb.runtime.ownership import (
    make_owner,
    owner_is_stale,
    register_engine,
    unregister_engine,
)
from paragon_nb.runtime.steps import (
    ACTIONS,
    MarketoGateway,
    StepEnv,
    evaluate_condition,
    to_jsonable,
)
from paragon_nb.runtime.store import ProjectStore, dumps, loads
from paragon_nb.runtime.templating import render
from paragon_nb.runtime.workflows import ActionStep, ConditionStep, WorkflowSpec

__all__ = ["Engine", "RunStatus", "StepStatus"]

log = logging.getLogger(__name__)


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED_STEP = (StepStatus.SUCCEEDED.value, StepStatus.FAILED.value)


class _Interrupted(Exception):
    """The engine is closing: leave the run ``running`` so it resumes on the next open."""


class _StepFailed(Exception):
    def __init__(self, step_id: str, message: str) -> None:
        super().__init__(message)
        self.step_id = step_id


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StepError | TemplateError | MarketoError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Engine:
    """Runs queued runs on ``workers`` daemon threads (default 5, Paragon's trial SLA)."""

    def __init__(
        self,
        store: ProjectStore,
        *,
        clock: Clock,
        gateway_for: Callable[[str], MarketoGateway],
        spec_for: Callable[[str, int], WorkflowSpec],
        secrets_for: Callable[[str], Sequence[str]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        on_auth_error: Callable[[str, MarketoAuthError], None] | None = None,
        workers: int = 5,
    ) -> None:
        self._store = store
        self._clock = clock
        self._gateway_for = gateway_for
        self._spec_for = spec_for  # (workflow id, version) -> parsed spec, cached by the catalog
        self._secrets_for = secrets_for or (lambda sub: ())
        self._functions = functions if functions is not None else {}
        self._on_auth_error = on_auth_error
        self._workers = max(1, workers)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._closing = threading.Event()
        self._engine_id = uuid.uuid4().hex[:12]
        #: who executes a claimed run: host, process and engine; see runtime.ownership
        self.owner = make_owner(self._engine_id)
        register_engine(self._engine_id)

    # queueing ------------------------------------------------------------------------------
    def submit(self, run_ids: Iterable[str]) -> None:
        """Queue runs for execution (ids already pending are ignored)."""
        if self._closing.is_set():
            return  # they stay queued in the database and resume on the next open
        with self._cond:
            fresh = [r for r in run_ids if r not in self._pending]
            self._pending.update(fresh)
            self._start_workers()
        for run_id in fresh:
            self._queue.put(run_id)

    def resume(self) -> list[str]:
        """Queue every run left ``queued`` or ``running`` (after a crash or close)."""
        rows = self._store.run_rows(statuses=(RunStatus.QUEUED.value, RunStatus.RUNNING.value))
        ids = [r["id"] for r in rows]
        self.submit(ids)
        return ids

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            thread = threading.Thread(
                target=self._work, name=f"paragon-nb-run-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is None:
                return
            try:
                if not self._closing.is_set():
                    self.execute(run_id)
            except Exception:  # a bug must not kill the worker; the run stays for resume
                log.exception("run %s crashed the engine", run_id)
            finally:
                with self._cond:
                    self._pending.discard(run_id)
                    self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is pending (True) or ``timeout`` real seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout=timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self, *, timeout: float = 5.0) -> None:
        """Stop the workers; runs still in flight stay ``running`` and resume on reopen."""
        self._closing.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout  # one deadline for all workers, not each
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        unregister_engine(self._engine_id)
        try:
            self._store.release_runs(self.owner)
        except sqlite3.Error:  # the store may already be closed; liveness covers it
            log.debug("could not release the runs of %s", self.owner)

    def _sleep(self, seconds: float) -> None:
        if isinstance(self._clock, SystemClock):
            # a real wait must not block close(); an injected clock decides its own time
            if self._closing.wait(seconds):
                raise _Interrupted
        else:
            self._clock.sleep(seconds)
            if self._closing.is_set():
                raise _Interrupted

    # execution -----------------------------------------------------------------------------
    def execute(self, run_id: str) -> str:
        """Run (or resume) one run to the end in this thread; returns its final status."""
        row = self._store.claim_run(
            run_id, self.owner, is_stale=owner_is_stale, now=self._clock.time()
        )
        if row is None:  # finished, or another live engine (maybe another process) has it
            current = self._store.run_row(run_id)
            return current["status"] if current is not None else "missing"
        sub = row["sub"]
        secrets: list[str] = []
        try:
            secrets = list(self._secrets_for(sub))  # may fail: e.g. the secret key changed
            event = self._store.event_row(row["event_id"])
            if event is None:
                raise StepError(f"run {run_id}: its event {row['event_id']!r} is missing")
            spec = self._spec_for(row["workflow_id"], row["version"])  # NotFoundError if gone
            snapshot = loads(row["context"]) or {}
            context: dict[str, Any] = {
                "event": loads(event["payload"]),
                "settings": snapshot.get("settings", {}),
                "user": snapshot.get("user", {"id": sub, "meta": {}}),
                "steps": {},
            }
            done = {s["step_id"]: s for s in self._store.step_rows(run_id)}
            env = StepEnv(gateway_factory=lambda: self._gateway_for(sub), functions=self._functions)
            self._run_steps(run_id, spec.steps, context, done, env, secrets, sub)
        except _Interrupted:
            return RunStatus.RUNNING.value
        except _StepFailed as failed:
            return self._finish(run_id, RunStatus.FAILED, f"step {failed.step_id!r}: {failed}")
        except Exception as exc:
            return self._finish(run_id, RunStatus.FAILED, mask_secrets(_describe(exc), secrets))
        return self._finish(run_id, RunStatus.SUCCEEDED, None)

    def _finish(self, run_id: str, status: RunStatus, error: str | None) -> str:
        self._store.update_run(run_id, status=status.value, ended=self._clock.time(), error=error)
        return status.value

    def _run_steps(
        self,
        run_id: str,
        steps: Sequence[Any],
        context: dict[str, Any],
        done: Mapping[str, Any],
        env: StepEnv,
        secrets: list[str],
        sub: str,
    ) -> None:
        for step in steps:
            record = done.get(step.id)
            if record is not None and record["status"] in FINISHED_STEP:
                output = loads(record["output"])
                context["steps"][step.id] = output
            elif isinstance(step, ConditionStep):
                output = self._run_condition(run_id, step, context, secrets)
            else:
                prior = record["attempts"] if record is not None else 0
                output = self._run_action(run_id, step, context, env, secrets, sub, prior)
            if isinstance(step, ConditionStep):
                branch = step.then if (output or {}).get("result") else step.else_
                self._run_steps(run_id, branch, context, done, env, secrets, sub)

    def _run_condition(
        self, run_id: str, step: ConditionStep, context: dict[str, Any], secrets: list[str]
    ) -> dict[str, Any]:
        started = self._clock.time()
        output: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = evaluate_condition(step.if_, context)
        except (TemplateError, StepError) as exc:
            error = mask_secrets(str(exc), secrets)
        else:
            output = {"result": result, "selectedChoice": "Yes" if result else "No"}
        self._store.put_step(
            run_id,
            step.id,
            action="condition",
            status=(StepStatus.FAILED if error is not None else StepStatus.SUCCEEDED).value,
            input=dumps(mask_secrets(step.if_, secrets)),
            output=None if output is None else dumps(output),
            error=error,
            attempts=1,
            started=started,
            ended=self._clock.time(),
        )
        if output is None:
            raise _StepFailed(step.id, str(error))
        context["steps"][step.id] = output
        return output

    def _run_action(
        self,
        run_id: str,
        step: ActionStep,
        context: dict[str, Any],
        env: StepEnv,
        secrets: list[str],
        sub: str,
        prior_attempts: int,
    ) -> dict[str, Any]:
        action = ACTIONS[step.action]
        started = self._clock.time()
        attempts = prior_attempts
        failure: BaseException | None = None
        try:
            rendered = render(step.params, context)
        except TemplateError as exc:
            rendered, failure = None, exc
        # one write before the first attempt and one after the last keep the happy path at
        # two transactions per step (the record is still written before the call is made)
        self._store.put_step(
            run_id,
            step.id,
            action=step.action,
            status=StepStatus.RUNNING.value,
            started=started,
            attempts=attempts + (failure is None),
            input=None if failure else dumps(mask_secrets(to_jsonable(rendered), secrets)),
        )
        if failure is None:
            retries = 0
            while True:
                attempts += 1
                if retries:
                    self._store.put_step(run_id, step.id, attempts=attempts)
                try:
                    output = to_jsonable(action.run(rendered, env))
                except Exception as exc:
                    if self._closing.is_set():
                        raise _Interrupted from None
                    if retries < step.retry.max_retries and self._retryable(exc, step):
                        retries += 1
                        self._store.put_step(
                            run_id, step.id, error=mask_secrets(_describe(exc), secrets)
                        )
                        self._sleep(step.retry.delay(retries))
                        continue
                    failure = exc
                    break
                self._store.put_step(
                    run_id,
                    step.id,
                    status=StepStatus.SUCCEEDED.value,
                    output=dumps(mask_secrets(output, secrets)),
                    error=None,
                    ended=self._clock.time(),
                )
                context["steps"][step.id] = output
                return output
        if isinstance(failure, MarketoAuthError) and self._on_auth_error is not None:
            self._on_auth_error(sub, failure)
        message = mask_secrets(_describe(failure), secrets)
        error_output = {
            "error": {
                "message": message,
                "type": type(failure).__name__,
                "code": getattr(failure, "code", None),
            }
        }
        self._store.put_step(
            run_id,
            step.id,
            status=StepStatus.FAILED.value,
            error=message,
            output=dumps(error_output) if step.continue_on_failure else None,
            ended=self._clock.time(),
            attempts=attempts,
        )
        if not step.continue_on_failure:
            raise _StepFailed(step.id, message)
        context["steps"][step.id] = error_output
        return error_output

    @staticmethod
    def _retryable(exc: BaseException, step: ActionStep) -> bool:
        if step.retry.on == "any":
            return not isinstance(exc, TemplateError)
        return isinstance(exc, TransientMarketoError)
