"""The row shapes of the project database and its column codecs.

:class:`~paragon_nb.runtime.store.ProjectStore` hands its callers these frozen dataclasses
(JSON columns already decoded), never a driver's row: a misspelt column is an
AttributeError where it is written, not a KeyError at run time. :func:`from_row` builds one
from a database row; :func:`dumps` / :func:`loads` are the JSON codec of every JSON column.

    row = store.workflow_row("Sync new leads")      # WorkflowRow | None
    row.id, row.draft["trigger"], row.deployed_version
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypeVar

__all__ = [
    "AppEventRow",
    "CredentialRow",
    "VersionRow",
    "WorkflowRow",
    "dumps",
    "from_row",
    "loads",
]

R = TypeVar("R")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def from_row(cls: type[R], row: Mapping[str, Any], **computed: Any) -> R:
    """A row dataclass from a database row: each field read from the column of its name,
    except the ``computed`` ones (a decoded JSON column, a renamed or converted one).

        from_row(RunRow, r, context=loads(r["context"]) or {})
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: row[n] for n in names if n not in computed}, **computed)


class _Row:
    """A row dataclass whose ``_json`` columns are decoded JSON."""

    _json: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, r: Mapping[str, Any]) -> Self:
        return from_row(cls, r, **{c: loads(r[c]) for c in cls._json})


@dataclass(frozen=True)
class _Definition(_Row):
    """A named definition of the project (``app_events``, ``workflows``): its id, its unique
    name, when it was created and last changed; each table adds its own columns."""

    id: str
    name: str
    created: float
    updated: float


@dataclass(frozen=True)
class AppEventRow(_Definition):
    """``app_events``: an App Event with its example payload and inferred JSON Schema."""

    _json = ("example", "schema")

    example: dict[str, Any]
    schema: dict[str, Any]


@dataclass(frozen=True)
class WorkflowRow(_Definition):
    """``workflows``: a workflow's draft spec and its live version (None: not deployed)."""

    _json = ("draft",)

    draft: dict[str, Any]
    deployed_version: int | None


@dataclass(frozen=True)
class VersionRow(_Row):
    """``workflow_versions``: an immutable deployed snapshot, bound to its App Event by id."""

    _json = ("spec",)

    workflow_id: str
    version: int
    spec: dict[str, Any]
    event_id: str | None
    event_name: str
    deployed_at: float


@dataclass(frozen=True)
class CredentialRow(_Row):
    """``credentials``: a user's Marketo credential; the secret only as ciphertext."""

    id: str
    sub: str
    integration: str
    endpoint: str
    identity: str | None
    client_id: str
    secret_enc: str = field(repr=False)
    status: str
    error: str | None
    created: float
    checked: float
