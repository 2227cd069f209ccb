"""The steps of a workflow spec: action steps (``marketo.*``, ``request``, ``python``...,
their parameters checked against :data:`~paragon_nb.runtime.steps.ACTIONS`), ``condition``
steps with ``then``/``else`` branches, ``delay`` and ``fan_out``; per-step ``retry``
(:class:`RetrySpec`) and ``continue_on_failure``; :func:`iter_steps` walks them depth first.
Also the base model and id rule every part of a spec shares. The whole spec and its parsing
are :mod:`paragon_nb.runtime.workflows`, which re-exports these names.

    - id: is_vip
      action: condition
      if: {left: "{{event.company}}", op: equals, right: Acme}   # or {all: [...]} / {any: [...]}
      then: [ ...steps... ]
      else: [ ...steps... ]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from paragon_nb.errors import did_you_mean
from paragon_nb.runtime.conditions import CONDITION_OPS, KNOWN_OPS, UNARY_OPS
from paragon_nb.runtime.steps import ACTIONS

__all__ = [
    "ActionStep",
    "ConditionStep",
    "DELAY_UNITS",
    "DelayStep",
    "FanOutStep",
    "RetrySpec",
    "SpecModel",
    "Step",
    "checked_id",
    "iter_steps",
]

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def checked_id(value: str, problem: str) -> str:
    """``value`` when it is a valid id, else ValueError(``problem`` formatted with it)."""
    if not _ID.match(value):
        raise ValueError(problem.format(value))
    return value


class SpecModel(BaseModel):
    """The base of a spec's parts: unknown keys are refused, aliases or names accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetrySpec(SpecModel):
    """Auto-retry of one step: ``max_retries`` retries after the listed delays (the last delay
    repeats); ``on="transient"`` retries only transient Marketo errors (5xx, 604, 606, 615...)."""

    max_retries: int = Field(default=5, ge=0, le=20)
    delays: list[float] = Field(default_factory=lambda: [10.0, 20.0, 30.0, 50.0, 80.0])
    on: Literal["transient", "any"] = "transient"

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        if not self.delays:
            return 0.0
        return self.delays[min(retry_number, len(self.delays)) - 1]


def _coerce_retry(value: Any) -> Any:
    if value is True or value is None:
        return RetrySpec()
    if value is False:
        return RetrySpec(max_retries=0)
    return value


class _StepBase(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    title: str | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return checked_id(value, "step id {!r} must be letters, digits, _ or - (no dots)")


class ActionStep(_StepBase):
    """An action step; its parameters are the extra keys (``fields``, ``list_id``, ...)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    action: str
    retry: RetrySpec = Field(default_factory=RetrySpec)
    continue_on_failure: bool = False

    @field_validator("retry", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return _coerce_retry(value)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check_action(self) -> ActionStep:
        action = ACTIONS.get(self.action)
        if action is None:
            known = sorted([*ACTIONS, "condition", "delay", "fan_out"])
            raise ValueError(
                f"step {self.id!r}: unknown action {self.action!r}; known: {', '.join(known)}"
                + did_you_mean(self.action, known)
            )
        given = set(self.params)
        unknown = given - action.param_names
        if unknown:
            raise ValueError(
                f"step {self.id!r} ({self.action}): unknown parameter(s) "
                f"{', '.join(sorted(unknown))}; allowed: {', '.join(sorted(action.param_names))}"
            )
        missing = action.required_params - given
        if missing:
            raise ValueError(
                f"step {self.id!r} ({self.action}): missing parameter(s) "
                f"{', '.join(sorted(missing))}"
            )
        return self


class ConditionStep(_StepBase):
    """``if`` a rule holds run ``then`` else ``else``; output ``{result, selectedChoice}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    action: Literal["condition"]
    if_: dict[str, Any] = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    @field_validator("if_")
    @classmethod
    def _check_rule(cls, rule: dict[str, Any]) -> dict[str, Any]:
        _check_rule(rule)
        return rule


def _check_rule(rule: Any) -> None:
    if not isinstance(rule, Mapping):
        raise ValueError(f"a condition rule must be a mapping, got {rule!r}")
    for combinator in ("all", "any"):
        if combinator in rule:
            if set(rule) != {combinator} or not isinstance(rule[combinator], list):
                raise ValueError(f"'{combinator}' takes a list of rules and nothing beside it")
            for sub in rule[combinator]:
                _check_rule(sub)
            return
    if "or" in rule:  # disjunctive normal form: a list of AND-lists
        groups = rule["or"]
        if (
            set(rule) != {"or"}
            or not isinstance(groups, list)
            or not all(isinstance(g, list) and g for g in groups)
        ):
            raise ValueError("'or' takes a list of non-empty lists of rules (each list is ANDed)")
        for group in groups:
            for sub in group:
                _check_rule(sub)
        return
    extra = set(rule) - {"left", "op", "right"}
    if extra or "op" not in rule or "left" not in rule:
        raise ValueError(
            f"a rule is {{left, op, right}} (or all/any lists); got keys {sorted(rule)}"
        )
    if rule["op"] not in KNOWN_OPS:
        raise ValueError(
            f"unknown condition op {rule['op']!r}; known: {', '.join(sorted(CONDITION_OPS))}"
            + did_you_mean(str(rule["op"]), sorted(KNOWN_OPS))
        )
    if rule["op"] not in UNARY_OPS and "right" not in rule:
        raise ValueError(f"op {rule['op']!r} needs a 'right' operand")


#: Paragon's Delay units and their length in seconds; Paragon's default unit is MINUTES
DELAY_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
#: the longest Delay accepted (seconds): (U) Paragon documents no maximum; 365 days
MAX_DELAY = 365 * 86400.0


class DelayStep(_StepBase):
    """Paragon's Delay: wait ``value`` ``unit`` (seconds/minutes/hours/days, default minutes).
    The run waits as data (``runs.not_before``), holding no thread; output ``{seconds,
    resumed_at}``. ``value`` may be a ``{{ }}`` template rendering to a number."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    action: Literal["delay"]
    value: float | str
    unit: str = "minutes"

    @field_validator("unit")
    @classmethod
    def _check_unit(cls, unit: str) -> str:
        unit = unit.lower()  # Paragon writes SECONDS/MINUTES/HOURS/DAYS
        if unit not in DELAY_UNITS:
            raise ValueError(f"delay unit {unit!r} is not one of {', '.join(DELAY_UNITS)}")
        return unit

    @field_validator("value")
    @classmethod
    def _check_value(cls, value: float | str) -> float | str:
        if isinstance(value, str) and "{{" not in value:
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"delay value {value!r} is not a number") from None
        if not isinstance(value, str) and value < 0:
            raise ValueError(f"delay value {value} is negative")
        return value

    def seconds(self, value: Any) -> float:
        """The delay in seconds for a rendered ``value`` (StepError-free: ValueError)."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"delay value {value!r} is not a number") from None
        seconds = number * DELAY_UNITS[self.unit]
        if not 0 <= seconds <= MAX_DELAY:
            raise ValueError(f"a delay of {seconds:g} s is outside 0 to {MAX_DELAY:g} s")
        return seconds


class FanOutStep(_StepBase):
    """Paragon's Fan Out: run ``steps`` once per element of the array ``over`` renders to,
    all iterations at once (their Marketo writes share batches), then go on when every
    iteration is done. Inside, ``{{steps.<id>.instance}}`` is the element and
    ``{{steps.<id>.index}}`` its position; after it, ``steps.<id>`` is ``{count, results}``
    (``results``: per iteration, each inner step's output by step id)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    action: Literal["fan_out"]
    over: Any
    steps: list[Step] = Field(min_length=1)


_KINDS = {"condition", "delay", "fan_out"}


def _step_kind(value: Any) -> str:
    action = value.get("action") if isinstance(value, Mapping) else getattr(value, "action", None)
    return action if action in _KINDS else "action"


Step = Annotated[
    Annotated[ConditionStep, Tag("condition")]
    | Annotated[DelayStep, Tag("delay")]
    | Annotated[FanOutStep, Tag("fan_out")]
    | Annotated[ActionStep, Tag("action")],
    Discriminator(_step_kind),
]
ConditionStep.model_rebuild()
FanOutStep.model_rebuild()


def iter_steps(steps: Sequence[Any]) -> Any:
    """Every step, depth first, in document order (branch steps after their condition,
    a fan-out's steps after it)."""
    for step in steps:
        yield step
        if isinstance(step, ConditionStep):
            yield from iter_steps(step.then)
            yield from iter_steps(step.else_)
        elif isinstance(step, FanOutStep):
            yield from iter_steps(step.steps)
