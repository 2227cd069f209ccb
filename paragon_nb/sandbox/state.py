"""The sandbox's state in SQLite (``":memory:"`` or a file): leads, custom fields, folders,
static lists, memberships, token hashes, credentials and import jobs.

One connection guarded by one re-entrant lock: every request's reads and writes run under
``with state.tx():`` so concurrent requests see consistent data (and a file-backed sandbox
survives restarts). The lead-level rules (actions, reasons) live in ``leads.py``; this module
only stores and finds; the tables themselves (DDL, migration, system folders, first ids)
are :mod:`paragon_nb.sandbox.schema`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paragon_nb._sqlite import connect, transaction
from paragon_nb.sandbox import schema
from paragon_nb.sandbox.fields import STANDARD_FIELDS, FieldDef
from paragon_nb.sandbox.schema import DEFAULT_FOLDERS

__all__ = ["DEFAULT_FOLDERS", "SandboxState", "email_key"]


class SandboxState:
    """Tables + small finders. ``path`` is ``":memory:"`` (default) or a SQLite file."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self.conn: sqlite3.Connection = connect(self.path)
        schema.prepare(self.conn)
        self._fields_cache: dict[str, FieldDef] | None = None
        self._issued: dict[str, str] = {}  # token hash -> token, this process only

    def __repr__(self) -> str:
        return f"SandboxState({self.path!r})"

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Lock + transaction (re-entrant: a nested ``tx`` joins the outer one)."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            with transaction(self.conn):
                yield self.conn

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))

    # ------------------------------------------------------------------ fields
    def fields(self) -> dict[str, FieldDef]:
        """Standard + custom fields by REST name."""
        with self.lock:
            if self._fields_cache is None:
                out = dict(STANDARD_FIELDS)
                for row in self.conn.execute("SELECT * FROM custom_fields ORDER BY id"):
                    out[row["name"]] = FieldDef(
                        row["id"], row["name"], row["display_name"], row["data_type"],
                        row["length"], False, True,
                    )  # fmt: skip
                self._fields_cache = out
            return self._fields_cache

    def add_field(self, name: str, data_type: str, display_name: str, length: int | None) -> None:
        with self.tx() as c:
            fid = schema.next_id(c, "custom_fields")
            c.execute(
                "INSERT OR REPLACE INTO custom_fields VALUES (?,?,?,?,?)",
                (name, fid, display_name, data_type, length),
            )
            self._fields_cache = None

    # ------------------------------------------------------------------ leads
    def find_lead_ids(self, field: str, value: Any) -> list[int]:
        """Ids of leads whose ``field`` equals ``value`` (email case-insensitively)."""
        with self.lock:
            if field == "id":
                sql, args = "SELECT id FROM leads WHERE id=?", (value,)
            elif field == "email":
                # (U) Marketo email lookups are treated as case-insensitive.
                sql, args = "SELECT id FROM leads WHERE email_key=?", (str(value).lower(),)
            else:
                sql = "SELECT id FROM leads WHERE json_extract(data, ?) = ?"
                args = (f'$."{field}"', value)
            return [r[0] for r in self.conn.execute(sql + " ORDER BY id", args)]

    def _rows_in(self, sql: str, values: Sequence[Any]) -> list[sqlite3.Row]:
        """Rows of ``sql`` whose ``IN ({marks})`` takes ``values``, 900 per query."""
        rows: list[sqlite3.Row] = []
        with self.lock:
            for i in range(0, len(values), 900):
                part = list(values[i : i + 900])
                rows += self.conn.execute(sql.format(marks=",".join("?" * len(part))), part)
        return rows

    def lead_ids_by_email(self, emails: Iterable[str]) -> dict[str, list[int]]:
        """Email key (lower case) -> ids of its leads, ascending; one query per 900 keys
        (a sync call or an import job reads them once, not once per record)."""
        out: dict[str, list[int]] = {}
        sql = "SELECT email_key, id FROM leads WHERE email_key IN ({marks}) ORDER BY id"
        for key, lead_id in self._rows_in(sql, sorted({e.lower() for e in emails})):
            out.setdefault(key, []).append(lead_id)
        return out

    def stored_values(self, ids: Iterable[int]) -> dict[int, str]:
        """Lead id -> its stored values as JSON text (no id, createdAt, updatedAt)."""
        sql = "SELECT id, data FROM leads WHERE id IN ({marks})"
        return {r[0]: r[1] for r in self._rows_in(sql, sorted(set(ids)))}

    def existing_lead_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` name a lead."""
        sql = "SELECT id FROM leads WHERE id IN ({marks})"
        return {r[0] for r in self._rows_in(sql, sorted(set(ids)))}

    def get_lead(self, lead_id: Any) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute("SELECT * FROM leads WHERE id=?", (lead_id,)).fetchone()
        return None if row is None else _lead(row)

    def get_leads(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Leads of ``ids`` by id, as dicts (``id``, values, ``createdAt``/``updatedAt``)."""
        rows = self._rows_in("SELECT * FROM leads WHERE id IN ({marks})", sorted(set(ids)))
        return sorted((_lead(r) for r in rows), key=lambda lead: lead["id"])

    def insert_lead(self, data: dict[str, Any], now: float) -> int:
        with self.tx() as c:
            cur = c.execute(
                "INSERT INTO leads (email_key, data, created_at, updated_at) VALUES (?,?,?,?)",
                (email_key(data), json.dumps(data), now, now),
            )
            return int(cur.lastrowid or 0)

    def update_lead(self, lead_id: int, data: dict[str, Any], now: float) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE leads SET email_key=?, data=?, updated_at=? WHERE id=?",
                (email_key(data), json.dumps(data), now, lead_id),
            )

    def delete_lead(self, lead_id: Any) -> bool:
        with self.tx() as c:
            c.execute("DELETE FROM list_members WHERE lead_id=?", (lead_id,))
            return c.execute("DELETE FROM leads WHERE id=?", (lead_id,)).rowcount > 0

    def all_leads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [_lead(r) for r in self.conn.execute("SELECT * FROM leads ORDER BY id")]

    def lead_count(self) -> int:
        with self.lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM leads").fetchone()[0])

    def lead_memberships(self, lead_id: int) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(
                "SELECT * FROM list_members WHERE lead_id=? ORDER BY list_id", (lead_id,)
            ).fetchall()

    # ------------------------------------------------------------------ folders
    def get_folder(self, folder_id: Any) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute("SELECT * FROM folders WHERE id=?", (folder_id,)).fetchone()

    def folders_by_name(self, name: str) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(
                "SELECT * FROM folders WHERE name=? ORDER BY id", (name,)
            ).fetchall()

    def all_folders(self) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute("SELECT * FROM folders ORDER BY id").fetchall()

    def create_folder(
        self, name: str, parent: sqlite3.Row, folder_type: str, description: str | None, now: float
    ) -> int:
        with self.tx() as c:
            folder_id = schema.next_id(c, "folders")
            c.execute(
                "INSERT INTO folders (id, name, type, folder_type, parent_id, path, is_system, "
                "description, created_at, updated_at) VALUES (?,?,?,?,?,?,0,?,?,?)",
                (folder_id, name, "Folder", folder_type, parent["id"],
                 f"{parent['path']}/{name}", description, now, now),
            )  # fmt: skip
            return folder_id

    def update_folder(self, folder_id: int, changes: dict[str, Any], now: float) -> sqlite3.Row:
        """Set ``name``/``description``/``is_archive``; a rename moves the paths of the folder
        and of everything below it. Returns the folder as changed."""
        with self.tx() as c:
            row = c.execute("SELECT * FROM folders WHERE id=?", (folder_id,)).fetchone()
            if "name" in changes and changes["name"] != row["name"]:
                old = row["path"]
                new = old.rsplit("/", 1)[0] + "/" + changes["name"]
                c.execute(
                    "UPDATE folders SET path = ? || substr(path, ?) "
                    "WHERE id=? OR substr(path, 1, ?) = ?",
                    (new, len(old) + 1, folder_id, len(old) + 1, old + "/"),
                )
            for column in ("name", "description", "is_archive"):
                if column in changes:
                    c.execute(
                        f"UPDATE folders SET {column}=? WHERE id=?", (changes[column], folder_id)
                    )
            c.execute("UPDATE folders SET updated_at=? WHERE id=?", (now, folder_id))
            return c.execute("SELECT * FROM folders WHERE id=?", (folder_id,)).fetchone()

    def delete_folder(self, folder_id: int) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM folders WHERE id=? AND is_system=0", (folder_id,))

    def lists_in_folder(self, folder_id: int) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(
                "SELECT * FROM lists WHERE folder_id=? ORDER BY id", (folder_id,)
            ).fetchall()

    # ------------------------------------------------------------------ lists
    def create_list(
        self, name: str, folder_id: int, folder_type: str, description: str | None, now: float
    ) -> int:
        with self.tx() as c:
            list_id = schema.next_id(c, "lists")
            c.execute(
                "INSERT INTO lists VALUES (?,?,?,?,?,?,?)",
                (list_id, name, description, folder_id, folder_type, now, now),
            )
            return list_id

    def get_list(self, list_id: Any) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute("SELECT * FROM lists WHERE id=?", (list_id,)).fetchone()

    def list_by_name(self, name: str) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute("SELECT * FROM lists WHERE name=?", (name,)).fetchone()

    def all_lists(self) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute("SELECT * FROM lists ORDER BY id").fetchall()

    def update_list(self, list_id: int, changes: dict[str, Any], now: float) -> sqlite3.Row:
        """Set ``name``/``description``; returns the list as changed."""
        with self.tx() as c:
            for column in ("name", "description"):
                if column in changes:
                    c.execute(f"UPDATE lists SET {column}=? WHERE id=?", (changes[column], list_id))
            c.execute("UPDATE lists SET updated_at=? WHERE id=?", (now, list_id))
            return c.execute("SELECT * FROM lists WHERE id=?", (list_id,)).fetchone()

    def delete_list(self, list_id: int) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM list_members WHERE list_id=?", (list_id,))
            c.execute("DELETE FROM lists WHERE id=?", (list_id,))

    def add_members(self, list_id: int, lead_ids: Iterable[int], now: float) -> None:
        """Make the leads members of the list (current members: ``updated_at`` moves)."""
        with self.tx() as c:
            c.executemany(
                "INSERT INTO list_members VALUES (?,?,?,?) "
                "ON CONFLICT(list_id, lead_id) DO UPDATE SET updated_at=excluded.updated_at",
                ((list_id, lead_id, now, now) for lead_id in lead_ids),
            )

    def remove_member(self, list_id: int, lead_id: int) -> bool:
        with self.tx() as c:
            cur = c.execute(
                "DELETE FROM list_members WHERE list_id=? AND lead_id=?", (list_id, lead_id)
            )
            return cur.rowcount > 0

    def is_member(self, list_id: int, lead_id: int) -> bool:
        with self.lock:
            row = self.conn.execute(
                "SELECT 1 FROM list_members WHERE list_id=? AND lead_id=?", (list_id, lead_id)
            ).fetchone()
        return row is not None

    def member_ids(self, list_id: int) -> list[int]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT lead_id FROM list_members WHERE list_id=? ORDER BY lead_id", (list_id,)
            )
            return [r[0] for r in rows]

    # ------------------------------------------------------------------ tokens
    # Access tokens are never stored in clear: a SHA-256 hash finds a presented token, and a
    # copy sealed by the caller (encrypted with the home folder's key) lets identity hand the
    # same token out again after a restart, as Marketo does until expiry. The plain token of
    # a token issued by this process is also kept in memory (no decryption per call).
    def live_token(
        self, client_id: str, now: float, *, unseal: Callable[[str], str | None] | None = None
    ) -> tuple[str, float] | None:
        """A live token of ``client_id`` that can be handed out again: ``(token, expires_at)``."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT hash, expires_at, sealed FROM token_hashes "
                "WHERE client_id=? AND expires_at>? ORDER BY expires_at DESC",
                (client_id, now),
            ).fetchall()
        for row in rows:
            token = self._issued.get(row["hash"])
            if token is None and row["sealed"] and unseal is not None:
                token = unseal(row["sealed"])  # None: sealed under another key, unusable
                if token is not None:
                    self._issued[row["hash"]] = token
            if token is not None:
                return token, float(row["expires_at"])
        return None

    def save_token(
        self, token: str, client_id: str, expires_at: float, *, sealed: str | None = None
    ) -> None:
        digest = _token_hash(token)
        with self.tx() as c:
            c.execute(
                "INSERT INTO token_hashes VALUES (?,?,?,?)", (digest, client_id, expires_at, sealed)
            )
        self._issued[digest] = token

    def get_token(self, token: str) -> sqlite3.Row | None:
        """The stored ``client_id``/``expires_at`` of a token, found by its hash."""
        with self.lock:
            return self.conn.execute(
                "SELECT client_id, expires_at FROM token_hashes WHERE hash=?", (_token_hash(token),)
            ).fetchone()

    def expire_tokens(self, now: float) -> None:
        with self.tx() as c:
            c.execute("UPDATE token_hashes SET expires_at=? WHERE expires_at>?", (now, now))

    # ------------------------------------------------------------------ usage
    def bump_usage(self, day: str, kind: str, key: str, delta: int) -> None:
        """Add ``delta`` to a daily counter (kind "calls" by user, "errors" by code)."""
        with self.tx() as c:
            c.execute(
                "INSERT INTO usage VALUES (?,?,?,?) "
                "ON CONFLICT(day, kind, key) DO UPDATE SET count = count + excluded.count",
                (day, kind, key, delta),
            )

    def usage_rows(self, since: str) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute("SELECT * FROM usage WHERE day >= ?", (since,)).fetchall()

    # ------------------------------------------------------------------ imports
    def next_import_id(self) -> int:
        with self.lock:
            return schema.next_id(self.conn, "imports")

    def insert_import(self, values: dict[str, Any]) -> int:
        with self.tx() as c:
            job_id = self.next_import_id()
            cols = ["id", *values]
            c.execute(
                f"INSERT INTO imports ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                [job_id, *values.values()],
            )
            return job_id

    def update_import(self, job_id: int, values: dict[str, Any]) -> None:
        with self.tx() as c:
            sets = ",".join(f"{k}=?" for k in values)
            c.execute(f"UPDATE imports SET {sets} WHERE id=?", [*values.values(), job_id])

    def get_import(self, job_id: Any) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute("SELECT * FROM imports WHERE id=?", (job_id,)).fetchone()

    def active_imports(self) -> list[sqlite3.Row]:
        """Queued/importing jobs, oldest first: ``id, status, list_id, started_at`` only.

        Called on every sandbox request (imports advance on the clock), so the file
        (``data``, up to 10 MB) stays out; :meth:`get_import` reads the whole job."""
        with self.lock:
            return self.conn.execute(
                "SELECT id, status, list_id, started_at FROM imports "
                "WHERE status IN ('Queued','Importing') ORDER BY id"
            ).fetchall()


def _token_hash(token: str) -> str:
    # tokens are random (uuid4), so a plain SHA-256 cannot be reversed or guessed
    return hashlib.sha256(token.encode()).hexdigest()


def email_key(data: dict[str, Any] | None) -> str | None:
    """The lower-case email a lead is found by (None: no email)."""
    email = (data or {}).get("email")
    return email.lower() if isinstance(email, str) and email else None


def _lead(row: sqlite3.Row) -> dict[str, Any]:
    lead = {"id": row["id"], **json.loads(row["data"])}
    lead["createdAt"] = row["created_at"]
    lead["updatedAt"] = row["updated_at"]
    return lead
