"""What a workflow step action is: :class:`ActionDef` (a parameter model, an output schema
and what it does), :class:`BatchOp` (how a Marketo write shares calls with other runs),
:class:`StepEnv` (what a running step may use), the parameter base model and the JSON
Schema atoms output schemas are built from. The actions themselves are the rows of
:data:`paragon_nb.runtime.steps.ACTIONS` (built in :mod:`.steps_marketo`,
:mod:`.steps_http` and :mod:`.steps`).

    ActionDef("response", ResponseParams, {"type": "object"}, run_response)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from paragon_nb.errors import StepError
from paragon_nb.runtime.gateway import MarketoGateway
from paragon_nb.runtime.outbound import OutboundPolicy

__all__ = ["INT", "STR", "ActionDef", "BatchOp", "Params", "StepEnv", "as_list", "to_jsonable"]

#: JSON Schema atoms of the output schemas
INT = {"type": "integer"}
STR = {"type": "string"}


@dataclass
class StepEnv:
    """What a running step may use: the user's gateway (lazy), registered functions and the
    outbound policy of Request steps."""

    gateway_factory: Callable[[], MarketoGateway] | None = None
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)

    def gateway(self) -> MarketoGateway:
        if self.gateway_factory is None:
            raise StepError("this run has no Marketo credential; connect the user to Marketo")
        return self.gateway_factory()


class Params(BaseModel):
    """The base of every action's parameter model: an unknown parameter is refused."""

    model_config = ConfigDict(extra="forbid")


def as_list(value: Any, *, split: bool = False) -> Any:
    """A parameter given as one value or as a list, as a list (``split``: "1,2,3" too)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if split and isinstance(value, str) and "," in value:  # ActionKit style ids: "1,2,3"
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


@dataclass(frozen=True)
class BatchOp:
    """How a Marketo action shares calls with other runs: ``op`` (``upsert``, ``add``,
    ``remove``: see :meth:`MarketoGateway.send`), the ``key`` records must share to go in one
    call, the JSON ``payload`` this run contributes, and ``finish(key, payload, answer)``
    turning this run's own answer into the step output (or a StepError, e.g. Marketo
    skipped the record)."""

    op: str
    key: Callable[[Any], tuple[Any, ...]]
    payload: Callable[[Any], Any]
    finish: Callable[[tuple[Any, ...], Any, Any], dict[str, Any]]

    def run(self, params: Any, env: StepEnv) -> dict[str, Any]:
        """Send this one run's payload alone (no other run shares the call)."""
        key, payload = self.key(params), self.payload(params)
        answers = env.gateway().send(self.op, key, [payload])
        return self.finish(key, payload, answers[0])


@dataclass(frozen=True)
class ActionDef:
    """One action: ``params`` model, ``output`` schema, and ``run(params_model, env)``;
    Marketo writes also have a ``batch`` (the engine queues them and sends them in batches)."""

    name: str
    params: type[Params]
    output: dict[str, Any]
    execute: Callable[[Any, StepEnv], dict[str, Any]] | None = None
    batch: BatchOp | None = None

    def validate(self, rendered: Mapping[str, Any]) -> Params:
        """Check rendered parameters; StepError listing every problem."""
        try:
            return self.params.model_validate(dict(rendered))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
            )
            raise StepError(f"bad parameters for {self.name}: {problems}") from None

    def run(self, rendered: Mapping[str, Any], env: StepEnv) -> dict[str, Any]:
        params = self.validate(rendered)
        if self.batch is not None:
            return self.batch.run(params, env)
        assert self.execute is not None
        return self.execute(params, env)

    @property
    def param_names(self) -> set[str]:
        return set(self.params.model_fields)

    @property
    def required_params(self) -> set[str]:
        return {n for n, f in self.params.model_fields.items() if f.is_required()}


def to_jsonable(value: Any) -> Any:
    """A JSON round trip (pydantic models and enums become plain values)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Enum):
        return value.value
    return str(value)
