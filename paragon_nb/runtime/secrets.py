"""Environment secrets: values a workflow uses as ``{{secrets.NAME}}`` (API keys of other
services, shared passwords), kept out of specs, run records and displays.

Paragon's admins manage them under Settings > Environment Secrets; here they are
``project.set_secret(name, value)``. Values are encrypted at rest with the project's
:class:`~paragon_nb.settings.SecretBox` (Fernet); only names are ever listed. A run resolves
``{{secrets.NAME}}`` when a step renders its input, and every stored record of that run is
masked with the values (the one redactor, :mod:`paragon_nb._redact`)::

    secrets.set("CRM_TOKEN", "tok-123")
    secrets.names()        # ['CRM_TOKEN']
    secrets.values()       # {'CRM_TOKEN': 'tok-123'}  (for the engine only)

Failure modes: RuntimeStateError for a bad name or an empty value, NotFoundError (with a
did-you-mean) when deleting a name that is not set, ConfigurationError when the project's
secret key changed since a value was stored.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb._redact import MIN_SECRET_LENGTH
from paragon_nb.errors import NotFoundError, RuntimeStateError, did_you_mean
from paragon_nb.settings import SecretBox

__all__ = ["NAME_PATTERN", "EnvironmentSecrets"]

#: a secret's name: what may follow ``secrets.`` in a template without quoting
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class EnvironmentSecrets:
    """The project's environment secrets (thread-safe; decrypted values are cached until
    the project's configuration changes)."""

    def __init__(self, store: Any, box: SecretBox, *, clock: Clock) -> None:
        self._store = store
        self._box = box
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: tuple[str, dict[str, str]] | None = None

    def set(self, name: str, value: str) -> None:
        """Store (or replace) secret ``name``; nothing about the value is returned."""
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RuntimeStateError(
                f"secret name {name!r} must start with a letter or _ and hold only letters, "
                "digits and _ (it is used as {{secrets.NAME}}), e.g. 'CRM_API_KEY'"
            )
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            # shorter values could not be masked in run records without garbling them
            raise RuntimeStateError(
                f"secret {name!r} needs a string value of at least {MIN_SECRET_LENGTH} "
                f"characters, got {type(value).__name__}"
                + (f" of length {len(value)}" if isinstance(value, str) else "")
            )
        now = self._clock.time()
        with self._store.tx() as c:
            c.execute(
                "INSERT INTO env_secrets(name, value_enc, created, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value_enc = excluded.value_enc, "
                "updated = excluded.updated",
                (name, self._box.encrypt(value), now, now),
            )

    def delete(self, name: str) -> None:
        """Remove secret ``name`` (NotFoundError naming the ones that exist)."""
        names = self.names()
        if name not in names:
            raise NotFoundError(
                f"no environment secret {name!r}; set: {', '.join(names) or 'none'}"
                + did_you_mean(name, names)
            )
        with self._store.tx() as c:
            c.execute("DELETE FROM env_secrets WHERE name = ?", (name,))

    def names(self) -> list[str]:
        """The names of the secrets, sorted (never their values)."""
        return [
            str(r["name"]) for r in self._store.all("SELECT name FROM env_secrets ORDER BY name")
        ]

    def values(self) -> dict[str, str]:
        """``{name: value}`` decrypted: what runs resolve ``{{secrets.NAME}}`` from and mask."""
        version = self._store.config_version()
        with self._lock:
            if self._cache is not None and self._cache[0] == version:
                return dict(self._cache[1])
        rows = self._store.all("SELECT name, value_enc FROM env_secrets ORDER BY name")
        values = {str(r["name"]): self._box.decrypt(r["value_enc"]) for r in rows}
        with self._lock:
            self._cache = (version, values)
        return dict(values)

    def __repr__(self) -> str:
        return f"EnvironmentSecrets(names={self.names()!r})"
