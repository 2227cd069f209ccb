"""Workflow step actions: :data:`ACTIONS`, the one table of what a step's ``action`` may be.

Each action is one row (:class:`~paragon_nb.runtime.step_defs.ActionDef`): a pydantic
parameter model (checked after rendering, so a bad value fails that step with a clear
message), an output schema (the same JSON Schema subset as App Events, used by the
deploy-time reference check) and a function that runs it. Validation, the deploy check
and the engine all read this table; a new step is one row.

The rows live with their kind: Marketo writes and reads in :mod:`.steps_marketo` (writes
are batched across runs: the engine queues the run's record and the instance's dispatcher,
runtime.batcher, sends it with other runs' records), Request / Integration Request /
Response in :mod:`.steps_http`, and the Function step (``python``) here. The ``condition``
step's operators live in :mod:`paragon_nb.runtime.conditions` (re-exported here).

    env = StepEnv(gateway_factory=lambda: gateway)
    out = ACTIONS["marketo.create_or_update_lead"].run({"fields": {"email": "a@x.com"}}, env)
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from paragon_nb.errors import StepError
from paragon_nb.runtime.conditions import CONDITION_OPS, UNARY_OPS, evaluate_condition
from paragon_nb.runtime.events import validate_example
from paragon_nb.runtime.gateway import MarketoCredentials, MarketoGateway
from paragon_nb.runtime.step_defs import ActionDef, BatchOp, Params, StepEnv, to_jsonable
from paragon_nb.runtime.steps_http import HTTP_ACTIONS
from paragon_nb.runtime.steps_marketo import MARKETO_ACTIONS

__all__ = [
    "ACTIONS",
    "CONDITION_OPS",
    "ActionDef",
    "BatchOp",
    "MarketoCredentials",
    "MarketoGateway",
    "UNARY_OPS",
    "StepEnv",
    "evaluate_condition",
    "to_jsonable",
]


class PythonParams(Params):
    function: str
    input: dict[str, Any] = Field(default_factory=dict)


def _run_python(params: PythonParams, env: StepEnv) -> dict[str, Any]:
    fn = env.functions.get(params.function)
    if fn is None:
        known = ", ".join(sorted(env.functions)) or "none"
        raise StepError(
            f"python function {params.function!r} is not registered (registered: {known}); "
            "call project.register_function(name, fn) after opening the project"
        )
    value = fn(**params.input)
    try:
        checked = validate_example({"result": value}, name="the function's return value")
    except Exception as exc:
        raise StepError(f"python function {params.function!r} returned {exc}") from None
    return checked


ACTIONS: dict[str, ActionDef] = {
    a.name: a
    for a in (
        *MARKETO_ACTIONS,
        *HTTP_ACTIONS,
        ActionDef(
            "python",
            PythonParams,
            {"type": "object", "properties": {"result": {}}, "required": ["result"]},
            _run_python,
        ),
    )
}
