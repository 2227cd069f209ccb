"""One workflow in the Connect Portal's Configuration tab: an enable toggle, its user
settings as form fields (text, number, boolean, dropdown, marketo_list) and Save.

Required settings are enforced here only to tell the user early; the runtime enforces them
again when enabling (``project.enable_workflow``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from paragon_nb._theme import BORDER, status_html
from paragon_nb.runtime.api import WorkflowSettings
from paragon_nb.runtime.workflows import SettingType, UserSetting, Workflow

if TYPE_CHECKING:
    from paragon_nb.runtime.project import Project

__all__ = ["WorkflowPanel", "deployed_workflows"]


def deployed_workflows(project: Project) -> list[Workflow]:
    """The deployed workflows of ``project``, in its order (drafts are not shown to users)."""
    return [wf for wf in project.workflows() if wf.deployed]


def _label(spec: UserSetting) -> str:
    return spec.label or spec.id


def _field_for(spec: UserSetting, value: Any, list_picker: Callable[[Any], Any]) -> Any:
    label = _label(spec) + (" *" if spec.required else "")
    if spec.type is SettingType.MARKETO_LIST:
        picker = list_picker(None if value in (None, "") else int(value))
        picker._dropdown.description = label
        picker._dropdown.style.description_width = "120px"
        picker._filter.style.description_width = "120px"
        return picker
    if spec.type is SettingType.NUMBER:
        return w.FloatText(value=float(value or 0), description=label)
    if spec.type is SettingType.BOOLEAN:
        return w.Checkbox(value=bool(value), description=label, indent=False)
    if spec.type is SettingType.DROPDOWN:
        options = [str(o) for o in spec.options or []]
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
        workflow: Workflow,
        model: Any,
        *,
        list_picker: Callable[[Any], Any],
        extra_field: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self.workflow_id = workflow.id
        self.workflow_name = workflow.name
        self.model = model
        self.specs = workflow.user_settings  # the deployed version's
        current = model.workflow_settings.get(self.workflow_id) or WorkflowSettings()
        values = dict(current.settings)
        self._enabled = w.Checkbox(value=current.enabled, description="Enabled", indent=False)
        # extra_field(spec, value): the portal's widget for the types it draws itself
        # (field_mapping, custom_dropdown: widgets.connect_portal_fields), None for the rest
        self._fields = {
            spec.id: (extra_field and extra_field(spec, values.get(spec.id)))
            or _field_for(spec, values.get(spec.id, spec.default), list_picker)
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
            value = self._fields[spec.id].value
            if value in (None, ""):
                continue
            number = spec.type is SettingType.NUMBER
            out[spec.id] = int(value) if number and value == int(value) else value
        return out

    def missing(self) -> list[str]:
        """Labels of required settings that have no value."""
        values = self.settings()
        return [_label(s) for s in self.specs if s.required and s.id not in values]

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
