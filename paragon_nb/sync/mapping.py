"""Column -> Marketo field mapping, checked against ``describe`` before any write.

A column maps to a lead field when (first rule that matches wins):

1. the caller's explicit ``mapping`` names it (``{"E-mail": "email"}``);
2. it equals a REST name exactly (``firstName``);
3. it equals a REST name ignoring case (``FIRSTNAME``);
4. it equals a REST name or a display name once case, ``_``, ``-``, spaces and dots are
   ignored (``first_name``, ``First Name``, ``number_of_employees``).

A column that maps to nothing raises :class:`MappingError` naming the column and the
closest field names; ``ignore`` drops columns on purpose. Read-only fields are refused
(except the ``id`` lookup of ``updateOnly``), and so are two columns landing on one field.

    cm = build_mapping(["email", "first_name"], client.describe())
    cm.rest_names    # {'email': 'email', 'first_name': 'firstName'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from paragon_nb.errors import MappingError, close_matches
from paragon_nb.marketo.models import LeadField

__all__ = ["ColumnMapping", "build_mapping", "normalise_name", "suggest_mapping"]

_SEPARATORS = re.compile(r"[\s_\-.]+")


def normalise_name(name: str) -> str:
    """Fold case and drop separators: ``"First Name"``, ``first_name`` -> ``firstname``."""
    return _SEPARATORS.sub("", str(name)).casefold()


@dataclass(frozen=True)
class ColumnMapping:
    """The outcome of mapping: ``fields`` maps each kept column to its :class:`LeadField`
    (in column order); ``ignored`` lists the columns dropped on purpose; ``lookup_column``
    is the column that carries the lookup field."""

    fields: dict[str, LeadField]
    ignored: tuple[str, ...]
    lookup_column: str
    lookup_field: LeadField

    @property
    def rest_names(self) -> dict[str, str]:
        """column -> REST field name."""
        return {col: f.name for col, f in self.fields.items() if f.name is not None}


class _Index:
    """Lookup tables over the REST-usable fields of a describe result."""

    def __init__(self, fields: Iterable[LeadField]) -> None:
        self.by_name: dict[str, LeadField] = {}
        self.by_casefold: dict[str, LeadField] = {}
        self.by_normal: dict[str, LeadField] = {}
        display: dict[str, LeadField] = {}
        for f in fields:
            if not f.name:
                continue  # not usable over REST
            self.by_name[f.name] = f
            self.by_casefold.setdefault(f.name.casefold(), f)
            self.by_normal.setdefault(normalise_name(f.name), f)
            display.setdefault(normalise_name(f.display_name), f)
        # REST names win over display names when both normalise to the same text.
        for key, f in display.items():
            self.by_normal.setdefault(key, f)

    def find(self, column: str) -> LeadField | None:
        return (
            self.by_name.get(column)
            or self.by_casefold.get(column.casefold())
            or self.by_normal.get(normalise_name(column))
        )

    def suggest(self, column: str, *, n: int = 3) -> list[str]:
        """REST names closest to ``column`` (compared in normalised form)."""
        normal_to_rest = {normalise_name(k): k for k in self.by_name}
        for key, f in self.by_normal.items():
            normal_to_rest.setdefault(key, f.name or key)
        close = close_matches(normalise_name(column), normal_to_rest, n=n)
        return list(dict.fromkeys(normal_to_rest[c] for c in close))


def build_mapping(
    columns: Sequence[object],
    fields: Sequence[LeadField],
    *,
    mapping: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    lookup_field: str = "email",
    action: str = "createOrUpdate",
) -> ColumnMapping:
    """Map ``columns`` to the lead ``fields`` from describe.

    Raises :class:`MappingError` (before anything is written) when a column maps to no
    field (with did-you-mean), an explicit mapping names an unknown field or column, a
    field is read-only, two columns map to one field, or no column carries
    ``lookup_field``.
    """
    index = _Index(fields)
    explicit = dict(mapping or {})
    ignored = tuple(str(c) for c in ignore)
    column_names = [str(c) for c in columns]
    if len(set(column_names)) != len(column_names):
        dupes = sorted({c for c in column_names if column_names.count(c) > 1})
        raise MappingError(f"the input has duplicate column names {dupes}; rename them first")
    unknown_cols = [c for c in [*explicit, *ignored] if c not in column_names]
    if unknown_cols:
        raise MappingError(
            f"mapping/ignore name column(s) {unknown_cols} that the input does not have; "
            f"columns are {column_names}"
        )
    result: dict[str, LeadField] = {}
    problems: list[str] = []
    for col in column_names:
        if col in ignored:
            continue
        if col in explicit:
            target = explicit[col]
            field = index.by_name.get(target) or index.find(target)
            if field is None:
                hint = _hint(index.suggest(target))
                problems.append(f"mapping {col!r} -> {target!r}: no Marketo field {target!r}{hint}")
                continue
        else:
            field = index.find(col)
            if field is None:
                hint = _hint(index.suggest(col))
                problems.append(
                    f"column {col!r} maps to no Marketo field{hint}; map it with "
                    f"mapping={{{col!r}: '<field>'}} (CLI --map {col}=FIELD) or drop it with "
                    f"ignore=[{col!r}] (CLI --ignore {col})"
                )
                continue
        assert field.name is not None
        is_id_lookup = field.name == "id" and lookup_field == "id" and action == "updateOnly"
        if field.read_only and not is_id_lookup:
            problems.append(
                f"column {col!r} maps to read-only field {field.name!r}; Marketo will not "
                f"accept writes to it; drop it with ignore=[{col!r}]"
            )
            continue
        result[col] = field
    if problems:
        raise MappingError("; ".join(problems))
    seen: dict[str, str] = {}
    for col, field in result.items():
        assert field.name is not None
        if field.name in seen:
            raise MappingError(
                f"columns {seen[field.name]!r} and {col!r} both map to field {field.name!r}; "
                "ignore one of them or map it elsewhere"
            )
        seen[field.name] = col
    if lookup_field not in seen:
        known = index.by_name.get(lookup_field) or index.find(lookup_field)
        if known is None:
            raise MappingError(
                f"lookup field {lookup_field!r} is not a Marketo lead field"
                f"{_hint(index.suggest(lookup_field))}"
            )
        raise MappingError(
            f"no column maps to the lookup field {lookup_field!r}; every record needs it. "
            f"Columns: {column_names}; add mapping={{'<column>': {lookup_field!r}}}"
        )
    lookup_column = seen[lookup_field]
    return ColumnMapping(
        fields=result,
        ignored=ignored,
        lookup_column=lookup_column,
        lookup_field=result[lookup_column],
    )


def suggest_mapping(
    columns: Iterable[object], fields: Sequence[LeadField]
) -> dict[str, str | None]:
    """column -> the writable REST field that auto-mapping (rules 2-4) would pick, or None.

    What a form shows as a starting point; :func:`build_mapping` still checks the result.
    """
    index = _Index(f for f in fields if not f.read_only)
    out: dict[str, str | None] = {}
    for column in columns:
        found = index.find(str(column))
        out[str(column)] = found.name if found is not None else None
    return out


def _hint(names: list[str]) -> str:
    return f" (did you mean {', '.join(repr(n) for n in names)}?)" if names else ""
