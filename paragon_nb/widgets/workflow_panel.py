"""One workflow in the Connect Portal's Configuration tab: an enable toggle, its user
settings as form fields (text, number, boolean, dropdown, marketo_list) and Save.

Required settings are enforced here only to tell the user early; the runtime enforces them
again when enabling (``project.enable_workflow``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w

from paragon_nb._theme import BORDER, status_html

__all__ = ["WorkflowPanel", "deployed_workflows", "setting_specs"]


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        if not isinstance(obj, Mapping) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def setting_specs(workflow: Any) -> list[dict[str, Any]]:
    """The workflow's user settings as plain dicts (id, label, type, required, options)."""
    spec = _get(workflow, "spec", default=None)
    raw = _get(workflow, "user_settings", default=None)
    if raw is None and spec is not None:
        raw = _get(spec, "user_settings", default=[])
    out = []
    for item in raw or []:
        data = item.model_dump() if hasattr(item, "model_dump") else dict(_as_mapping(item))
        data.setdefault("label", data.get("id"))
        data.setdefault("type", "text")
        data.setdefault("required", False)
        out.append(data)
    return out


def _as_mapping(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    return {k: v for k, v in vars(item).items() if not k.startswith("_")}


def deployed_workflows(project: Any) -> list[dict[str, Any]]:
    """Deployed workflows of ``project`` as dicts: id, name, user_settings.

    (U) the Project interface names ``workflows()`` but not its item shape; objects with
    ``id``/``name``/``deployed`` (or ``deployed_version``) attributes and dicts both work.
    """
    out = []
    for wf in project.workflows():
        deployed = _get(wf, "deployed", "is_deployed", default=None)
        if deployed is None:
            deployed = _get(wf, "deployed_version", "version", default=None) is not None
        if not deployed:
            continue
        out.append(
            {
                "id": str(_get(wf, "id")),
                "name": str(_get(wf, "name")),
                "user_settings": setting_specs(_get(wf, "deployed_spec", default=None) or wf),
            }
        )
    return out


def _field_for(spec: Mapping[str, Any], value: Any, list_picker: Callable[[Any], Any]) -> Any:
    label = str(spec.get("label") or spec["id"]) + (" *" if spec.get("required") else "")
    kind = spec.get("type", "text")
    if kind == "marketo_list":
        picker = list_picker(None if value in (None, "") else int(value))
        picker._dropdown.description = label
        picker._dropdown.style.description_width = "120px"
        picker._filter.style.description_width = "120px"
        return picker
    if kind == "number":
        return w.FloatText(value=float(value or 0), description=label)
    if kind == "boolean":
        return w.Checkbox(value=bool(value), description=label, indent=False)
    if kind == "dropdown":
        options = [str(o) for o in spec.get("options") or []]
        return w.Dropdown(
            options=options, value=value if value in options else None, description=label
        )
    return w.Text(value="" if value is None else str(value), description=label)


class WorkflowPanel(w.VBox):
    """The Configuration panel of one workflow for one user.

    ``save()`` (the Save button) checks required settings, then calls the portal model's
    ``save_workflow`` (settings + enable/disable: the runtime does the work).
    """

    def __init__(
        self,
        workflow: Mapping[str, Any],
        model: Any,
        *,
        list_picker: Callable[[Any], Any],
        extra_field: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.workflow_id = str(workflow["id"])
        self.workflow_name = str(workflow["name"])
        self.model = model
        self.specs = list(workflow.get("user_settings") or [])
        current = model.workflow_settings.get(self.workflow_id) or {}
        values = dict(current.get("settings") or {})
        self._enabled = w.Checkbox(
            value=bool(current.get("enabled")), description="Enabled", indent=False
        )
        # extra_field(spec, value): the portal's widget for the types it draws itself
        # (field_mapping, custom_dropdown: widgets.connect_portal_fields), None for the rest
        self._fields = {
            spec["id"]: (extra_field and extra_field(spec, values.get(spec["id"])))
            or _field_for(spec, values.get(spec["id"], spec.get("default")), list_picker)
            for spec in self.specs
        }
        self._save = w.Button(description="Save", button_style="primary")
        self._status = w.HTML("")
        self._save.on_click(self._on_save_click)
        title = w.HTML(f"<b>{html.escape(self.workflow_name)}</b>")
        super().__init__(
            [w.HBox([title, self._enabled]), *self._fields.values(), self._save, self._status],
            layout=w.Layout(border=BORDER, padding="6px", margin="4px 0"),
        )
        self.add_class("paragon-workflow-panel")

    # state ---------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return bool(self._enabled.value)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled.value = bool(value)

    def field(self, setting_id: str) -> Any:
        """The widget for one setting (a ListPicker for marketo_list)."""
        return self._fields[setting_id]

    def settings(self) -> dict[str, Any]:
        """The values in the form, by setting id (unset ones left out)."""
        out: dict[str, Any] = {}
        for spec in self.specs:
            value = self._fields[spec["id"]].value
            if value in (None, ""):
                continue
            out[spec["id"]] = (
                int(value) if spec.get("type") == "number" and value == int(value) else value
            )
        return out

    def missing(self) -> list[str]:
        """Labels of required settings that have no value."""
        values = self.settings()
        return [
            str(s.get("label") or s["id"])
            for s in self.specs
            if s.get("required") and s["id"] not in values
        ]

    def save(self) -> bool:
        """Save the settings (and the Enabled toggle); refused, with the reason shown, while a
        required setting is empty: the workflow could not run without it."""
        missing = self.missing()
        if missing:
            self._status.value = status_html(
                f"Not saved: fill in the required setting(s) {', '.join(missing)} first.",
                ok=False,
            )
            return False
        ok = self.model.save_workflow(
            self.workflow_id, enabled=self.enabled, settings=self.settings()
        )
        self._status.value = status_html(self.model.last_saved if ok else self.model.error, ok=ok)
        return ok

    def _on_save_click(self, _button: w.Button) -> None:
        self.save()
