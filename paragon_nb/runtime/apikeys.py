"""Project API keys: what the Task History API is called with (Paragon: Settings > API Keys).

A key is shown once, when it is created; the project keeps only its SHA-256 digest (a key is
32 random bytes, so a fast digest is the right tool: there is nothing to brute-force, unlike
a password). A key is ``pnb_<id>_<secret>``: the id finds the row, the digest is compared in
constant time. Keys never expire; revoke them::

    issued = api_keys.create(name="ops dashboard")
    issued.key                  # 'pnb_1a2b3c4d5e6f_...': copy it now, it is not shown again
    api_keys.verify(issued.key) # the key's id (TokenInvalid if unknown, revoked or mangled)
    api_keys.revoke(issued.id)

A user token is not an API key and an API key is not a user token: :func:`looks_like_api_key`
lets each door say which one it wants.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import NotFoundError, TokenInvalid, did_you_mean

__all__ = ["ApiKey", "ApiKeys", "IssuedApiKey", "looks_like_api_key"]

PREFIX = "pnb_"
_KEY = re.compile(r"^pnb_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_\-]{43})$")


def looks_like_api_key(token: str) -> bool:
    """True for text in the shape of a project API key (not whether it is valid)."""
    return token.startswith(PREFIX)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored key as listings show it: never the key itself."""

    id: str
    name: str
    created: float
    last_used: float | None
    revoked: float | None

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True)
class IssuedApiKey:
    """A key just created: ``.key`` is the only time it can be read. The repr hides it, so a
    notebook output or a log line does not keep it; print ``issued.key`` to copy it."""

    id: str
    name: str
    key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"IssuedApiKey(id={self.id!r}, name={self.name!r}, key='pnb_{self.id}_***')"


class ApiKeys:
    """The project's API keys (thread-safe: each call is one statement or transaction)."""

    def __init__(self, store: Any, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def create(self, name: str | None = None) -> IssuedApiKey:
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        label = (name or "").strip() or f"key {key_id}"
        with self._store.tx() as c:
            c.execute(
                "INSERT INTO api_keys(id, name, key_hash, created) VALUES (?, ?, ?, ?)",
                (key_id, label, _digest(key), self._clock.time()),
            )
        return IssuedApiKey(key_id, label, key)

    def list(self) -> list[ApiKey]:
        rows = self._store.all(
            "SELECT id, name, created, last_used, revoked FROM api_keys ORDER BY created, id"
        )
        return [
            ApiKey(str(r["id"]), str(r["name"]), r["created"], r["last_used"], r["revoked"])
            for r in rows
        ]

    def revoke(self, key_id: str) -> None:
        """Revoke a key by id (or by the key itself); NotFoundError naming the known ids."""
        match = _KEY.match(key_id)
        key_id = match["id"] if match else key_id
        known = [k.id for k in self.list() if k.active]
        if key_id not in known:
            raise NotFoundError(
                f"no active API key {key_id!r}; active keys: {', '.join(known) or 'none'}"
                + did_you_mean(key_id, known)
            )
        with self._store.tx() as c:
            c.execute("UPDATE api_keys SET revoked = ? WHERE id = ?", (self._clock.time(), key_id))

    def verify(self, key: str) -> str:
        """The id of an active key (TokenInvalid otherwise, never saying which part was
        wrong)."""
        match = _KEY.match(key.strip())
        row = None
        if match is not None:
            row = self._store.one(
                "SELECT key_hash, revoked FROM api_keys WHERE id = ?", match["id"]
            )
        if (
            row is None
            or row["revoked"] is not None
            or not hmac.compare_digest(str(row["key_hash"]), _digest(key.strip()))
        ):
            raise TokenInvalid(
                "the API key is unknown or revoked; create one with project.create_api_key()"
            )
        return str(match["id"])  # type: ignore[index]

    def touch(self, key_id: str) -> None:
        """Remember when a key was last used (shown in listings)."""
        with self._store.run_tx() as c:
            c.execute(
                "UPDATE api_keys SET last_used = ? WHERE id = ?", (self._clock.time(), key_id)
            )
