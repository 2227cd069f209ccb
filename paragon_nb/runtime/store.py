"""The project database: one SQLite file (WAL) per project folder, safe across threads.

Tables: ``meta`` (id, name, strict flag), ``signing_keys`` (public halves only), ``app_events``,
``workflows`` (the draft) and ``workflow_versions`` (immutable deployed snapshots), ``users``,
``credentials`` (client secrets Fernet-encrypted by the caller), ``workflow_settings``,
``events`` (every accepted event), ``runs`` and ``run_steps``.

Every write is one short ``BEGIN IMMEDIATE`` transaction on the process's write connection. JSON
columns are written with :func:`dumps` and read back with :func:`loads`; definitions come
back as the row dataclasses of :mod:`paragon_nb.runtime.rows`. This module knows
nothing about secrets: callers hand it ciphertext only.

    store = ProjectStore(folder / "project.sqlite3")
    store.init(project_id="...", name="Demo", now=clock.time())
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paragon_nb._sqlite import connect, transaction
from paragon_nb.runtime.api import UNFINISHED
from paragon_nb.runtime.rows import (
    AppEventRow,
    CredentialRow,
    VersionRow,
    WorkflowRow,
    dumps,
    from_row,
    loads,
)
from paragon_nb.runtime.schema import SCHEMA_VERSION, upgrade

__all__ = ["DB_FILE_NAME", "SCHEMA_VERSION", "ProjectStore", "dumps", "from_row", "loads"]

DB_FILE_NAME = "project.sqlite3"
#: how stale another process's configuration change may look here (seconds)
VERSION_TTL = 0.2
_INSERT_CREDENTIAL = (
    "INSERT INTO credentials(id, sub, integration, endpoint, identity, client_id, secret_enc, "
    "status, error, created, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class ProjectStore:
    """Data access for one project database (thread-safe). Writes share one connection behind
    a lock; reads borrow a connection from a small pool, so a server that runs each request
    on a new thread never opens a connection per request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._version, self._version_read = "0", -float("inf")
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        with self.run_tx() as conn:  # the schema's migrations (runtime.schema), all or none
            upgrade(conn, where=repr(str(self.path)))

    # plumbing -------------------------------------------------------------------------
    def _write_conn(self) -> sqlite3.Connection:
        if self._writer is None:  # opened lazily, so a closed store still answers reads
            self._writer = connect(self.path)
        return self._writer

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = connect(self.path)
        try:
            yield conn
        finally:
            self._readers.put(conn)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that changes configuration (anything but events, runs and
        their steps): it bumps ``config_version``, so every process's caches of workflows,
        credentials and settings see the change (:meth:`config_version`)."""
        try:
            with self.run_tx() as conn:
                conn.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                    "WHERE key = 'config_version'"
                )
                yield conn
        finally:
            self._version_read = -float("inf")  # this process sees its own change at once

    @contextmanager
    def run_tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction for events, runs, steps and the work queue. Writers of this
        process queue on a lock first: SQLite's own busy handler sleeps with backoff, which
        under many worker and request threads turns into long stalls. Other processes still
        meet the busy timeout."""
        with self._write_lock, transaction(self._write_conn()) as conn:
            yield conn

    def config_version(self) -> str:
        """Changes whenever configuration changes: at once for this process's own writes,
        within ``VERSION_TTL`` seconds for another process's (the value is read again at most
        that often, so hot paths can key their caches on it for the price of a clock read)."""
        now = time.monotonic()
        if now - self._version_read >= VERSION_TTL:
            row = self.one("SELECT value FROM meta WHERE key = 'config_version'")
            self._version = "0" if row is None else str(row["value"])
            self._version_read = now
        return self._version

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._reader() as conn:
            return conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._reader() as conn:
            return conn.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close every idle connection (a later call opens what it needs again)."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                return

    # meta ---------------------------------------------------------------------------------
    def init(self, *, project_id: str, name: str, now: float) -> None:
        with self.tx() as c:
            c.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("id", project_id),
                    ("name", name),
                    ("created", repr(now)),
                    ("strict", "0"),
                ],
            )

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", key)
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # signing keys ---------------------------------------------------------------------------
    def replace_signing_key(self, *, kid: str, public_pem: str, now: float) -> None:
        """Store a new public key as the only active one (the old ones stop verifying)."""
        with self.tx() as c:
            c.execute("UPDATE signing_keys SET active = 0")
            c.execute(
                "INSERT OR REPLACE INTO signing_keys(kid, public_pem, created, active) "
                "VALUES (?, ?, ?, 1)",
                (kid, public_pem, now),
            )

    def active_public_keys(self) -> list[str]:
        return [
            r["public_pem"] for r in self.all("SELECT public_pem FROM signing_keys WHERE active")
        ]

    # app events ----------------------------------------------------------------------------
    def app_event(self, name: str) -> AppEventRow | None:
        row = self.one("SELECT * FROM app_events WHERE name = ?", name)
        return None if row is None else AppEventRow.of(row)

    def app_events(self) -> list[AppEventRow]:
        rows = self.all("SELECT * FROM app_events ORDER BY created, name")
        return [AppEventRow.of(r) for r in rows]

    def upsert_app_event(
        self, *, event_id: str, name: str, example: Any, schema: Any, now: float
    ) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT INTO app_events(id, name, example, schema, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "example = excluded.example, schema = excluded.schema, updated = excluded.updated",
                (event_id, name, dumps(example), dumps(schema), now, now),
            )

    # workflows -----------------------------------------------------------------------------
    def workflow_row(self, key: str) -> WorkflowRow | None:
        """By id or by name."""
        row = self.one("SELECT * FROM workflows WHERE id = ? OR name = ?", key, key)
        return None if row is None else WorkflowRow.of(row)

    def workflow_rows(self) -> list[WorkflowRow]:
        rows = self.all("SELECT * FROM workflows ORDER BY created, name")
        return [WorkflowRow.of(r) for r in rows]

    def insert_workflow(self, *, wf_id: str, name: str, draft: Any, now: float) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT INTO workflows(id, name, draft, deployed_version, created, updated) "
                "VALUES (?, ?, ?, NULL, ?, ?)",
                (wf_id, name, dumps(draft), now, now),
            )

    def update_draft(self, wf_id: str, *, name: str, draft: Any, now: float) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE workflows SET name = ?, draft = ?, updated = ? WHERE id = ?",
                (name, dumps(draft), now, wf_id),
            )

    def add_version(
        self, wf_id: str, *, spec: Any, event_id: str | None, event_name: str, now: float
    ) -> int:
        with self.tx() as c:
            row = c.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM workflow_versions "
                "WHERE workflow_id = ?",
                (wf_id,),
            ).fetchone()
            version = int(row["v"])
            c.execute(
                "INSERT INTO workflow_versions(workflow_id, version, spec, event_id, event_name, "
                "deployed_at) VALUES (?, ?, ?, ?, ?, ?)",
                (wf_id, version, dumps(spec), event_id, event_name, now),
            )
            c.execute(
                "UPDATE workflows SET deployed_version = ?, updated = ? WHERE id = ?",
                (version, now, wf_id),
            )
        return version

    def set_deployed_version(self, wf_id: str, version: int | None, *, now: float) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE workflows SET deployed_version = ?, updated = ? WHERE id = ?",
                (version, now, wf_id),
            )

    def version_row(self, wf_id: str, version: int) -> VersionRow | None:
        row = self.one(
            "SELECT * FROM workflow_versions WHERE workflow_id = ? AND version = ?", wf_id, version
        )
        return None if row is None else VersionRow.of(row)

    def versions(self, wf_id: str) -> list[VersionRow]:
        rows = self.all(
            "SELECT * FROM workflow_versions WHERE workflow_id = ? ORDER BY version", wf_id
        )
        return [VersionRow.of(r) for r in rows]

    # users and credentials ---------------------------------------------------------------------
    def ensure_user(self, sub: str, *, now: float, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO users(sub, meta, created) VALUES (?, '{}', ?)", (sub, now)
        )

    def user_row(self, sub: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM users WHERE sub = ?", sub)

    def user_rows(self) -> list[sqlite3.Row]:
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

    def workflow_settings(self, sub: str) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM workflow_settings WHERE sub = ?", sub)

    def workflow_setting(self, sub: str, wf_id: str) -> sqlite3.Row | None:
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

    # events and runs ---------------------------------------------------------------------------
    def event_row(self, event_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM events WHERE id = ?", event_id)

    def event_rows(self) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM events ORDER BY seq")

    def run_row(self, run_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM runs WHERE id = ?", run_id)

    def run_rows(self) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM runs ORDER BY seq")

    def count_unfinished_runs(self) -> int:
        row = self.one("SELECT COUNT(*) AS n FROM runs WHERE status IN (?, ?)", *UNFINISHED)
        return int(row["n"]) if row is not None else 0
