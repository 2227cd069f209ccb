"""The project database's schema: versioned migrations, applied by the project itself.

:data:`MIGRATIONS` is an ordered list of SQL scripts; the project's version is the number of
them applied (``meta.schema_version``). Opening a project applies the newer ones in one
transaction (:func:`upgrade`); a database newer than this code knows is refused with
:class:`~paragon_nb.errors.SchemaTooNew`, naming both versions.

Rules for a migration (it runs on SQLite 3.40 and PostgreSQL 15):
- **append only**: never edit a shipped migration; a change is a new one at the end;
- portable SQL as in TEAM.md (``INTEGER``/``REAL``/``TEXT``; the PostgreSQL backend maps the
  type names, e.g. ``REAL`` -> ``DOUBLE PRECISION``, ``INTEGER PRIMARY KEY`` -> an identity);
- statements separated by ``;`` and no ``;`` inside a literal (scripts are split on it:
  SQLite's ``executescript`` would commit the transaction the upgrade runs in).

    version = upgrade(conn, where="demo-project")   # inside the caller's write transaction
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paragon_nb.errors import SchemaTooNew

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "statements", "upgrade"]

#: Migration 1 is the schema the first released version created (store.py's ``_SCHEMA``).
_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY, public_pem TEXT NOT NULL, created REAL NOT NULL,
    active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS app_events (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, example TEXT NOT NULL, schema TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workflows (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, draft TEXT NOT NULL,
    deployed_version INTEGER, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows(id), version INTEGER NOT NULL,
    spec TEXT NOT NULL, event_id TEXT, event_name TEXT NOT NULL, deployed_at REAL NOT NULL,
    PRIMARY KEY (workflow_id, version));
CREATE TABLE IF NOT EXISTS users (
    sub TEXT PRIMARY KEY, meta TEXT NOT NULL DEFAULT '{}', created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY, sub TEXT NOT NULL REFERENCES users(sub), integration TEXT NOT NULL,
    endpoint TEXT NOT NULL, identity TEXT, client_id TEXT NOT NULL, secret_enc TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, created REAL NOT NULL, checked REAL NOT NULL,
    UNIQUE (sub, integration));
CREATE TABLE IF NOT EXISTS workflow_settings (
    sub TEXT NOT NULL REFERENCES users(sub), workflow_id TEXT NOT NULL REFERENCES workflows(id),
    settings TEXT NOT NULL DEFAULT '{}', enabled INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL,
    PRIMARY KEY (sub, workflow_id));
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, sub TEXT NOT NULL, name TEXT NOT NULL,
    payload TEXT NOT NULL, received REAL NOT NULL, run_count INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_seq ON events(seq);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, event_id TEXT NOT NULL REFERENCES events(id),
    workflow_id TEXT NOT NULL, version INTEGER NOT NULL, sub TEXT NOT NULL,
    status TEXT NOT NULL, context TEXT NOT NULL, created REAL NOT NULL, started REAL,
    ended REAL, error TEXT, replay_of TEXT, owner TEXT);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_event ON runs(event_id);
CREATE INDEX IF NOT EXISTS runs_seq ON runs(seq);
CREATE TABLE IF NOT EXISTS run_steps (
    run_id TEXT NOT NULL REFERENCES runs(id), step_id TEXT NOT NULL, seq INTEGER NOT NULL,
    action TEXT NOT NULL, status TEXT NOT NULL, input TEXT, output TEXT, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, started REAL, ended REAL,
    PRIMARY KEY (run_id, step_id));
CREATE TABLE IF NOT EXISTS marketo_work (
    id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), step_id TEXT NOT NULL,
    sub TEXT NOT NULL, op TEXT NOT NULL, call_key TEXT NOT NULL, payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL DEFAULT 0, batch_id TEXT,
    UNIQUE (run_id, step_id));
CREATE TABLE IF NOT EXISTS idempotency (
    sub TEXT NOT NULL, key TEXT NOT NULL, receipt TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (sub, key));
INSERT INTO meta(key, value) VALUES ('config_version', '1') ON CONFLICT (key) DO NOTHING;
"""

#: Migration 2: the batch columns of a step record, which the first version added with an
#: ad-hoc ALTER TABLE on every open (see :func:`_adopt_unversioned_columns`).
_V2 = """
ALTER TABLE run_steps ADD COLUMN batch_id TEXT;
ALTER TABLE run_steps ADD COLUMN batch_size INTEGER;
"""

#: Migration 3 (issue 11, several processes): runs are held with a lease
#: (``runs.lease_until``; ``owner`` already is) and may wait for a resume time
#: (``runs.not_before``: NULL or 0 = now); one Marketo budget per instance shared by every
#: process (runtime.budget): the instance's row (pause, Marketo day and its calls,
#: effective rate and concurrency) and one row per call in the window or in flight.
_V3 = """
ALTER TABLE runs ADD COLUMN lease_until REAL;
ALTER TABLE runs ADD COLUMN not_before REAL;
CREATE INDEX IF NOT EXISTS runs_claim ON runs(status, seq);
CREATE TABLE IF NOT EXISTS marketo_budget (
    instance TEXT PRIMARY KEY, paused_until REAL NOT NULL DEFAULT 0, day TEXT,
    day_calls INTEGER NOT NULL DEFAULT 0, rate_calls INTEGER, concurrency INTEGER,
    rate_changed REAL NOT NULL DEFAULT 0, conc_changed REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS marketo_calls (
    id INTEGER PRIMARY KEY, instance TEXT NOT NULL, at REAL NOT NULL, holder TEXT NOT NULL,
    lease_until REAL NOT NULL, in_flight INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS marketo_calls_instance ON marketo_calls(instance, at);
"""

#: Migration 4 (sdk, issue 14): environment secrets (Fernet ciphertext), project API keys
#: (SHA-256 digests only) and integration-level ("shared") user settings.
_SDK_SECRETS_KEYS_SHARED = """
CREATE TABLE IF NOT EXISTS env_secrets (
    name TEXT PRIMARY KEY, value_enc TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL, created REAL NOT NULL,
    last_used REAL, revoked REAL);
CREATE TABLE IF NOT EXISTS shared_settings (
    sub TEXT NOT NULL, integration TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}',
    updated REAL NOT NULL, PRIMARY KEY (sub, integration));
"""

#: Migration 5 (flow, issue 14): waking Delay runs by ``runs.not_before`` (added in 3) and
#: ``trigger_state``, each (workflow, user)'s cursor of a Scheduler, Integration Enabled or
#: Lead Added to List trigger (runtime.triggers).
_FLOW_TRIGGERS = """
CREATE INDEX IF NOT EXISTS runs_not_before ON runs(status, not_before);
CREATE TABLE IF NOT EXISTS trigger_state (
    workflow_id TEXT NOT NULL, sub TEXT NOT NULL, state TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (workflow_id, sub));
"""

#: Migration 6 (affinity, issue 11): the Marketo work of one instance is batched by one
#: worker at a time (runtime.affinity). ``instance_leases``: which worker holds an instance
#: (endpoint + client id) and until when (renewed by its heartbeat, taken over when it runs
#: out); ``workers``: the live worker processes (their heartbeat), so each takes a fair share
#: of the instances; ``runs_sub``: which users have unfinished runs, read per user.
_INSTANCE_LEASES = """
CREATE TABLE IF NOT EXISTS instance_leases (
    instance TEXT PRIMARY KEY, owner TEXT NOT NULL, lease_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workers (owner TEXT PRIMARY KEY, lease_until REAL NOT NULL);
CREATE INDEX IF NOT EXISTS runs_sub ON runs(sub, status);
"""

#: Append new migrations at the end; never edit a shipped one.
MIGRATIONS: list[str] = [
    _V1, _V2, _V3, _SDK_SECRETS_KEYS_SHARED, _FLOW_TRIGGERS, _INSTANCE_LEASES,
]  # fmt: skip

#: The version this code writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The statements of a migration script (split on ``;``; empty ones dropped)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def upgrade(conn: Any, *, where: str, translate: Callable[[str], str] = lambda sql: sql) -> int:
    """Bring the database behind ``conn`` (inside the caller's write transaction) to
    :data:`SCHEMA_VERSION`; returns the version it found. ``translate`` maps each DDL
    statement to the backend's dialect. SchemaTooNew (nothing changed) when the database
    was written by a newer paragon_nb; ``where`` names it in that message."""
    conn.execute(translate(statements(_V1)[0]))  # meta, so the version can be read
    found = _recorded_version(conn)
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the project database {where} has schema version {found}, but this paragon_nb "
            f"knows versions up to {SCHEMA_VERSION}; upgrade paragon_nb "
            "(pip install -U paragon_nb) to open it",
            found=found,
            known=SCHEMA_VERSION,
        )
    start = _adopt_unversioned_columns(conn, found)
    for script in MIGRATIONS[start:]:
        for sql in statements(script):
            conn.execute(translate(sql))
    if found != SCHEMA_VERSION:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
    return found


def _recorded_version(conn: Any) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row["value"])


def _adopt_unversioned_columns(conn: Any, found: int) -> int:
    """Where to start applying. The first version recorded ``schema_version`` 1 (or nothing,
    when a create stopped between the schema and its meta rows; its ``config_version`` row
    is there either way) and added ``run_steps.batch_id``/``batch_size`` on every open
    without recording it: such a database is at version 2 already."""
    if found >= 2:
        return found
    if found == 0 and conn.execute("SELECT COUNT(*) AS n FROM meta").fetchone()["n"] == 0:
        return 0  # a fresh database: meta was created just now
    cur = conn.execute("SELECT * FROM run_steps WHERE 1 = 0")  # columns, portably
    if {"batch_id", "batch_size"} <= {d[0] for d in cur.description}:
        return 2
    return 1
