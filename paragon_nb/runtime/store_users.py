"""The project database's Connected Users: users (with their metadata), their
credentials (ciphertext only: the caller encrypts) and their per-workflow settings and
enablement. A mixin of :class:`~paragon_nb.runtime.store.ProjectStore`, which provides the
transactions (``tx``) and reads (``one``/``all``); every write here is configuration, so it
bumps the configuration version that the caches of every process key on.

    store.put_credential(CredentialRow(...))          # replaces the user's credential
    store.put_workflow_setting(sub, wf_id, settings={...}, enabled=True, now=t)
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from paragon_nb.runtime.db import Conn, Row
from paragon_nb.runtime.rows import CredentialRow, dumps

__all__ = ["UserStore"]

_INSERT_CREDENTIAL = (
    "INSERT INTO credentials(id, sub, integration, endpoint, identity, client_id, secret_enc, "
    "status, error, created, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class UserStore:
    """Users, credentials and workflow settings (mixed into ProjectStore)."""

    if TYPE_CHECKING:  # provided by ProjectStore

        def tx(self) -> AbstractContextManager[Conn]: ...
        def one(self, sql: str, *args: Any) -> Row | None: ...
        def all(self, sql: str, *args: Any) -> list[Row]: ...

    def ensure_user(self, sub: str, *, now: float, conn: Conn) -> None:
        conn.execute(
            "INSERT INTO users(sub, meta, created) VALUES (?, '{}', ?) "
            "ON CONFLICT (sub) DO NOTHING",
            (sub, now),
        )

    def user_row(self, sub: str) -> Row | None:
        return self.one("SELECT * FROM users WHERE sub = ?", sub)

    def user_rows(self) -> list[Row]:
        return self.all("SELECT * FROM users ORDER BY created, sub")

    def set_user_meta(self, sub: str, meta: Any, *, now: float) -> None:
        with self.tx() as c:
            self.ensure_user(sub, now=now, conn=c)
            c.execute("UPDATE users SET meta = ? WHERE sub = ?", (dumps(meta), sub))

    def credential(self, sub: str, integration: str) -> CredentialRow | None:
        row = self.one(
            "SELECT * FROM credentials WHERE sub = ? AND integration = ?", sub, integration
        )
        return None if row is None else CredentialRow.of(row)

    def put_credential(self, row: CredentialRow) -> None:
        """Insert or replace the user's credential for an integration (``secret_enc`` only)."""
        with self.tx() as c:
            self.ensure_user(row.sub, now=row.created, conn=c)
            c.execute(
                "DELETE FROM credentials WHERE sub = ? AND integration = ?",
                (row.sub, row.integration),
            )
            c.execute(
                _INSERT_CREDENTIAL,
                (row.id, row.sub, row.integration, row.endpoint, row.identity, row.client_id,
                 row.secret_enc, row.status, row.error, row.created, row.checked),
            )  # fmt: skip

    def set_credential_status(
        self, cred_id: str, status: str, *, error: str | None, now: float
    ) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE credentials SET status = ?, error = ?, checked = ? WHERE id = ?",
                (status, error, now, cred_id),
            )

    def delete_credential(self, sub: str, integration: str) -> None:
        """Remove the credential and every workflow setting/enablement of that user."""
        with self.tx() as c:
            c.execute(
                "DELETE FROM credentials WHERE sub = ? AND integration = ?", (sub, integration)
            )
            c.execute("DELETE FROM workflow_settings WHERE sub = ?", (sub,))

    def workflow_settings(self, sub: str) -> list[Row]:
        return self.all("SELECT * FROM workflow_settings WHERE sub = ?", sub)

    def workflow_setting(self, sub: str, wf_id: str) -> Row | None:
        return self.one(
            "SELECT * FROM workflow_settings WHERE sub = ? AND workflow_id = ?", sub, wf_id
        )

    def put_workflow_setting(
        self, sub: str, wf_id: str, *, settings: Any, enabled: bool, now: float
    ) -> None:
        with self.tx() as c:
            self.ensure_user(sub, now=now, conn=c)
            c.execute(
                "INSERT INTO workflow_settings(sub, workflow_id, settings, enabled, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(sub, workflow_id) DO UPDATE SET "
                "settings = excluded.settings, enabled = excluded.enabled, "
                "updated = excluded.updated",
                (sub, wf_id, dumps(settings), int(enabled), now),
            )
