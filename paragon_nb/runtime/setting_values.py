"""User setting values: what a user typed, converted to the type its setting declares.

Text stays text, numbers accept numeric strings, booleans accept true/false/yes/no/on/off/1/0,
a dropdown value must be one of its options, a ``marketo_list`` takes a static list id, a
``custom_dropdown`` a non-empty option value (the options live in the app: ``connect(dropdowns=
...)``) and a ``field_mapping`` maps the setting's app fields to Marketo fields, stored in
Paragon's FIELD_MAPPER shape ``{"objectMapping": "lead", "fieldMappings": {app: marketo}}``.
Every refusal is a RuntimeStateError naming the setting, its type and the value.

    coerce_setting(UserSetting(id="min_score", type="number"), "42")   # 42
    apply_field_mapping({"fieldMappings": {"first_name": "firstName"}}, {"first_name": "Ada"})
    # -> {"firstName": "Ada"}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paragon_nb.errors import RuntimeStateError, did_you_mean
from paragon_nb.runtime.field_mapping import LEAD_OBJECT, apply_field_mapping, mapped_marketo_fields
from paragon_nb.runtime.workflows import SettingType, UserSetting

__all__ = ["LEAD_OBJECT", "apply_field_mapping", "coerce_setting", "mapped_marketo_fields"]


def coerce_setting(setting: UserSetting, value: Any) -> Any:
    """``value`` converted to the setting's type; RuntimeStateError naming the setting."""
    where = f"setting {setting.id!r} ({setting.type.value})"
    kind = setting.type
    if kind is SettingType.TEXT:
        if isinstance(value, bool | dict | list):
            raise RuntimeStateError(f"{where} takes text, got {value!r}")
        return str(value)
    if kind is SettingType.NUMBER:
        if isinstance(value, bool):
            raise RuntimeStateError(f"{where} takes a number, got {value!r}")
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value).strip())
        except ValueError:
            raise RuntimeStateError(f"{where} takes a number, got {value!r}") from None
        return int(number) if number.is_integer() and "." not in str(value) else number
    if kind is SettingType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise RuntimeStateError(f"{where} takes true or false, got {value!r}")
    if kind is SettingType.FIELD_MAPPING:
        return _field_mapping(setting, value, where)
    if kind is SettingType.CUSTOM_DROPDOWN:
        if isinstance(value, bool | dict | list) or not str(value).strip():
            raise RuntimeStateError(f"{where} takes one option's value (text), got {value!r}")
        return str(value)
    if kind is SettingType.DROPDOWN:
        options = setting.options or []
        if str(value) not in options:
            raise RuntimeStateError(f"{where}: {value!r} is not an option; options: {options}")
        return str(value)
    # marketo_list: a static list id, "123" or 123 # (U) Paragon stores the option value
    # (probably a string); we store the int so {{settings.x}} feeds list_id directly.
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise RuntimeStateError(
            f"{where} takes a Marketo static list id such as 1001, got {value!r}"
        )
    return int(str(value).strip())


def _field_mapping(setting: UserSetting, value: Any, where: str) -> dict[str, Any]:
    """``{app field: Marketo field}`` or the FIELD_MAPPER shape -> the FIELD_MAPPER shape;
    unmapped (empty) fields are left out; every key must be one of the setting's fields."""
    if isinstance(value, Mapping) and "fieldMappings" in value:
        mappings = value["fieldMappings"]
    else:
        mappings = value
    if not isinstance(mappings, Mapping):
        raise RuntimeStateError(
            f"{where} takes a dict of app field -> Marketo field, e.g. "
            f"{{{(setting.fields or ['email'])[0]!r}: 'email'}}, got {value!r}"
        )
    allowed = list(setting.fields or [])
    out: dict[str, str] = {}
    for app_field, target in mappings.items():
        if app_field not in allowed:
            raise RuntimeStateError(
                f"{where}: {app_field!r} is not one of its app fields ({', '.join(allowed)})"
                + did_you_mean(str(app_field), allowed)
            )
        if target in (None, ""):
            continue
        if not isinstance(target, str):
            raise RuntimeStateError(
                f"{where}: {app_field!r} must map to a Marketo field name, got {target!r}"
            )
        out[str(app_field)] = target.strip()
    return {"objectMapping": LEAD_OBJECT, "fieldMappings": out}
