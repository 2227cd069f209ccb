"""The sandbox database's tables: their DDL, the columns an older state file lacks, the
system folders a fresh instance starts with and where each table's ids begin.

:func:`prepare` makes a connection's database current (tables, migration, system folders);
:func:`next_id` is the one rule for a new row's id. :class:`~paragon_nb.sandbox.state.
SandboxState` stores and finds rows in these tables.
"""

from __future__ import annotations

import sqlite3

from paragon_nb._sqlite import transaction

__all__ = ["DEFAULT_FOLDERS", "SYSTEM_CREATED_AT", "next_id", "prepare"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS custom_fields (
    name TEXT PRIMARY KEY, id INTEGER NOT NULL, display_name TEXT NOT NULL,
    data_type TEXT NOT NULL, length INTEGER);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, email_key TEXT, data TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS leads_email ON leads(email_key);
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, folder_type TEXT NOT NULL,
    parent_id INTEGER, path TEXT NOT NULL, is_system INTEGER NOT NULL,
    description TEXT, created_at REAL NOT NULL DEFAULT 0, updated_at REAL NOT NULL DEFAULT 0,
    is_archive INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS folders_parent ON folders(parent_id);
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
    folder_id INTEGER NOT NULL, folder_type TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS list_members (
    list_id INTEGER NOT NULL, lead_id INTEGER NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, PRIMARY KEY (list_id, lead_id));
CREATE INDEX IF NOT EXISTS list_members_lead ON list_members(lead_id);
DROP TABLE IF EXISTS tokens;
CREATE TABLE IF NOT EXISTS token_hashes (
    hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL, sealed TEXT);
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (day, kind, key));
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY, status TEXT NOT NULL, format TEXT NOT NULL,
    lookup_field TEXT NOT NULL, list_id INTEGER, partition TEXT, data BLOB NOT NULL,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL,
    processed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    warned INTEGER NOT NULL DEFAULT 0, message TEXT, failures BLOB, warnings BLOB);
"""

# (id, name, type, folderType, parent, path) — the system tree of a fresh instance with one
# workspace ("Default"). The three app areas are root "Zone" folders as in Marketo's browse
# example; list folders live under Lead Database. (U) the ids differ per instance.
DEFAULT_FOLDERS: tuple[tuple[int, str, str, str, int | None, str], ...] = (
    (1, "Marketing Activities", "Folder", "Zone", None, "/Marketing Activities"),
    (3, "Default", "Folder", "Zone", 1, "/Marketing Activities/Default"),
    (2, "Design Studio", "Folder", "Zone", None, "/Design Studio"),
    (4, "Default", "Folder", "Zone", 2, "/Design Studio/Default"),
    (5, "Lead Database", "Folder", "Zone", None, "/Lead Database"),
    (6, "Default", "Folder", "Zone", 5, "/Lead Database/Default"),
    (12, "Group Lists", "Folder", "List", 6, "/Lead Database/Default/Group Lists"),
    (
        13,
        "Group Smart Lists",
        "Folder",
        "Smart List",
        6,
        "/Lead Database/Default/Group Smart Lists",
    ),
)
# when the system folders were "created" (2026-01-01T00:00:00Z); user folders use the clock
SYSTEM_CREATED_AT = 1767225600.0
# the first id of a user-created row per table (below: the system rows' ids)
_FIRST_ID = {"folders": 1001, "lists": 1001, "imports": 1001, "custom_fields": 1000}


def prepare(conn: sqlite3.Connection) -> None:
    """Create the tables, add the columns an older state file lacks and (re)write the system
    folders as defined (user folders are never touched)."""
    conn.executescript(SCHEMA)
    with transaction(conn):
        _migrate(conn)
        for fid, name, ftype, folder_type, parent, fpath in DEFAULT_FOLDERS:
            conn.execute(
                "INSERT INTO folders (id, name, type, folder_type, parent_id, path, "
                "is_system, created_at, updated_at) VALUES (?,?,?,?,?,?,1,?,?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
                "folder_type=excluded.folder_type, parent_id=excluded.parent_id, "
                "path=excluded.path WHERE is_system=1",
                (fid, name, ftype, folder_type, parent, fpath, SYSTEM_CREATED_AT,
                 SYSTEM_CREATED_AT),
            )  # fmt: skip


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """The id of a new row of ``table``: one past the largest, never below its first id."""
    first = _FIRST_ID[table]  # KeyError for any other name: it never reaches the SQL
    row = conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()
    return max(first, (row[0] or 0) + 1)


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a state file written by an older sandbox lacks."""
    have = {r["name"] for r in conn.execute("PRAGMA table_info(folders)")}
    for column, decl in (
        ("description", "TEXT"),
        ("created_at", "REAL NOT NULL DEFAULT 0"),
        ("updated_at", "REAL NOT NULL DEFAULT 0"),
        ("is_archive", "INTEGER NOT NULL DEFAULT 0"),
    ):
        if column not in have:
            conn.execute(f"ALTER TABLE folders ADD COLUMN {column} {decl}")
