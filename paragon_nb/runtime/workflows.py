"""Workflow specs: the pydantic model and parsing from YAML text or a dict.

A spec names one App Event trigger, the workflow-level user settings and a list of steps.
Steps are actions (``marketo.*``, ``python``) or ``condition`` steps with ``then``/``else``
branches::

    - id: is_vip
      action: condition
      if: {left: "{{event.company}}", op: equals, right: Acme}   # or {all: [...]} / {any: [...]}
      then: [ ...steps... ]
      else: [ ...steps... ]

Per step: ``retry`` (``true``/``false`` or ``{max_retries, delays, on: transient|any}``; on by
default for transient Marketo errors with Paragon's 10/20/30/50/80 s schedule) and
``continue_on_failure`` (the error becomes the step's output and the run goes on).

:func:`parse_spec` raises WorkflowSpecError listing every problem. The deploy-time check of
every ``{{ }}`` is :func:`paragon_nb.runtime.refcheck.check_references`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from paragon_nb.errors import WorkflowSpecError, did_you_mean
from paragon_nb.runtime.conditions import CONDITION_OPS, KNOWN_OPS, UNARY_OPS
from paragon_nb.runtime.steps import ACTIONS

__all__ = [
    "ActionStep",
    "ConditionStep",
    "DELAY_UNITS",
    "DelayStep",
    "FanOutStep",
    "RetrySpec",
    "SettingType",
    "LeadAddedTrigger",
    "RequestTrigger",
    "ScheduleTrigger",
    "TRIGGER_KINDS",
    "Trigger",
    "UserSetting",
    "Workflow",
    "WorkflowSpec",
    "iter_steps",
    "parse_spec",
]

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _checked_id(value: str, problem: str) -> str:
    """``value`` when it is a valid id, else ValueError(``problem`` formatted with it)."""
    if not _ID.match(value):
        raise ValueError(problem.format(value))
    return value


class SettingType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DROPDOWN = "dropdown"
    MARKETO_LIST = "marketo_list"
    #: Paragon's Field Mapping: each app field (``fields``) -> a Marketo field from describe
    FIELD_MAPPING = "field_mapping"
    #: Paragon's Custom Dropdown: options from the app, ``connect(dropdowns={key: [...]})``
    CUSTOM_DROPDOWN = "custom_dropdown"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UserSetting(_Model):
    """A workflow-level user setting shown in the Connect Portal when enabling the workflow."""

    id: str
    label: str | None = None
    type: SettingType = SettingType.TEXT
    required: bool = False
    options: list[str] | None = None
    default: Any = None
    tooltip: str | None = None
    #: field_mapping: the app's fields the user maps to Marketo fields
    fields: list[str] | None = None
    #: custom_dropdown: the key of its options in ``connect(dropdowns=...)`` (default: the id)
    dropdown: str | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return _checked_id(value, "{!r} is not a valid id (letters, digits, _ and -)")

    @model_validator(mode="after")
    def _check_options(self) -> UserSetting:
        if self.type is SettingType.DROPDOWN and not self.options:
            raise ValueError(f"dropdown setting {self.id!r} needs a non-empty options list")
        if self.type is not SettingType.DROPDOWN and self.options is not None:
            raise ValueError(f"options are only for dropdown settings (setting {self.id!r})")
        if self.type is SettingType.FIELD_MAPPING and not self.fields:
            raise ValueError(
                f"field_mapping setting {self.id!r} needs 'fields': the app fields to map"
            )
        if self.type is not SettingType.FIELD_MAPPING and self.fields is not None:
            raise ValueError(f"fields are only for field_mapping settings (setting {self.id!r})")
        if self.type is not SettingType.CUSTOM_DROPDOWN and self.dropdown is not None:
            raise ValueError(f"dropdown is only for custom_dropdown settings (setting {self.id!r})")
        return self


class RequestTrigger(_Model):
    """Paragon's Request trigger: ``POST /projects/{id}/sdk/triggers/{workflowId}``. The run
    sees ``request.body``, ``request.query`` and ``request.headers``. ``example``: a sample
    body (for the deploy check, like an App Event's example); ``validate``: refuse live
    bodies that do not match the example's inferred schema (400, listing each problem)."""

    example: dict[str, Any] = Field(default_factory=dict)
    validate_body: bool = Field(default=False, alias="validate")


class ScheduleTrigger(_Model):
    """Paragon's Scheduler: ``every`` N ``unit`` (seconds/minutes/hours/days/weeks) or a
    ``cron`` expression, evaluated in ``timezone`` (IANA name; default America/Los_Angeles,
    Paragon's default) unless the user's metadata has ``timezone_meta`` (default
    ``timezone``). Runs once per user who enabled the workflow."""

    every: float | None = Field(default=None, gt=0)
    unit: str = "minutes"
    cron: str | None = None
    timezone: str = "America/Los_Angeles"
    timezone_meta: str = "timezone"

    @model_validator(mode="after")
    def _check(self) -> ScheduleTrigger:
        from paragon_nb.runtime.schedule import check_schedule

        check_schedule(self)
        return self


class LeadAddedTrigger(_Model):
    """Marketo's "Lead Added to a List" (polling): ``list_id`` (usually
    ``{{settings.marketo_list}}``) polled every ``poll_seconds`` per user (Paragon: once a
    minute per account); one run per newly added lead, which the run sees as ``event``."""

    list_id: Any
    poll_seconds: float = Field(default=60.0, ge=1)


class Trigger(_Model):
    """Exactly one of: ``app_event`` (name), ``request``, ``schedule``,
    ``integration_enabled: true``, ``lead_added_to_list``."""

    app_event: str | None = Field(default=None, min_length=1)
    request: RequestTrigger | None = None
    schedule: ScheduleTrigger | None = None
    integration_enabled: bool = False
    lead_added_to_list: LeadAddedTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in TRIGGER_KINDS if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(
                f"a trigger is exactly one of {', '.join(TRIGGER_KINDS)}; got "
                f"{', '.join(given) or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) not in (None, False))


#: the trigger kinds, as spelled in a spec
TRIGGER_KINDS = ("app_event", "request", "schedule", "integration_enabled", "lead_added_to_list")


class RetrySpec(_Model):
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
        return _checked_id(value, "step id {!r} must be letters, digits, _ or - (no dots)")


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


class WorkflowSpec(_Model):
    """A whole workflow as written by a person (YAML or dict)."""

    name: str = Field(min_length=1)
    description: str | None = None
    trigger: Trigger
    user_settings: list[UserSetting] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> WorkflowSpec:
        seen: set[str] = set()
        for step in iter_steps(self.steps):
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice; step ids must be unique")
            seen.add(step.id)
        ids = [s.id for s in self.user_settings]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"user setting id(s) used twice: {', '.join(dupes)}")
        return self

    def setting(self, setting_id: str) -> UserSetting | None:
        return next((s for s in self.user_settings if s.id == setting_id), None)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`parse_spec` turns back into an equal spec."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


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


def parse_spec(spec: str | Mapping[str, Any] | WorkflowSpec) -> WorkflowSpec:
    """A :class:`WorkflowSpec` from YAML text, a dict or a spec. WorkflowSpecError if invalid."""
    if isinstance(spec, WorkflowSpec):
        return spec
    if isinstance(spec, str):
        try:
            data = yaml.safe_load(spec)
        except yaml.YAMLError as exc:
            raise WorkflowSpecError(f"the workflow spec is not valid YAML: {exc}") from None
    else:
        data = spec
    if not isinstance(data, Mapping):
        raise WorkflowSpecError(
            f"a workflow spec is a mapping with name, trigger and steps; got {type(data).__name__}"
        )
    try:
        return WorkflowSpec.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if p not in ("action", "condition"))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "string_type" and isinstance(err.get("input"), bool):
                msg += " (YAML reads yes/no/on/off/true/false as booleans: quote the value)"
            problems.append(f"{loc}: {msg}" if loc else msg)
        name = data.get("name", "?")
        raise WorkflowSpecError(
            f"workflow {name!r} is invalid:\n  - " + "\n  - ".join(problems)
        ) from None


@dataclass(frozen=True)
class Workflow:
    """A workflow as the project keeps it: the editable draft and the deployed version."""

    id: str
    name: str
    spec: WorkflowSpec  # the draft
    deployed_version: int | None
    versions: tuple[int, ...]
    created: float
    updated: float
    deployed_spec: WorkflowSpec | None = None  # the live version's spec

    @property
    def deployed(self) -> bool:
        return self.deployed_version is not None

    @property
    def user_settings(self) -> list[UserSetting]:
        """The settings users see: the deployed version's, else the draft's."""
        return list((self.deployed_spec or self.spec).user_settings)

    def __repr__(self) -> str:
        state = f"v{self.deployed_version} deployed" if self.deployed else "not deployed"
        return (
            f"Workflow(name={self.name!r}, id={self.id!r}, {state}, versions={list(self.versions)})"
        )
