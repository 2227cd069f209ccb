"""A form of user settings with Save: the one settings-form code of the Connect Portal.

:class:`SettingsForm` owns the fields of a list of :class:`UserSetting` specs, their
values (``settings()``), the required ones left empty (``missing()``) and Save, which refuses
while a required setting is empty and otherwise hands the values to ``_store``. The
workflow panel (one workflow's settings + its Enabled toggle) and the integration-level
Settings section are the two subclasses; :func:`setting_field` draws the plain types (text,
number, boolean, dropdown, marketo_list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w

from paragon_nb._theme import BORDER, status_html
from paragon_nb.runtime.workflows import SettingType, UserSetting

__all__ = ["SettingsForm", "setting_field", "setting_label"]

#: (spec, value) -> the widget of one setting
FieldFor = Callable[[UserSetting, Any], Any]


def setting_label(spec: UserSetting) -> str:
    """The name a user reads for a setting: its label, else its id."""
    return spec.label or spec.id


def setting_field(spec: UserSetting, value: Any, list_picker: Callable[[Any], Any]) -> Any:
    """The widget of a plain setting type; ``list_picker(list_id)`` draws marketo_list."""
    label = setting_label(spec) + (" *" if spec.required else "")
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


class SettingsForm(w.VBox):
    """Fields for ``specs`` (each drawn by ``field_for(spec, value)``, its tooltip shown),
    a Save button and a status line, under ``header``.

    Subclasses say where the values go: ``_store(settings) -> (ok, message)``.
    """

    def __init__(
        self,
        specs: Sequence[UserSetting],
        values: Mapping[str, Any],
        *,
        field_for: FieldFor,
        header: Any,
        save_label: str = "Save",
    ) -> None:
        self.specs = list(specs)
        self._fields = {s.id: field_for(s, values.get(s.id, s.default)) for s in self.specs}
        for spec in self.specs:
            if spec.tooltip:  # hover text in JupyterLab
                self._fields[spec.id].tooltip = spec.tooltip
        self._save = w.Button(description=save_label, button_style="primary")
        self._save.on_click(self._on_save_click)
        self._status = w.HTML("")
        super().__init__(
            [header, *self._fields.values(), self._save, self._status],
            layout=w.Layout(border=BORDER, padding="6px", margin="4px 0"),
        )

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
        return [setting_label(s) for s in self.specs if s.required and s.id not in values]

    def save(self) -> bool:
        """Store the settings; refused, with the reason shown, while a required setting is
        empty (what needs it could not run without it)."""
        missing = self.missing()
        if missing:
            self._status.value = status_html(
                f"Not saved: fill in the required setting(s) {', '.join(missing)} first.",
                ok=False,
            )
            return False
        ok, message = self._store(self.settings())
        self._status.value = status_html(message, ok=ok)
        return ok

    def _store(self, settings: dict[str, Any]) -> tuple[bool, str]:
        raise NotImplementedError

    def _on_save_click(self, _button: w.Button) -> None:
        self.save()
