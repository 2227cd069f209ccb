"""The project database: data access for one project, on SQLite or PostgreSQL.

Tables: ``meta`` (id, name, strict flag, schema and configuration versions), ``signing_keys``
(public halves only), ``app_events``, ``workflows`` (the draft) and ``workflow_versions``
(immutable deployed snapshots), ``users``, ``credentials`` (client secrets Fernet-encrypted by
the caller), ``workflow_settings``, ``events`` (every accepted event), ``runs``, ``run_steps``,
``marketo_work`` and ``idempotency``; the schema is :mod:`paragon_nb.runtime.schema`'s.

This module owns the plumbing (transactions, the configuration version), meta, signing keys,
App Events, workflows and the run reads; users, credentials and settings are
:mod:`paragon_nb.runtime.store_users`'. The engine itself (:mod:`runtime.db`) is a folder's
SQLite file or a PostgreSQL database. Every write is one short transaction. JSON columns are
written with :func:`dumps` and read back with :func:`loads`; definitions come back as the row
dataclasses of :mod:`paragon_nb.runtime.rows`. This module knows nothing about secrets:
callers hand it ciphertext only.

    store = ProjectStore(open_database(folder / DB_FILE_NAME))     # migrates the schema
    store.init(project_id="...", name="Demo", now=clock.time())
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from paragon_nb.runtime.api import UNFINISHED
from paragon_nb.runtime.db import Conn, Database, Row, open_database
from paragon_nb.runtime.rows import (
    AppEventRow,
    VersionRow,
    WorkflowRow,
    dumps,
    from_row,
    loads,
)
from paragon_nb.runtime.schema import SCHEMA_VERSION, upgrade
from paragon_nb.runtime.store_users import UserStore

T = TypeVar("T")

__all__ = ["DB_FILE_NAME", "SCHEMA_VERSION", "ProjectStore", "dumps", "from_row", "loads"]

DB_FILE_NAME = "project.sqlite3"
#: how stale another process's configuration change may look here (seconds)
VERSION_TTL = 0.2


class ProjectStore(UserStore):
    """Data access for one project database (thread-safe). Opening it brings the schema up
    to date (:func:`~paragon_nb.runtime.schema.upgrade`, one transaction)."""

    def __init__(self, db: Database | str | Path) -> None:
        self.db = db if isinstance(db, Database) else open_database(db)
        self._version, self._version_read = "0", -float("inf")
        with self.db.tx() as conn:  # the schema's migrations, all or none
            conn.lock("schema")  # two processes opening a new database: one migrates
            upgrade(conn, where=self.db.where, translate=self.db.ddl)

    # plumbing -------------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[Conn]:
        """A write transaction that changes configuration (anything but events, runs and
        their steps): it bumps ``config_version``, so every process's caches of workflows,
        credentials and settings see the change (:meth:`config_version`). The bump comes
        first: on PostgreSQL its row lock also serialises configuration writers."""
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
    def run_tx(self) -> Iterator[Conn]:
        """A write transaction for events, runs, steps and the work queue."""
        with self.db.tx() as conn:
            yield conn

    def transact(self, body: Callable[[Conn], T]) -> T:
        """``body(conn)`` in a :meth:`run_tx` transaction, run again when the database rolled
        it back for a passing reason (a deadlock: :meth:`Database.transact`). The writers of
        several rows (the engine's grouped writes, heartbeats, budget grants) use it."""
        return self.db.transact(body)

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

    def one(self, sql: str, *args: Any) -> Row | None:
        return self.db.one(sql, *args)

    def all(self, sql: str, *args: Any) -> list[Row]:
        return self.db.all(sql, *args)

    def close(self) -> None:
        """Close every idle connection (SQLite: a later call opens what it needs again)."""
        self.db.close()

    # meta ---------------------------------------------------------------------------------
    def init(self, *, project_id: str, name: str, now: float, key_check: str) -> None:
        """The meta rows of a new project (``key_check``: a value encrypted with its key)."""
        with self.tx() as c:
            c.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("id", project_id),
                    ("name", name),
                    ("created", repr(now)),
                    ("strict", "0"),
                    ("key_check", key_check),
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
                "INSERT INTO signing_keys(kid, public_pem, created, active) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (kid) DO UPDATE SET public_pem = excluded.public_pem, "
                "created = excluded.created, active = 1",
                (kid, public_pem, now),
            )

    def active_public_keys(self) -> list[str]:
        return [
            r["public_pem"]
            for r in self.all("SELECT public_pem FROM signing_keys WHERE active = 1")
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
            row = c.one(
                "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM workflow_versions "
                "WHERE workflow_id = ?",
                wf_id,
            )
            version = int(row["v"]) if row is not None else 1
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

    # events and runs ---------------------------------------------------------------------------
    def event_row(self, event_id: str) -> Row | None:
        return self.one("SELECT * FROM events WHERE id = ?", event_id)

    def event_rows(self) -> list[Row]:
        return self.all("SELECT * FROM events ORDER BY seq")

    def run_row(self, run_id: str) -> Row | None:
        return self.one("SELECT * FROM runs WHERE id = ?", run_id)

    def run_rows(self) -> list[Row]:
        return self.all("SELECT * FROM runs ORDER BY seq")

    def count_unfinished_runs(self) -> int:
        row = self.one("SELECT COUNT(*) AS n FROM runs WHERE status IN (?, ?)", *UNFINISHED)
        return int(row["n"]) if row is not None else 0
