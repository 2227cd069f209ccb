"""User setting values: what a user typed, converted to the type its setting declares.

Text stays text, numbers accept numeric strings, booleans accept true/false/yes/no/on/off/1/0,
a dropdown value must be one of its options and a ``marketo_list`` takes a static list id.
Every refusal is a RuntimeStateError naming the setting, its type and the value.

    coerce_setting(UserSetting(id="min_score", type="number"), "42")   # 42
"""

from __future__ import annotations

from typing import Any

from paragon_nb.errors import RuntimeStateError
from paragon_nb.runtime.workflows import SettingType, UserSetting

__all__ = ["coerce_setting"]


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
