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

from paragon_nb.runtime.api import WorkflowSettings
from paragon_nb.runtime.workflows import UserSetting, Workflow
from paragon_nb.widgets.settings_form import SettingsForm, setting_field

if TYPE_CHECKING:
    from paragon_nb.runtime.project import Project

__all__ = ["WorkflowPanel", "deployed_workflows"]


def deployed_workflows(project: Project) -> list[Workflow]:
    """The deployed workflows of ``project``, in its order (drafts are not shown to users)."""
    return [wf for wf in project.workflows() if wf.deployed]


class WorkflowPanel(SettingsForm):
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
        current = model.workflow_settings.get(self.workflow_id) or WorkflowSettings()
        self._enabled = w.Checkbox(value=current.enabled, description="Enabled", indent=False)

        # extra_field(spec, value): the portal's widget for the types it draws itself
        # (field_mapping, custom_dropdown: widgets.connect_portal_fields), None for the rest
        def field_for(spec: UserSetting, value: Any) -> Any:
            return (extra_field and extra_field(spec, value)) or setting_field(
                spec, value, list_picker
            )

        title = w.HTML(f"<b>{html.escape(self.workflow_name)}</b>")
        super().__init__(
            workflow.user_settings,  # the deployed version's
            dict(current.settings),
            field_for=field_for,
            header=w.HBox([title, self._enabled]),
        )
        self.add_class("paragon-workflow-panel")

    @property
    def enabled(self) -> bool:
        return bool(self._enabled.value)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled.value = bool(value)

    def _store(self, settings: dict[str, Any]) -> tuple[bool, str]:
        """Settings and the Enabled toggle, in one ``save_workflow``."""
        ok = self.model.save_workflow(self.workflow_id, enabled=self.enabled, settings=settings)
        return ok, self.model.last_saved if ok else self.model.error
