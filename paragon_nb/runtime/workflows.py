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
from paragon_nb.runtime.conditions import CONDITION_OPS, UNARY_OPS
from paragon_nb.runtime.steps import ACTIONS

__all__ = [
    "ActionStep",
    "ConditionStep",
    "RetrySpec",
    "SettingType",
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


class Trigger(_Model):
    app_event: str = Field(min_length=1)


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
            known = sorted([*ACTIONS, "condition"])
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
    extra = set(rule) - {"left", "op", "right"}
    if extra or "op" not in rule or "left" not in rule:
        raise ValueError(
            f"a rule is {{left, op, right}} (or all/any lists); got keys {sorted(rule)}"
        )
    if rule["op"] not in CONDITION_OPS:
        raise ValueError(
            f"unknown condition op {rule['op']!r}; known: {', '.join(sorted(CONDITION_OPS))}"
        )
    if rule["op"] not in UNARY_OPS and "right" not in rule:
        raise ValueError(f"op {rule['op']!r} needs a 'right' operand")


def _step_kind(value: Any) -> str:
    action = value.get("action") if isinstance(value, Mapping) else getattr(value, "action", None)
    return "condition" if action == "condition" else "action"


Step = Annotated[
    Annotated[ConditionStep, Tag("condition")] | Annotated[ActionStep, Tag("action")],
    Discriminator(_step_kind),
]
ConditionStep.model_rebuild()


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
    """Every step, depth first, in document order (branch steps after their condition)."""
    for step in steps:
        yield step
        if isinstance(step, ConditionStep):
            yield from iter_steps(step.then)
            yield from iter_steps(step.else_)


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
