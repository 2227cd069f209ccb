"""Field Mapping values at run time: what a stored mapping writes, and a record through it.
(Apart from :mod:`~paragon_nb.runtime.setting_values` so that steps can use it without
importing the workflow model.)

    apply_field_mapping({"fieldMappings": {"first_name": "firstName"}}, {"first_name": "Ada"})
    # -> {"firstName": "Ada"}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paragon_nb.errors import StepError

__all__ = ["LEAD_OBJECT", "apply_field_mapping", "mapped_marketo_fields"]

#: the Marketo object a field mapping fills (# (U) Paragon's objectMapping value for Marketo)
LEAD_OBJECT = "lead"


def mapped_marketo_fields(value: Mapping[str, Any]) -> list[str]:
    """The Marketo fields a stored field mapping writes (to check against describe)."""
    return sorted(set((value.get("fieldMappings") or {}).values()))


def apply_field_mapping(mapping: Any, record: Any) -> dict[str, Any]:
    """The Marketo fields of ``record`` (an app object, e.g. the event) through a stored
    field mapping: ``{marketo field: record[app field]}`` for each mapped field present in
    the record. StepError when the mapping is not one (e.g. the setting is not filled)."""
    mappings = mapping.get("fieldMappings") if isinstance(mapping, Mapping) else None
    if not isinstance(mappings, Mapping):
        raise StepError(
            "fields_from.mapping must be a field mapping setting (e.g. "
            "'{{settings.lead_fields}}'), got " + repr(mapping)[:80]
        )
    if not isinstance(record, Mapping):
        raise StepError(f"fields_from.record must be an object (e.g. '{{{{event}}}}'), got "
                        f"{type(record).__name__}")  # fmt: skip
    return {target: record[app] for app, target in mappings.items() if app in record}
