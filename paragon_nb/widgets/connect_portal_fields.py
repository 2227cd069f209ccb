"""Connect Portal fields for Paragon's richer setting types, and the integration-level
("shared") Settings section of the Configuration tab.

- :class:`FieldMappingField`: one dropdown per app field, its options the Marketo lead fields
  loaded live from the user's ``describe``; ``.value`` is Paragon's FIELD_MAPPER shape
  ``{"objectMapping": "lead", "fieldMappings": {app field: Marketo field}}`` (None when
  nothing is mapped).
- :class:`CustomDropdownField`: the options the app passes as ``connect(dropdowns={key:
  [{"label", "value"}, ...]})`` (a list, or a function returning one, called when the field
  is drawn: Paragon's ``loadOptions``).
- :class:`SharedSettingsPanel`: the integration-level settings form with Save.

Every field shows its tooltip (``tooltip`` of the setting) and a ``*`` when required; a
required one left empty stops Save with a sentence naming it. Tests drive them headless::

    field = FieldMappingField(setting, None, load_fields=lambda: [("Email", "email")])
    field.picker("email").value = "email"; field.value
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as w

from paragon_nb._theme import status_html
from paragon_nb.errors import ParagonError
from paragon_nb.runtime.setting_values import LEAD_OBJECT
from paragon_nb.runtime.workflows import SettingType, UserSetting
from paragon_nb.widgets.settings_form import SettingsForm

__all__ = [
    "CustomDropdownField",
    "FieldMappingField",
    "SharedSettingsPanel",
    "dropdown_options",
    "portal_field",
]

#: (label shown, Marketo REST field name)
FieldOption = tuple[str, str]
_UNMAPPED: FieldOption = ("(not mapped)", "")


def _label(spec: UserSetting) -> str:
    return (spec.label or spec.id) + (" *" if spec.required else "")


def _tooltip(widget: Any, spec: UserSetting) -> Any:
    if spec.tooltip:
        widget.tooltip = spec.tooltip
    return widget


class FieldMappingField(w.VBox):
    """A Field Mapping setting: each app field -> a Marketo field picked from describe."""

    def __init__(
        self,
        spec: UserSetting,
        value: Any,
        *,
        load_fields: Callable[[], Iterable[FieldOption]],
    ) -> None:
        self.spec = spec
        self._load_fields = load_fields
        current = (
            dict((value or {}).get("fieldMappings") or {}) if isinstance(value, Mapping) else {}
        )
        self._title = _tooltip(w.HTML(f"<b>{html.escape(_label(spec))}</b>"), spec)
        self._status = w.HTML("")
        self._reload = w.Button(description="Reload fields", icon="refresh")
        self._reload.on_click(self._on_reload_click)
        self._pickers = {
            app: w.Dropdown(options=[_UNMAPPED], value="", description=app)
            for app in spec.fields or []
        }
        for picker in self._pickers.values():
            picker.style.description_width = "120px"
        super().__init__([self._title, *self._pickers.values(), self._reload, self._status])
        self.add_class("paragon-field-mapping")
        self.reload(current)

    def reload(self, keep: Mapping[str, str] | None = None) -> bool:
        """Load the Marketo fields again (one describe); a failure shows as a sentence."""
        chosen = dict(keep) if keep is not None else self.mappings()
        try:
            options = [_UNMAPPED, *sorted(self._load_fields(), key=lambda o: o[0].lower())]
        except ParagonError as exc:
            self._status.value = status_html(f"Could not load Marketo's fields: {exc}", ok=False)
            return False
        names = {name for _, name in options}
        for app, picker in self._pickers.items():
            picker.options = options
            picker.value = chosen.get(app, "") if chosen.get(app, "") in names else ""
        self._status.value = f"<small>{len(options) - 1} Marketo lead field(s)</small>"
        return True

    def picker(self, app_field: str) -> w.Dropdown:
        return self._pickers[app_field]

    def mappings(self) -> dict[str, str]:
        return {app: p.value for app, p in self._pickers.items() if p.value}

    @property
    def value(self) -> dict[str, Any] | None:
        mapped = self.mappings()
        return {"objectMapping": LEAD_OBJECT, "fieldMappings": mapped} if mapped else None

    def _on_reload_click(self, _button: w.Button) -> None:
        self.reload()


def dropdown_options(source: Any) -> list[tuple[str, str]]:
    """(label, value) pairs from what an app passes for a Custom Dropdown: a list of
    ``{"label", "value"}`` dicts, (label, value) pairs or plain strings, or a function that
    returns one. ValueError naming a duplicate value (Paragon: values must be unique)."""
    items = source() if callable(source) else source
    out: list[tuple[str, str]] = []
    for item in items or []:
        if isinstance(item, Mapping):
            pair = (str(item.get("label", item.get("value"))), str(item["value"]))
        elif isinstance(item, tuple | list):
            pair = (str(item[0]), str(item[1]))
        else:
            pair = (str(item), str(item))
        if any(pair[1] == v for _, v in out):
            raise ValueError(f"Custom Dropdown option value {pair[1]!r} appears twice")
        out.append(pair)
    return out


class CustomDropdownField(w.VBox):
    """A Custom Dropdown setting: options supplied by the app (``dropdowns=``)."""

    def __init__(self, spec: UserSetting, value: Any, *, options: Sequence[tuple[str, str]]):
        self.spec = spec
        key = spec.dropdown or spec.id
        choices = [("(choose)", ""), *options]
        current = str(value) if value not in (None, "") else ""
        if current and current not in {v for _, v in choices}:
            choices.append((f"{current} (no longer offered)", current))
        self._dropdown = _tooltip(
            w.Dropdown(options=choices, value=current, description=_label(spec)), spec
        )
        self._dropdown.style.description_width = "120px"
        hint = (
            ""
            if options
            else f"<small>No options: the app passes them as connect(dropdowns={{{key!r}: "
            "[...]})</small>"
        )
        super().__init__([self._dropdown, w.HTML(hint)])

    @property
    def value(self) -> str:
        return str(self._dropdown.value or "")

    @value.setter
    def value(self, new: str) -> None:
        self._dropdown.value = new


def portal_field(
    spec: UserSetting,
    value: Any,
    *,
    load_fields: Callable[[], Iterable[FieldOption]],
    dropdowns: Mapping[str, Any],
) -> Any:
    """The widget for a field_mapping or custom_dropdown setting; None for other types (the
    workflow panel draws those)."""
    if spec.type is SettingType.FIELD_MAPPING:
        return FieldMappingField(spec, value, load_fields=load_fields)
    if spec.type is SettingType.CUSTOM_DROPDOWN:
        source = dropdowns.get(spec.dropdown or spec.id, [])
        return CustomDropdownField(spec, value, options=dropdown_options(source))
    return None


class SharedSettingsPanel(SettingsForm):
    """The integration-level Settings of the Configuration tab: its fields and Save
    (``save(settings) -> (ok, message)``: the portal model's ``save_shared``).
    ``field_for(spec, value)`` draws one setting."""

    def __init__(
        self,
        specs: Sequence[UserSetting],
        values: Mapping[str, Any],
        *,
        field_for: Callable[[UserSetting, Any], Any],
        save: Callable[[dict[str, Any]], tuple[bool, str]],
    ) -> None:
        self._save_to = save
        super().__init__(
            specs,
            values,
            field_for=field_for,
            header=w.HTML("<b>Settings</b> <small>(all workflows)</small>"),
            save_label="Save settings",
        )
        self.add_class("paragon-shared-settings")

    def _store(self, settings: dict[str, Any]) -> tuple[bool, str]:
        return self._save_to(settings)
