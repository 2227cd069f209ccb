"""The sync journal: what was synced where, so re-runs skip unchanged rows and resume.

One SQLite file (``journal.sqlite3`` under the home folder). A row is keyed by Marketo
instance (``client.instance_key``), lookup field, list (id, or ``""`` for none) and the
normalised lookup value, and holds the fingerprint of the values last synced, the lead id
and whether the lead was added to the list.

Write protocol (what makes interrupted runs safe):

1. ``begin_batch`` marks the batch's rows ``pending`` (with the fingerprint in flight)
   BEFORE the batch is sent, in one transaction;
2. ``finish_batch`` records each row's outcome AFTER Marketo answered;
3. ``mark_listed`` records list membership after the list add answered.

A run killed between 1 and 2 leaves rows ``pending``: the next run sends them again (safe:
``createOrUpdate``/``updateOnly`` are idempotent; for ``createOnly`` the runner reads a
``1005 lead already exists`` on a pending row as "created by the interrupted run").

    j = Journal(instance="https://x.mktorest.com/rest", lookup_field="email", list_key="42")
    known = j.lookup(["a@x.com"])      # DataFrame indexed by lookup value
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb import settings
from paragon_nb._clock import Clock, system_clock
from paragon_nb._sqlite import connect, transaction

__all__ = ["JOURNAL_FILE", "Journal", "RowOutcome"]

JOURNAL_FILE = "journal.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rows (
    instance     TEXT NOT NULL,
    lookup_field TEXT NOT NULL,
    list_key     TEXT NOT NULL,
    lookup_value TEXT NOT NULL,
    state        TEXT NOT NULL,          -- pending | synced | skipped | failed
    fingerprint  INTEGER,                -- of the values last synced successfully
    pending_fp   INTEGER,                -- of the values in flight
    lead_id      INTEGER,
    status       TEXT,                   -- created | updated | upserted | skipped | failed
    reason_code  TEXT,
    reason       TEXT,
    listed       INTEGER NOT NULL DEFAULT 0,
    batch_id     INTEGER,
    updated_at   REAL,
    PRIMARY KEY (instance, lookup_field, list_key, lookup_value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance     TEXT NOT NULL,
    lookup_field TEXT NOT NULL,
    list_key     TEXT NOT NULL,
    action       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    state        TEXT NOT NULL,          -- sent | done
    created_at   REAL NOT NULL,
    finished_at  REAL
);
"""

# (lookup_value, state, fingerprint, lead_id, status, reason_code, reason)
RowOutcome = tuple[str, str, int | None, int | None, str | None, str | None, str | None]

_LOOKUP_COLUMNS = ["state", "fingerprint", "pending_fp", "lead_id", "status", "listed"]


class Journal:
    """Journal rows for one (instance, lookup field, list) scope; thread-safe.

    ``path`` defaults to ``settings.home() / "journal.sqlite3"``. SQLite errors propagate
    as ``sqlite3.Error`` (a locked or corrupt file): delete the file to start afresh
    (the next sync then re-sends every row once).
    """

    def __init__(
        self,
        *,
        instance: str,
        lookup_field: str,
        list_key: str = "",
        path: str | Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else settings.home() / JOURNAL_FILE
        self.scope = (instance, lookup_field, list_key)
        self._clock = clock or system_clock
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reads
    def lookup(self, keys: Sequence[str]) -> pd.DataFrame:
        """Journal rows for ``keys`` (lookup values), indexed by lookup value, with columns
        state, fingerprint, pending_fp, lead_id, status, listed. Unknown keys are absent."""
        wanted = set(keys)
        where = "instance=? AND lookup_field=? AND list_key=?"
        with self._lock:
            (count,) = self._conn.execute(
                f"SELECT COUNT(*) FROM rows WHERE {where}", self.scope
            ).fetchone()
            if count == 0 or not wanted:
                found: list[Any] = []
            elif len(wanted) * 4 < count:
                found = []
                values = list(wanted)
                for i in range(0, len(values), 900):
                    chunk = values[i : i + 900]
                    marks = ",".join("?" * len(chunk))
                    found.extend(
                        self._conn.execute(
                            f"SELECT lookup_value, {', '.join(_LOOKUP_COLUMNS)} FROM rows "
                            f"WHERE {where} AND lookup_value IN ({marks})",
                            (*self.scope, *chunk),
                        ).fetchall()
                    )
            else:
                cur = self._conn.execute(
                    f"SELECT lookup_value, {', '.join(_LOOKUP_COLUMNS)} FROM rows WHERE {where}",
                    self.scope,
                )
                found = [r for r in cur if r[0] in wanted]
        frame = pd.DataFrame(
            [tuple(r) for r in found], columns=["lookup_value", *_LOOKUP_COLUMNS]
        ).set_index("lookup_value")
        for col in ("fingerprint", "pending_fp", "lead_id"):
            frame[col] = frame[col].astype("Int64")
        frame["listed"] = frame["listed"].astype(bool)
        return frame

    def count(self, state: str | None = None) -> int:
        """Rows in this scope (with ``state`` if given)."""
        sql = "SELECT COUNT(*) FROM rows WHERE instance=? AND lookup_field=? AND list_key=?"
        args: tuple[Any, ...] = self.scope
        if state is not None:
            sql += " AND state=?"
            args = (*args, state)
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    # ------------------------------------------------------------------ writes
    def begin_batch(self, keys: Sequence[str], fps: Iterable[int], *, action: str) -> int:
        """Mark ``keys`` pending with the fingerprints about to be sent; returns a batch id.
        Call BEFORE sending."""
        now = self._clock.time()
        with self._lock, transaction(self._conn):
            cur = self._conn.execute(
                "INSERT INTO batches (instance, lookup_field, list_key, action, size, state, "
                "created_at) VALUES (?, ?, ?, ?, ?, 'sent', ?)",
                (*self.scope, action, len(keys), now),
            )
            batch_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO rows (instance, lookup_field, list_key, lookup_value, state, "
                "pending_fp, batch_id, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET state='pending', pending_fp=excluded.pending_fp, "
                "batch_id=excluded.batch_id, updated_at=excluded.updated_at",
                [(*self.scope, k, int(fp), batch_id, now) for k, fp in zip(keys, fps, strict=True)],
            )
        return batch_id

    def finish_batch(self, batch_id: int, outcomes: Sequence[RowOutcome]) -> None:
        """Record each row's outcome (AFTER Marketo answered). ``state`` ``synced`` stores
        the fingerprint as the synced one and clears ``listed`` (the list add follows)."""
        now = self._clock.time()
        with self._lock, transaction(self._conn):
            self._conn.executemany(
                "UPDATE rows SET state=?, "
                "fingerprint=CASE WHEN ?='synced' THEN ? ELSE fingerprint END, "
                "pending_fp=NULL, lead_id=COALESCE(?, lead_id), status=?, reason_code=?, "
                "reason=?, listed=CASE WHEN ?='synced' THEN 0 ELSE listed END, updated_at=? "
                "WHERE instance=? AND lookup_field=? AND list_key=? AND lookup_value=?",
                (
                    (state, state, fp, lead, status, code, reason, state, now, *self.scope, key)
                    for key, state, fp, lead, status, code, reason in outcomes
                ),
            )
            self._conn.execute(
                "UPDATE batches SET state='done', finished_at=? WHERE id=?", (now, batch_id)
            )

    def mark_listed(self, keys: Sequence[str]) -> None:
        """Record that the leads of ``keys`` are now members of the scope's list."""
        now = self._clock.time()
        with self._lock, transaction(self._conn):
            self._conn.executemany(
                "UPDATE rows SET listed=1, updated_at=? WHERE instance=? AND lookup_field=? "
                "AND list_key=? AND lookup_value=?",
                ((now, *self.scope, k) for k in keys),
            )

    def forget(self) -> int:
        """Delete this scope's rows (the next sync re-sends everything); returns the count."""
        with self._lock, transaction(self._conn):
            cur = self._conn.execute(
                "DELETE FROM rows WHERE instance=? AND lookup_field=? AND list_key=?", self.scope
            )
            return int(cur.rowcount)

    def __repr__(self) -> str:
        return f"Journal(path={str(self.path)!r}, scope={self.scope!r})"
