"""The deploy-time reference check: every ``{{ }}`` of a workflow spec against what it can see.

A reference may name the triggering App Event's payload (checked against its inferred
schema), a declared user setting, an *earlier* step's output (each action declares its
output schema in :data:`~paragon_nb.runtime.steps.ACTIONS`; a registered python function's
example return value gives its shape), ``user.id`` / ``user.meta`` or ``secrets.NAME``.
Every bad reference is named with the names available (and a did-you-mean) in one
WorkflowSpecError.

    check_references(spec, event_schema=infer_schema(example), function_outputs={"f": None})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paragon_nb.errors import TemplateError, WorkflowSpecError, closest, did_you_mean
from paragon_nb.runtime.events import check_path, infer_schema
from paragon_nb.runtime.steps import ACTIONS
from paragon_nb.runtime.templating import ROOTS, Reference, format_path, references
from paragon_nb.runtime.workflows import (
    ConditionStep,
    DelayStep,
    FanOutStep,
    WorkflowSpec,
    iter_steps,
)

__all__ = ["check_references"]


def _check_ref(
    ref: Reference,
    *,
    event_schema: Mapping[str, Any],
    settings: Sequence[str],
    earlier: Mapping[str, Mapping[str, Any]],
    later: set[str],
) -> str | None:
    path = ref.path
    root = ref.root
    if root not in ROOTS:
        hint = closest(root, ROOTS)
        return f"unknown namespace {root!r}; use one of {', '.join(ROOTS)}" + (
            f" (did you mean {hint}?)" if hint else ""
        )
    if root in ("event", "request"):  # a Request trigger's data is both (runtime.trigger_data)
        return check_path(event_schema, path[1:], prefix=(root,))
    if root == "settings":
        if len(path) == 1:
            return "settings needs a name, e.g. settings.marketo_list"
        name = str(path[1])
        if name not in settings:
            return (
                f"settings.{name} is not a declared user setting; declared: "
                f"{', '.join(settings) or 'none'}"
                + did_you_mean(name, settings, show="settings.{}".format)
            )
        if len(path) > 2:
            return f"settings.{name} is a single value; it has no field {format_path(path[2:])}"
        return None
    if root == "steps":
        if len(path) == 1:
            return "steps needs a step id, e.g. steps.upsert_lead.id"
        step_id = str(path[1])
        if step_id not in earlier:
            names = list(earlier)
            why = "is a later step" if step_id in later else "is not a step of this workflow"
            return f"steps.{step_id} {why}; earlier steps: {', '.join(names) or 'none'}" + (
                did_you_mean(step_id, names, show="steps.{}".format)
            )
        return check_path(earlier[step_id], path[2:], prefix=("steps", step_id))
    if root == "secrets":  # set at run time (project.set_secret); a missing one fails the step
        if len(path) != 2:
            return "secrets needs one name, e.g. secrets.CRM_TOKEN (a secret is a single value)"
        return None
    # user
    if len(path) == 1:
        return None
    if path[1] not in ("id", "meta"):
        return f"user.{path[1]} does not exist; available: user.id, user.meta"
    if path[1] == "id" and len(path) > 2:
        return "user.id is a string; it has no fields"
    return None


_ERROR_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "code": {}},
}


_DELAY_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"seconds": {"type": "number"}, "resumed_at": {"type": "number"}},
}
_FAN_OUT_INNER: dict[str, Any] = {
    "type": "object",
    "properties": {"instance": {}, "index": {"type": "integer"}},
}
_FAN_OUT_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "results": {"type": "array", "items": {"type": "object"}},
    },
}


def _checked_values(step: Any) -> Any:
    """The part of a step that may hold ``{{ }}`` references."""
    if isinstance(step, ConditionStep):
        return step.if_
    if isinstance(step, DelayStep):
        return step.value
    if isinstance(step, FanOutStep):
        return step.over
    return step.params


def check_references(
    spec: WorkflowSpec,
    *,
    event_schema: Mapping[str, Any],
    function_outputs: Mapping[str, Any] | None = None,
    shared_settings: Sequence[str] = (),
) -> None:
    """Check every ``{{ }}`` of ``spec`` against the event schema, the declared settings (the
    workflow's and the integration-level ``shared_settings``) and the outputs of earlier
    steps. ``function_outputs`` maps registered python function names to
    an example return value (or None: unknown shape). Raises WorkflowSpecError listing every
    bad reference with the names available."""
    settings = [s.id for s in spec.user_settings]
    settings += [s for s in shared_settings if s not in settings]
    all_ids = {s.id for s in iter_steps(spec.steps)}
    earlier: dict[str, Mapping[str, Any]] = {}
    problems: list[str] = []

    def visit(steps: Sequence[Any]) -> None:
        for step in steps:
            later = all_ids - set(earlier) - {step.id}
            target = _checked_values(step)
            try:
                refs = list(references(target))
            except TemplateError as exc:
                problems.append(f"step {step.id!r}: {exc}")
                refs = []
            for ref in refs:
                msg = _check_ref(
                    ref, event_schema=event_schema, settings=settings, earlier=earlier, later=later
                )
                if msg:
                    problems.append(f"step {step.id!r}: {{{{{ref.text}}}}}: {msg}")
            if isinstance(step, ConditionStep):
                earlier[step.id] = {
                    "type": "object",
                    "properties": {
                        "result": {"type": "boolean"},
                        "selectedChoice": {"type": "string"},
                    },
                }
                # (U) steps inside a branch are visible after the condition too; a branch not
                # taken leaves them missing, which fails the referring step at run time.
                visit(step.then)
                visit(step.else_)
                continue
            if isinstance(step, DelayStep):
                earlier[step.id] = _DELAY_OUTPUT
                continue
            if isinstance(step, FanOutStep):
                # (U) the element's shape is not inferred: steps.<id>.instance is open
                earlier[step.id] = _FAN_OUT_INNER
                visit(step.steps)
                for inner in iter_steps(step.steps):  # per-iteration outputs stay inside
                    earlier.pop(inner.id, None)
                earlier[step.id] = _FAN_OUT_OUTPUT
                continue
            output = ACTIONS[step.action].output
            if step.action == "python" and function_outputs is not None:
                fn = step.params.get("function")
                if isinstance(fn, str) and fn not in function_outputs:
                    problems.append(
                        f"step {step.id!r}: python function {fn!r} is not registered; "
                        f"registered: {', '.join(sorted(function_outputs)) or 'none'}"
                    )
                elif isinstance(fn, str) and function_outputs.get(fn) is not None:
                    output = {
                        "type": "object",
                        "properties": {"result": infer_schema(function_outputs[fn])},
                    }
            if step.continue_on_failure:
                # a failed step's output is {"error": {...}} instead (Paragon: "the error
                # becomes its output"), so both shapes may be referenced
                props = dict(output.get("properties", {}))
                props["error"] = _ERROR_OUTPUT
                output = {**output, "properties": props}
            earlier[step.id] = output

    visit(spec.steps)
    if problems:
        raise WorkflowSpecError(
            f"workflow {spec.name!r} cannot be deployed:\n  - " + "\n  - ".join(problems)
        )
