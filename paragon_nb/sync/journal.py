"""The sync journal: what was synced where, so re-runs skip unchanged rows and resume.

One SQLite file (``journal.sqlite3`` under the home folder). A row is keyed by Marketo
instance (endpoint + client id: :func:`instance_of`), lookup field, list (id, or ``""``
for none) and the normalised lookup value, and holds the fingerprint of the values last
synced, the lead id, and -- apart from the values -- whether the lead was added to the list.
Fingerprints are signed 64-bit integers end to end (SQLite INTEGER, numpy int64, pandas
Int64 built column by column): never a float, so they compare exactly.

Write protocol (what makes interrupted runs safe):

1. ``begin_batch`` records the batch's rows and the fingerprints in flight BEFORE the
   batch is sent: one ``batches`` row (its keys as JSON), one statement; a reader
   (``lookup``, ``count``) first turns every batch that never finished into ``pending``
   rows, so the rows of a batch a kill interrupted read as ``pending``;
2. ``finish_batch`` records each row's outcome (:class:`RowOutcome`) AFTER Marketo
   answered, one transaction per call;
3. ``mark_listed`` records list membership after the list add answered.

A streamed input may repeat a key in a later chunk; the earlier occurrence was sent before
the later one was read. ``mark_superseded`` records the earlier values (before the later
occurrence is sent), so a rerun of the same input knows that row is superseded and holds
it back instead of sending it over the values the later occurrence left (``superseded``).

A run killed between 1 and 2 leaves rows ``pending``: the next run sends them again (safe:
``createOrUpdate``/``updateOnly`` are idempotent; for ``createOnly`` the runner reads a
``1005 lead already exists`` on a pending row as "created by the interrupted run").

A file SQLite cannot read (not a database, malformed, unreadable) raises
:class:`~paragon_nb.errors.JournalError` naming the file and the two ways out; nothing is
sent. ``Journal(..., replace_corrupt=True)`` (what ``full_resync`` uses) moves such a file
aside and starts a new one.

    j = Journal(instance=instance_of(client), lookup_field="email", list_key="42")
    known = j.lookup(["a@x.com"])      # DataFrame indexed by lookup value
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from paragon_nb import settings
from paragon_nb._clock import Clock, system_clock
from paragon_nb._sqlite import connect, transaction
from paragon_nb.errors import JournalError

__all__ = ["JOURNAL_FILE", "Journal", "RowOutcome", "instance_of"]

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
-- Values of a key that a later occurrence of the key in the same streamed input superseded:
-- a rerun holds such a row back until it knows whether the later occurrence follows again.
CREATE TABLE IF NOT EXISTS superseded (
    instance     TEXT NOT NULL,
    lookup_field TEXT NOT NULL,
    list_key     TEXT NOT NULL,
    lookup_value TEXT NOT NULL,
    fingerprint  INTEGER NOT NULL,
    run          TEXT NOT NULL,          -- the streamed run that saw it superseded
    PRIMARY KEY (instance, lookup_field, list_key, lookup_value, fingerprint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance     TEXT NOT NULL,
    lookup_field TEXT NOT NULL,
    list_key     TEXT NOT NULL,
    action       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    state        TEXT NOT NULL,          -- sent | done | expanded (read as pending rows)
    created_at   REAL NOT NULL,
    finished_at  REAL
);
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance     TEXT NOT NULL,
    lookup_field TEXT NOT NULL,
    list_key     TEXT NOT NULL,
    list_name    TEXT,
    input        TEXT,
    started_at   REAL NOT NULL,
    finished_at  REAL NOT NULL,
    counts       TEXT NOT NULL,          -- JSON {status: rows}
    calls        INTEGER NOT NULL,
    report       TEXT
);
"""


class RowOutcome(NamedTuple):
    """What Marketo answered for one journaled row (``finish_batch``)."""

    key: str
    state: str  # synced | skipped | failed
    fingerprint: int | None = None
    lead_id: int | None = None
    status: str | None = None
    reason_code: str | None = None
    reason: str | None = None


def _pending_rows(batch_json: str, where: str) -> str:
    """SQL making the ``[key, fingerprint]`` pairs of ``batch_json`` (a JSON array, an SQL
    expression) that pass ``where`` into ``pending`` rows of the scope; its parameters:
    instance, lookup_field, list_key, batch id, time, then those of the two fragments."""
    return (
        "INSERT INTO rows (instance, lookup_field, list_key, lookup_value, state, pending_fp, "
        "batch_id, updated_at) SELECT ?, ?, ?, value->>0, 'pending', value->>1, ?, ? "
        f"FROM json_each({batch_json}) WHERE {where} "
        "ON CONFLICT DO UPDATE SET state='pending', pending_fp=excluded.pending_fp, "
        "batch_id=excluded.batch_id, updated_at=excluded.updated_at"
    )


_LOOKUP_COLUMNS = ("state", "fingerprint", "pending_fp", "lead_id", "status", "listed")
_INT_COLUMNS = ("fingerprint", "pending_fp", "lead_id")


def instance_of(client: Any) -> str:
    """The journal's instance key: the normalised endpoint and the API client id (two
    LaunchPoint services on one instance, or two sandboxes on one port, never share rows)."""
    return f"{client.instance_key} client={getattr(client, 'client_id', '')}"


def _json(rows: Any) -> str:
    """Rows for one ``json_each`` statement (numpy integers as plain integers: exact)."""
    return json.dumps(rows, default=int, ensure_ascii=False, separators=(",", ":"))


def _ways_out(path: Path) -> str:
    return (
        f"move it aside (mv '{path}' '{path}.bad') to start a new journal, or run this sync "
        "once with --full-resync (Python: full_resync=True), which sends every row and "
        "replaces the file"
    )


class Journal:
    """Journal rows for one (instance, lookup field, list) scope; thread-safe.

    ``path`` defaults to ``settings.home() / "journal.sqlite3"``. Any SQLite failure (a
    corrupt, unreadable or locked file) raises :class:`JournalError`.
    """

    def __init__(
        self,
        *,
        instance: str,
        lookup_field: str,
        list_key: str = "",
        path: str | Path | None = None,
        clock: Clock | None = None,
        replace_corrupt: bool = False,
    ) -> None:
        self.path = Path(path) if path is not None else settings.home() / JOURNAL_FILE
        self.scope = (instance, lookup_field, list_key)
        self._clock = clock or system_clock
        self._lock = threading.Lock()
        self.replaced: Path | None = None  # where a corrupt file was moved (replace_corrupt)
        try:
            self._conn = self._open()
        except JournalError:
            if not replace_corrupt or not self.path.exists():
                raise
            self.replaced = self.path.with_name(
                f"{self.path.name}.corrupt-{int(self._clock.time())}"
            )
            self.path.replace(self.replaced)
            for extra in ("-wal", "-shm"):
                Path(f"{self.path}{extra}").unlink(missing_ok=True)
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(self.path)
            conn.executescript(_SCHEMA)
            columns = [d[0] for d in conn.execute("SELECT * FROM batches LIMIT 0").description]
            if "in_flight" not in columns:  # a journal written before batches kept their rows
                conn.execute("ALTER TABLE batches ADD COLUMN in_flight TEXT")
            conn.execute(
                "CREATE INDEX IF NOT EXISTS batches_sent ON batches (state) WHERE state='sent'"
            )
            # A malformed page may not show until read: check before anything is sent.
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {verdict}")
            return conn
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise JournalError(
                f"the sync journal {str(self.path)!r} cannot be read ({exc}); nothing was "
                f"sent; {_ways_out(self.path)}",
                path=self.path,
            ) from None

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection under the lock (in a transaction when ``write``); SQLite errors
        become :class:`JournalError`."""
        with self._lock:
            try:
                if write:
                    with transaction(self._conn) as conn:
                        yield conn
                else:
                    yield self._conn
            except sqlite3.Error as exc:
                raise JournalError(
                    f"the sync journal {str(self.path)!r} failed ({exc}); {_ways_out(self.path)}",
                    path=self.path,
                ) from None

    def rescope(self, *, list_key: str) -> None:
        """Point this journal at another list of the same instance and lookup field (the
        runner opens the journal before it creates a new list)."""
        with self._lock:
            self.scope = (self.scope[0], self.scope[1], list_key)

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
        state, fingerprint, pending_fp, lead_id (exact Int64), status, listed (bool).
        Unknown keys are absent."""
        self._expand_unfinished()
        wanted = set(keys)
        where = "instance=? AND lookup_field=? AND list_key=?"
        select = f"SELECT lookup_value, {', '.join(_LOOKUP_COLUMNS)} FROM rows WHERE {where}"
        found: list[Any] = []
        with self._db() as conn:
            (count,) = conn.execute(
                f"SELECT COUNT(*) FROM rows WHERE {where}", self.scope
            ).fetchone()
            if count == 0 or not wanted:
                pass
            elif len(wanted) * 4 < count:
                values = list(wanted)
                for i in range(0, len(values), 900):
                    chunk = values[i : i + 900]
                    marks = ",".join("?" * len(chunk))
                    found.extend(
                        conn.execute(
                            f"{select} AND lookup_value IN ({marks})", (*self.scope, *chunk)
                        ).fetchall()
                    )
            else:
                found = [r for r in conn.execute(select, self.scope) if r[0] in wanted]
        # Column by column: a frame built from tuples would infer float64 for an integer
        # column holding a NULL and round 64-bit fingerprints.
        cols = list(zip(*found, strict=True)) if found else [()] * (len(_LOOKUP_COLUMNS) + 1)
        data: dict[str, Any] = {}
        for name, values in zip(_LOOKUP_COLUMNS, cols[1:], strict=True):
            if name in _INT_COLUMNS:
                data[name] = pd.array(list(values), dtype="Int64")
            elif name == "listed":
                data[name] = pd.array([bool(v) for v in values], dtype=bool)
            else:
                data[name] = pd.array(list(values), dtype=object)
        return pd.DataFrame(data, index=pd.Index(list(cols[0]), dtype=object, name="lookup_value"))

    def superseded(self, keys: Sequence[str], *, exclude_run: str) -> dict[str, set[int]]:
        """key -> fingerprints a later occurrence superseded in an earlier streamed run
        (the marks of run ``exclude_run``, the one asking, are left out: a run decides on
        what earlier runs knew, as its dry run does)."""
        out: dict[str, set[int]] = {}
        values = list(dict.fromkeys(keys))
        where = "instance=? AND lookup_field=? AND list_key=? AND run<>?"
        with self._db() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM superseded WHERE instance=? AND lookup_field=? "
                "AND list_key=?",
                self.scope,
            ).fetchone()
            if count == 0:
                return out
            for i in range(0, len(values), 900):
                chunk = values[i : i + 900]
                marks = ",".join("?" * len(chunk))
                for key, fp in conn.execute(
                    f"SELECT lookup_value, fingerprint FROM superseded WHERE {where} "
                    f"AND lookup_value IN ({marks})",
                    (*self.scope, exclude_run, *chunk),
                ):
                    out.setdefault(key, set()).add(int(fp))
        return out

    def count(self, state: str | None = None) -> int:
        """Rows in this scope (with ``state`` if given)."""
        self._expand_unfinished()
        sql = "SELECT COUNT(*) FROM rows WHERE instance=? AND lookup_field=? AND list_key=?"
        args: tuple[Any, ...] = self.scope
        if state is not None:
            sql += " AND state=?"
            args = (*args, state)
        with self._db() as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    # ------------------------------------------------------------------ writes
    def begin_batch(self, keys: Sequence[str], fps: Iterable[int], *, action: str) -> int:
        """Record ``keys`` as in flight with the fingerprints about to be sent; returns a
        batch id. Call BEFORE sending. One row (the keys as JSON): a reader turns it into
        ``pending`` rows if the batch never finishes (:meth:`_expand_unfinished`)."""
        now = self._clock.time()
        rows = _json(list(zip(keys, np.asarray(fps, dtype=np.int64).tolist(), strict=True)))
        with self._db(write=True) as conn:
            cur = conn.execute(
                "INSERT INTO batches (instance, lookup_field, list_key, action, size, state, "
                "created_at, in_flight) VALUES (?, ?, ?, ?, ?, 'sent', ?, ?)",
                (*self.scope, action, len(keys), now, rows),
            )
            return int(cur.lastrowid or 0)

    def _expand_unfinished(self) -> None:
        """Turn this scope's batches that were sent but never finished (a kill, or another
        process still waiting for Marketo) into ``pending`` rows with the fingerprint in
        flight -- what a reader must see before it decides anything. Checked and done in
        one write transaction, so a batch finishing meanwhile is never made pending."""
        where = "state='sent' AND instance=? AND lookup_field=? AND list_key=?"
        with self._db() as conn:
            if (
                conn.execute(f"SELECT 1 FROM batches WHERE {where} LIMIT 1", self.scope).fetchone()
                is None
            ):
                return
        now = self._clock.time()
        with self._db(write=True) as conn:
            for batch_id, rows in conn.execute(
                f"SELECT id, in_flight FROM batches WHERE {where} AND in_flight IS NOT NULL",
                self.scope,
            ).fetchall():
                conn.execute(_pending_rows("?", "true"), (*self.scope, batch_id, now, rows))
            conn.execute(f"UPDATE batches SET state='expanded' WHERE {where}", self.scope)

    def finish_batch(self, batch_id: int, outcomes: Sequence[RowOutcome]) -> None:
        """Record each row's outcome (AFTER Marketo answered), one transaction per call.
        ``state`` ``synced`` stores the fingerprint as the synced one and clears ``listed``
        (the list add follows)."""
        now = self._clock.time()
        with self._db(write=True) as conn:
            # An upsert, not UPDATE ... FROM: SQLite then walks the JSON rows and finds
            # each by primary key (UPDATE ... FROM would scan the scope's rows).
            conn.execute(
                "INSERT INTO rows (instance, lookup_field, list_key, lookup_value, state, "
                "fingerprint, lead_id, status, reason_code, reason, batch_id, updated_at) "
                "SELECT ?, ?, ?, value->>0, value->>1, value->>2, value->>3, value->>4, "
                "value->>5, value->>6, ?, ? FROM json_each(?) WHERE true "
                "ON CONFLICT DO UPDATE SET state=excluded.state, "
                "fingerprint=CASE WHEN excluded.state='synced' THEN excluded.fingerprint "
                "ELSE rows.fingerprint END, pending_fp=NULL, "
                "lead_id=COALESCE(excluded.lead_id, rows.lead_id), status=excluded.status, "
                "reason_code=excluded.reason_code, reason=excluded.reason, "
                "listed=CASE WHEN excluded.state='synced' THEN 0 ELSE rows.listed END, "
                "batch_id=excluded.batch_id, updated_at=excluded.updated_at",
                (*self.scope, batch_id, now, _json(outcomes)),
            )
            (size,) = conn.execute(
                "SELECT size FROM batches WHERE id=?", (batch_id,)
            ).fetchone() or (0,)
            if len({o.key for o in outcomes}) < size:  # rows without an outcome stay pending
                conn.execute(
                    _pending_rows(
                        "(SELECT in_flight FROM batches WHERE id=?)",
                        "value->>0 NOT IN (SELECT value->>0 FROM json_each(?))",
                    ),
                    (*self.scope, batch_id, now, batch_id, _json(outcomes)),
                )
            conn.execute(
                "UPDATE batches SET state='done', finished_at=?, in_flight=NULL WHERE id=?",
                (now, batch_id),
            )

    def mark_listed(self, keys: Sequence[str], *, listed: bool = True) -> None:
        """Record that the leads of ``keys`` are (or, ``listed=False``, are no longer)
        members of the scope's list."""
        now = self._clock.time()
        with self._db(write=True) as conn:
            conn.execute(
                "UPDATE rows SET listed=?, updated_at=? WHERE instance=? AND lookup_field=? "
                "AND list_key=? AND lookup_value IN (SELECT value FROM json_each(?))",
                (int(listed), now, *self.scope, _json(list(keys))),
            )

    def mark_superseded(self, pairs: Iterable[tuple[str, int]], *, run: str) -> None:
        """Record ``(key, fingerprint)`` pairs a later occurrence in the input of streamed
        run ``run`` superseded. Call BEFORE the later occurrence is sent."""
        with self._db(write=True) as conn:
            conn.executemany(
                "INSERT INTO superseded VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                ((*self.scope, k, int(fp), run) for k, fp in pairs),
            )

    def set_lead_ids(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Record lead ids found after the fact (Bulk Import rows), by lookup value."""
        now = self._clock.time()
        with self._db(write=True) as conn:
            conn.executemany(
                "UPDATE rows SET lead_id=?, updated_at=? WHERE instance=? AND lookup_field=? "
                "AND list_key=? AND lookup_value=?",
                ((int(lead), now, *self.scope, k) for k, lead in pairs),
            )

    def record_run(
        self,
        *,
        list_name: str | None,
        input: str,
        started_at: float,
        counts: Mapping[str, int],
        calls: int,
        report: str | None,
    ) -> None:
        """Remember one finished sync (``sync_history`` lists them)."""
        with self._db(write=True) as conn:
            conn.execute(
                "INSERT INTO runs (instance, lookup_field, list_key, list_name, input, "
                "started_at, finished_at, counts, calls, report) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    *self.scope,
                    list_name,
                    input,
                    started_at,
                    self._clock.time(),
                    json.dumps(dict(counts)),
                    int(calls),
                    report,
                ),
            )

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded sync in this file (all scopes), oldest first."""
        with self._db() as conn:
            cur = conn.execute(
                "SELECT started_at, finished_at, instance, lookup_field, list_key, list_name, "
                "input, counts, calls, report FROM runs ORDER BY id"
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def forget(self) -> int:
        """Delete this scope's rows (the next sync re-sends everything); returns the count."""
        with self._db(write=True) as conn:
            cur = conn.execute(
                "DELETE FROM rows WHERE instance=? AND lookup_field=? AND list_key=?", self.scope
            )
            conn.execute(
                "DELETE FROM superseded WHERE instance=? AND lookup_field=? AND list_key=?",
                self.scope,
            )
            return int(cur.rowcount)

    def __repr__(self) -> str:
        return f"Journal(path={str(self.path)!r}, scope={self.scope!r})"
