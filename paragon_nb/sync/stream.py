"""Streamed syncs: the lookup values seen so far in this run, and the report written as the
chunks finish -- so memory stays O(chunk) whatever the input's size.

``Seen`` is a temporary table (SQLite, spilled to a file) of each lookup value's last
position and status in this run: a value met again in a later chunk makes its earlier row a
``skipped`` duplicate (last occurrence wins, as in one frame) and the later row inherits
``created`` when the earlier one created the lead. ``ReportWriter`` appends each chunk's
result rows to a Parquet file and, at the end, rewrites the few rows a later duplicate
superseded while copying it to its final path (``SyncResult.rows_path``; ``to_csv`` copies
it to CSV row group by row group).

    seen = Seen()
    earlier = seen.earlier(keys)         # key -> (position, status) from earlier chunks
    writer = ReportWriter(final_path); writer.write(rows); writer.close(fixups)
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from paragon_nb import settings
from paragon_nb.errors import ConfigurationError
from paragon_nb.sync import dryrun
from paragon_nb.sync.plan import Plan
from paragon_nb.sync.result import ROW_SCHEMA, PlanStatus, SyncResult, SyncStatus
from paragon_nb.sync.sender import want_progress
from paragon_nb.sync.sources import Source

__all__ = ["ReportWriter", "Seen", "release_memory", "stream_sync"]


class Seen:
    """Lookup values of this run -> (last position, status); on disk, not in memory."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="paragon-sync-seen-", suffix=".sqlite3")
        os.close(handle)
        self._path = Path(name)
        self._conn = sqlite3.connect(name, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE seen (key TEXT PRIMARY KEY, position INTEGER, status TEXT) WITHOUT ROWID"
        )

    def earlier(self, keys: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """Which of ``keys`` an earlier chunk had: key -> (position, status)."""
        out: dict[str, tuple[int, str | None]] = {}
        for i in range(0, len(keys), 900):
            chunk = list(keys[i : i + 900])
            marks = ",".join("?" * len(chunk))
            for key, position, status in self._conn.execute(
                f"SELECT key, position, status FROM seen WHERE key IN ({marks})", chunk
            ):
                out[key] = (int(position), status)
        return out

    def record(
        self, keys: Sequence[str], positions: Sequence[int], statuses: Sequence[str]
    ) -> None:
        """Remember the chunk's (last-occurrence) rows, replacing earlier ones."""
        self._conn.execute("BEGIN")
        self._conn.executemany(
            "INSERT OR REPLACE INTO seen VALUES (?, ?, ?)",
            zip(keys, (int(p) for p in positions), statuses, strict=True),
        )
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
        self._path.unlink(missing_ok=True)


def _table(rows: pd.DataFrame) -> pa.Table:
    frame = rows.copy()
    for name, dtype in ROW_SCHEMA.items():
        frame[name] = frame[name].astype(dtype)
    return pa.Table.from_pandas(frame, preserve_index=False)


class ReportWriter:
    """Appends result rows (with a ``row`` column) to Parquet; ``close`` applies fix-ups and
    leaves the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._parts = path.with_name(f".{path.name}.parts.parquet")
        self._writer: pq.ParquetWriter | None = None
        self.counts: dict[str, int] = {}

    def write(self, rows: pd.DataFrame) -> None:
        table = _table(rows)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._parts, table.schema)
        self._writer.write_table(table.cast(self._writer.schema))
        for status, n in rows["status"].value_counts().items():
            self.counts[str(status)] = self.counts.get(str(status), 0) + int(n)

    def close(self, fixups: Mapping[int, tuple[str, str | None]], *, dup_status: str) -> Path:
        """Finish the report. ``fixups``: position -> (reason, its old status) of rows a
        later duplicate superseded: they become ``dup_status`` with reason code
        ``duplicate`` (``skipped``, or ``duplicate`` in a dry run)."""
        if self._writer is None:
            raise ValueError("no rows were written")
        self._writer.close()
        for _reason, old in fixups.values():
            if old is not None:
                self.counts[old] = self.counts.get(old, 0) - 1
            self.counts[dup_status] = self.counts.get(dup_status, 0) + 1
        self.counts = {k: v for k, v in self.counts.items() if v}
        if not fixups:
            self._parts.replace(self.path)
            return self.path
        out: pq.ParquetWriter | None = None
        try:
            with pq.ParquetFile(self._parts) as parts:
                for i in range(parts.num_row_groups):
                    frame = parts.read_row_group(i).to_pandas()
                    hit = frame["row"].isin(list(fixups)).to_numpy()
                    if hit.any():
                        frame.loc[hit, "status"] = dup_status
                        frame.loc[hit, "lead_id"] = pd.NA
                        frame.loc[hit, "reason_code"] = "duplicate"
                        frame.loc[hit, "reason"] = [fixups[int(r)][0] for r in frame["row"][hit]]
                    table = _table(frame)
                    out = out or pq.ParquetWriter(self.path, table.schema)
                    out.write_table(table.cast(out.schema))
        finally:
            if out is not None:
                out.close()
        self._parts.unlink(missing_ok=True)
        return self.path


def stream_sync(run: Any, source: Source) -> SyncResult:
    """A streamed sync: each chunk planned, sent and its rows written before the next is
    read (``run`` is the runner's per-sync state)."""
    o = run.o
    if o.mirror:
        raise ConfigurationError(
            "mirror=True needs the whole input at once (members not in it are removed); "
            "pass a pandas DataFrame, or sync without mirror"
        )
    home = settings.home() / "reports"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(run.clock.time()))
    writer = ReportWriter(home / f"sync-{stamp}-{uuid.uuid4().hex[:8]}.parquet")
    seen = Seen()
    fixups: dict[int, tuple[str, str | None]] = {}
    bar = None
    if want_progress(o.progress):
        from tqdm.auto import tqdm

        bar = tqdm(unit="rows", desc="sync", leave=True)
    state = _StreamState(seen=seen, writer=writer, fixups=fixups)
    try:
        for i, df in enumerate(source.frames):
            # Everything of a chunk lives in _one_chunk's frame: nothing of chunk k is alive
            # while chunk k+1 is read and planned (peak memory is one chunk, not two).
            _one_chunk(run, state, df, first=i == 0, bar=bar)
            del df
            release_memory()
        planned, offset, lookup_column = state.planned, state.offset, state.lookup_column
        if offset == 0:
            raise ConfigurationError(f"the input ({source.description}) has no rows")
        path = writer.close(
            fixups,
            dup_status=PlanStatus.DUPLICATE.value if o.dry_run else SyncStatus.SKIPPED.value,
        )
    finally:
        seen.close()
        if bar is not None:
            bar.close()
    meta = run.meta()
    extra: dict[str, Any] = {}
    if o.dry_run:
        extra = dict(dry_run=True, planned_calls=planned,
                     remaining_quota=dryrun.remaining_quota(run.client))  # fmt: skip
    return SyncResult(rows_path=path, _counts=dict(writer.counts), lookup_column=lookup_column,
                      **meta, **extra)  # fmt: skip


@dataclass
class _StreamState:
    """What a streamed sync carries from one chunk to the next (all bounded but ``fixups``,
    one entry per cross-chunk duplicate)."""

    seen: Seen
    writer: ReportWriter
    fixups: dict[int, tuple[str, str | None]]
    planned: int = 0
    offset: int = 0
    lookup_column: str | None = None


def _one_chunk(run: Any, state: _StreamState, df: pd.DataFrame, *, first: bool, bar: Any) -> None:
    """Plan, send (or dry-run) one chunk and write its result rows."""
    o = run.o
    offset = state.offset
    df = df.reset_index(drop=True)
    plan = run.plan(df)
    state.lookup_column = plan.mapping.lookup_column
    lookup = (state.lookup_column, run.lookup_values(plan, df))
    last = _kept(plan)
    keys = plan.keys.many(last)
    inherit: dict[int, str | None] = {}
    earlier = state.seen.earlier(keys)
    for p, key in zip(last.tolist(), keys, strict=True):
        if key in earlier:
            q, status = earlier[key]
            state.fixups[q] = (
                f"duplicate {o.lookup_field} {key!r}: row {offset + p} (a later "
                "occurrence) was sent instead",
                status,
            )
            inherit[p] = status
    if o.dry_run:
        result = run.dry(plan, lookup, removals=0, setup=run.setup_calls if first else 0)
        state.planned += int(result.planned_calls or 0)
        rows = result.rows
    else:
        run.ensure_list()
        run.send(plan, bar=bar)
        rows = plan.result_rows(lookup_values=lookup[1])
    status = rows["status"].to_numpy(dtype=object)
    for p, old in inherit.items():  # the lead was created earlier in this run
        if old in (SyncStatus.CREATED.value, PlanStatus.WOULD_CREATE.value) and status[p] in (
            SyncStatus.UPDATED.value,
            SyncStatus.UNCHANGED.value,
            PlanStatus.WOULD_UPDATE.value,
        ):
            status[p] = old
    rows["status"] = pd.array(status, dtype="str")
    rows.index = pd.RangeIndex(offset, offset + len(df), name="row")
    state.writer.write(rows.reset_index())
    state.seen.record(keys, (last + offset).tolist(), status[last].tolist())
    state.offset = offset + len(df)
    if bar is not None and o.dry_run:
        bar.update(len(df))


def release_memory() -> None:
    """Hand the memory a finished chunk used back to the OS: Arrow's pool (mimalloc or
    jemalloc) otherwise keeps freed pages for reuse, and RSS creeps up chunk by chunk."""
    pa.default_memory_pool().release_unused()


def _kept(plan: Plan) -> np.ndarray:
    """Positions with a lookup value that are not invalid nor an in-chunk duplicate."""
    status = plan.status
    bad = (status == SyncStatus.INVALID.value) | (plan.reason_code == "duplicate")
    return np.flatnonzero(~bad)
