"""A small Python builder for workflow specs, for people who prefer code cells to YAML.

Each method appends one step and returns the builder; :meth:`WorkflowBuilder.build` returns a
validated :class:`~paragon_nb.runtime.workflows.WorkflowSpec` (WorkflowSpecError otherwise)
and :meth:`WorkflowBuilder.to_yaml` the equivalent YAML::

    spec = (
        WorkflowBuilder("Sync new leads to Marketo", on="Lead Created")
        .setting("marketo_list", "marketo_list", label="Marketo list", required=True)
        .upsert_lead("upsert_lead", fields={"email": "{{event.email}}"})
        .add_to_list("add_to_list", list_id="{{settings.marketo_list}}",
                     lead_ids=["{{steps.upsert_lead.id}}"])
        .build()
    )
    project.add_workflow(spec)

Branches of a condition are :class:`Steps` built the same way (``Steps().python(...)``).
"""

from __future__ import annotations

from typing import Any

import yaml

from paragon_nb.runtime.workflows import WorkflowSpec, parse_spec

__all__ = ["Steps", "WorkflowBuilder"]


class Steps:
    """An ordered list of step dicts with one method per action."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def step(self, step_id: str, action: str, **params: Any) -> Any:
        """Any action by name; ``retry``/``continue_on_failure``/``title`` are options."""
        self.steps.append({"id": step_id, "action": action, **params})
        return self

    def upsert_lead(
        self, step_id: str, *, fields: dict[str, Any], lookup_field: str = "email", **opts: Any
    ) -> Any:
        return self.step(
            step_id,
            "marketo.create_or_update_lead",
            lookup_field=lookup_field,
            fields=fields,
            **opts,
        )

    def add_to_list(self, step_id: str, *, list_id: Any, lead_ids: Any, **opts: Any) -> Any:
        return self.step(
            step_id, "marketo.add_leads_to_list", list_id=list_id, lead_ids=lead_ids, **opts
        )

    def remove_from_list(self, step_id: str, *, list_id: Any, lead_ids: Any, **opts: Any) -> Any:
        return self.step(
            step_id, "marketo.remove_leads_from_list", list_id=list_id, lead_ids=lead_ids, **opts
        )

    def get_leads(
        self, step_id: str, *, values: Any, filter_type: str = "email", **opts: Any
    ) -> Any:
        return self.step(
            step_id, "marketo.get_leads", filter_type=filter_type, values=values, **opts
        )

    def get_lead(self, step_id: str, *, lead_id: Any, **opts: Any) -> Any:
        return self.step(step_id, "marketo.get_lead_by_id", lead_id=lead_id, **opts)

    def python(
        self, step_id: str, function: str, *, input: dict[str, Any] | None = None, **opts: Any
    ) -> Any:
        """Call a function registered with ``project.register_function(function, fn)``."""
        return self.step(step_id, "python", function=function, input=input or {}, **opts)

    def delay(self, step_id: str, value: Any, unit: str = "minutes") -> Any:
        """Paragon's Delay: wait ``value`` seconds/minutes/hours/days (the run waits as data)."""
        self.steps.append({"id": step_id, "action": "delay", "value": value, "unit": unit})
        return self

    def fan_out(self, step_id: str, over: Any, steps: Steps | list[dict[str, Any]]) -> Any:
        """Run ``steps`` once per element of ``over`` (``{{steps.<step_id>.instance}}``)."""
        inner = list(steps.steps if isinstance(steps, Steps) else steps)
        self.steps.append({"id": step_id, "action": "fan_out", "over": over, "steps": inner})
        return self

    def request(self, step_id: str, url: str, *, method: str = "GET", **opts: Any) -> Any:
        """A Request step: ``params``, ``headers``, ``body``/``form``/``raw``, ``auth``,
        ``pagination`` (see runtime.steps_http.RequestParams)."""
        return self.step(step_id, "request", url=url, method=method, **opts)

    def integration_request(
        self, step_id: str, path: str, *, method: str = "GET", **opts: Any
    ) -> Any:
        """An Integration Request: any Marketo REST ``path`` with the user's credential."""
        return self.step(step_id, "marketo.request", path=path, method=method, **opts)

    def response(self, step_id: str, *, status_code: int = 200, body: Any = None) -> Any:
        """The answer of a Request-triggered workflow."""
        return self.step(step_id, "response", status_code=status_code, body=body)

    def condition(
        self,
        step_id: str,
        rule: dict[str, Any],
        *,
        then: Steps | list[dict[str, Any]] | None = None,
        else_: Steps | list[dict[str, Any]] | None = None,
    ) -> Any:
        """``rule`` is ``{"left": ..., "op": ..., "right": ...}`` or ``{"all"|"any": [...]}``."""

        def as_list(branch: Steps | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
            if branch is None:
                return []
            return list(branch.steps if isinstance(branch, Steps) else branch)

        self.steps.append(
            {
                "id": step_id,
                "action": "condition",
                "if": dict(rule),
                "then": as_list(then),
                "else": as_list(else_),
            }
        )
        return self


class WorkflowBuilder(Steps):
    """A whole workflow: name, App Event trigger, user settings and steps."""

    def __init__(
        self,
        name: str,
        *,
        on: str | None = None,
        trigger: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        """``on``: an App Event name; or ``trigger``: any trigger mapping, e.g.
        ``{"schedule": {"cron": "0 9 * * 1-5"}}`` or ``{"request": {}}``."""
        super().__init__()
        if (on is None) == (trigger is None):
            raise TypeError("WorkflowBuilder needs exactly one of on='App Event' or trigger={...}")
        self.name = name
        self.trigger = dict(trigger) if trigger is not None else {"app_event": on}
        self.description = description
        self.user_settings: list[dict[str, Any]] = []

    def setting(
        self,
        setting_id: str,
        type: str = "text",
        *,
        label: str | None = None,
        required: bool = False,
        options: list[str] | None = None,
        default: Any = None,
    ) -> WorkflowBuilder:
        """Declare a user setting (text, number, boolean, dropdown, marketo_list)."""
        item: dict[str, Any] = {"id": setting_id, "type": type, "required": required}
        if label is not None:
            item["label"] = label
        if options is not None:
            item["options"] = list(options)
        if default is not None:
            item["default"] = default
        self.user_settings.append(item)
        return self

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "trigger": dict(self.trigger)}
        if self.description:
            data["description"] = self.description
        if self.user_settings:
            data["user_settings"] = self.user_settings
        data["steps"] = self.steps
        return data

    def build(self) -> WorkflowSpec:
        """The validated spec (WorkflowSpecError listing every problem)."""
        return parse_spec(self.to_dict())

    def to_yaml(self) -> str:
        """The spec as YAML, e.g. to paste into a ``%%workflow`` cell."""
        return yaml.safe_dump(self.build().to_dict(), sort_keys=False, allow_unicode=True)
