"""Workflow specs: the whole spec (trigger, workflow-level user settings, steps), its
parsing from YAML text or a dict, and :class:`Workflow` (a project's draft and deployed
version). The step models (actions, ``condition`` with ``then``/``else``, ``delay``,
``fan_out``, per-step ``retry`` and ``continue_on_failure``) are
:mod:`paragon_nb.runtime.workflow_steps`, re-exported here::

    name: Sync new leads to Marketo
    trigger: {app_event: Lead Created}
    user_settings: [{id: marketo_list, type: marketo_list, required: true}]
    steps:
      - id: upsert_lead
        action: marketo.create_or_update_lead
        fields: {email: "{{event.email}}"}

:func:`parse_spec` raises WorkflowSpecError listing every problem. The deploy-time check of
every ``{{ }}`` is :func:`paragon_nb.runtime.refcheck.check_references`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from paragon_nb.errors import WorkflowSpecError
from paragon_nb.runtime import workflow_steps
from paragon_nb.runtime.workflow_steps import *  # noqa: F403  (re-exported: see __all__)
from paragon_nb.runtime.workflow_steps import SpecModel, Step, checked_id, iter_steps

__all__ = [
    "SettingType",
    "LeadAddedTrigger",
    "RequestTrigger",
    "ScheduleTrigger",
    "TRIGGER_KINDS",
    "Trigger",
    "UserSetting",
    "Workflow",
    "WorkflowSpec",
    "parse_spec",
]
__all__ += workflow_steps.__all__  # the step models, re-exported


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


class UserSetting(SpecModel):
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
        return checked_id(value, "{!r} is not a valid id (letters, digits, _ and -)")

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


class RequestTrigger(SpecModel):
    """Paragon's Request trigger: ``POST /projects/{id}/sdk/triggers/{workflowId}``. The run
    sees ``request.body``, ``request.query`` and ``request.headers``. ``example``: a sample
    body (for the deploy check, like an App Event's example); ``validate``: refuse live
    bodies that do not match the example's inferred schema (400, listing each problem)."""

    example: dict[str, Any] = Field(default_factory=dict)
    validate_body: bool = Field(default=False, alias="validate")


class ScheduleTrigger(SpecModel):
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


class LeadAddedTrigger(SpecModel):
    """Marketo's "Lead Added to a List" (polling): ``list_id`` (usually
    ``{{settings.marketo_list}}``) polled every ``poll_seconds`` per user (Paragon: once a
    minute per account); one run per newly added lead, which the run sees as ``event``."""

    list_id: Any
    poll_seconds: float = Field(default=60.0, ge=1)


class Trigger(SpecModel):
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


class WorkflowSpec(SpecModel):
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
