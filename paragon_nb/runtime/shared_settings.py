"""Integration-level ("shared") user settings: declared once for the integration, filled in by
each user in the Connect Portal, and visible as ``{{settings.<id>}}`` in *every* workflow of
the integration (reference §5.3, §6.3; the SDK's ``sharedSettings``). Workflow-level
settings of the same id win inside their own workflow.

Declarations live in the project's meta (``shared_settings.marketo``: a list of
:class:`~paragon_nb.runtime.workflows.UserSetting`); values per user in the
``shared_settings`` table, converted by :mod:`~paragon_nb.runtime.setting_values`::

    shared.declare([{"id": "region", "type": "dropdown", "options": ["EU", "US"]}])
    shared.values_of("user-1")                 # {} until the user saves them
    shared.put("user-1", {"region": "EU"}, now=...)

Failure modes: WorkflowSpecError for a bad declaration (naming the setting), RuntimeStateError
for a value that is not declared or does not fit its type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from paragon_nb.errors import RuntimeStateError, WorkflowSpecError, did_you_mean
from paragon_nb.runtime.api import MARKETO
from paragon_nb.runtime.store import dumps, loads
from paragon_nb.runtime.workflows import UserSetting

__all__ = ["SharedSettings"]


def _meta_key(integration: str) -> str:
    return f"shared_settings.{integration}"


class SharedSettings:
    """Declarations and values of one project's integration-level settings."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._cache: tuple[str, list[UserSetting]] | None = None

    def declare(
        self, settings: Sequence[Mapping[str, Any] | UserSetting], *, integration: str = MARKETO
    ) -> list[UserSetting]:
        """Replace the declarations (ids unique). Users' values for ids no longer declared
        are kept but no longer shown or used."""
        parsed: list[UserSetting] = []
        problems: list[str] = []
        for i, item in enumerate(settings):
            try:
                parsed.append(
                    item if isinstance(item, UserSetting) else UserSetting.model_validate(item)
                )
            except ValidationError as exc:
                why = "; ".join(e["msg"] for e in exc.errors())
                problems.append(f"shared setting #{i + 1} ({dict(item).get('id')!r}): {why}")
        ids = [s.id for s in parsed]
        problems += [f"shared setting id {x!r} is declared twice" for x in set(ids)
                     if ids.count(x) > 1]  # fmt: skip
        if problems:
            raise WorkflowSpecError("; ".join(problems))
        self._store.set_meta(
            _meta_key(integration), json.dumps([s.model_dump(exclude_none=True) for s in parsed])
        )
        self._cache = None
        return parsed

    def declared(self, *, integration: str = MARKETO) -> list[UserSetting]:
        version = self._store.config_version()
        if self._cache is not None and self._cache[0] == version and integration == MARKETO:
            return list(self._cache[1])
        raw = self._store.get_meta(_meta_key(integration))
        out = [UserSetting.model_validate(d) for d in json.loads(raw)] if raw else []
        if integration == MARKETO:
            self._cache = (version, out)
        return list(out)

    def setting(self, key: str) -> UserSetting:
        declared = self.declared()
        for s in declared:
            if s.id == key:
                return s
        ids = [s.id for s in declared]
        raise RuntimeStateError(
            f"no shared (integration-level) setting {key!r}; declared: {', '.join(ids) or 'none'}"
            + did_you_mean(key, ids)
        )

    def values_of(self, sub: str, *, integration: str = MARKETO) -> dict[str, Any]:
        row = self._store.one(
            "SELECT settings FROM shared_settings WHERE sub = ? AND integration = ?",
            sub,
            integration,
        )
        return dict(loads(row["settings"]) or {}) if row is not None else {}

    def effective(self, sub: str) -> dict[str, Any]:
        """Declared defaults plus the user's values, for declared ids only."""
        declared = self.declared()
        stored = self.values_of(sub)
        out = {s.id: s.default for s in declared if s.default is not None}
        out.update({k: v for k, v in stored.items() if any(s.id == k for s in declared)})
        return out

    def put(
        self, sub: str, values: Mapping[str, Any], *, now: float, integration: str = MARKETO
    ) -> None:
        with self._store.tx() as c:
            c.execute(
                "INSERT INTO shared_settings(sub, integration, settings, updated) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (sub, integration) DO UPDATE SET "
                "settings = excluded.settings, updated = excluded.updated",
                (sub, integration, dumps(dict(values)), now),
            )

    def clear(self, sub: str, *, integration: str = MARKETO) -> None:
        with self._store.tx() as c:
            c.execute(
                "DELETE FROM shared_settings WHERE sub = ? AND integration = ?", (sub, integration)
            )
