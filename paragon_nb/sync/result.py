"""``SyncResult``: one result row per input row, a summary, and notebook/terminal reprs;
and ``ROW_SCHEMA``, the one list of result columns (column -> dtype) that the result, the
dry run, the Bulk Import path and the CLI report all use: adding a column is one entry here
(the plan then carries an array for it) plus the code that fills it.

result = sync_leads(df, client, list="Newsletter")
result.rows          # on df.index: the lookup column, status, lead_id, reason_code, reason
result.summary       # {'counts': {'created': 98, 'invalid': 2, ...}, 'calls': 3, ...}
result.failed        # rows that failed (e.g. daily quota); result.retry() sends them again
result.to_parquet("out.parquet")   # or to_csv: one row per input row
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paragon_nb._theme import COLOURS, SYNC_COLOURS

__all__ = [
    "PlanStatus",
    "ROW_COLUMNS",
    "ROW_SCHEMA",
    "ResultRows",
    "SyncResult",
    "SyncStatus",
    "empty_rows",
    "rows_frame",
]

# The result columns of every input row, in report order (column -> pandas dtype).
ROW_SCHEMA: dict[str, str] = {
    "status": "str",
    "lead_id": "Int64",
    "reason_code": "str",
    "reason": "str",
}
ROW_COLUMNS = tuple(ROW_SCHEMA)


class SyncStatus(StrEnum):
    """Final status of an input row after a sync."""

    CREATED = "created"
    UPDATED = "updated"
    UPSERTED = "upserted"  # bulk import: Marketo does not say created or updated
    UNCHANGED = "unchanged"  # same values as last synced (journal): no call made
    SKIPPED = "skipped"  # Marketo skipped it (reason code kept) or a duplicate in the input
    INVALID = "invalid"  # failed local validation: never sent
    FAILED = "failed"  # not done (e.g. daily quota); the next call resumes it


class PlanStatus(StrEnum):
    """Planned status of a row in a dry run."""

    WOULD_CREATE = "would create"
    WOULD_UPDATE = "would update"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    DUPLICATE = "duplicate"


OK_STATUSES = frozenset(
    {SyncStatus.CREATED, SyncStatus.UPDATED, SyncStatus.UPSERTED, SyncStatus.UNCHANGED}
)


class ResultRows(pd.DataFrame):
    """A result frame (``SyncResult.rows`` and what is cut from it: ``.invalid``, a filter):
    a pandas DataFrame in every way but its notebook display, which shows each ``reason``
    whole, wrapped by the notebook, where pandas would cut it at ``display.max_colwidth`` (50
    characters) with "…". The table keeps pandas' markup, so JupyterLab's Light and Dark
    table colours apply; ``repr`` (terminals) is pandas' own."""

    @property
    def _constructor(self) -> type[ResultRows]:
        return ResultRows

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()


def rows_frame(
    index: pd.Index, values: Mapping[str, Any], *, lookup: tuple[str, Any] | None = None
) -> ResultRows:
    """The result frame on ``index``: ``lookup`` (column name, the input's values) first,
    then every :data:`ROW_SCHEMA` column from ``values`` (missing ones empty)."""
    n = len(index)
    data: dict[str, Any] = {}
    if lookup is not None:
        name, column = lookup
        data[name] = pd.array(np.asarray(column, dtype=object), dtype="str")
    for name, dtype in ROW_SCHEMA.items():
        column = values.get(name)
        data[name] = pd.array([None] * n if column is None else column, dtype=dtype)
    return ResultRows(data, index=index)


def empty_rows(index: pd.Index) -> ResultRows:
    """A result frame on ``index`` with every column missing."""
    return rows_frame(index, {})


@dataclass
class SyncResult:
    """The outcome of ``sync_leads`` (or of a dry run, ``dry_run=True``).

    ``rows`` is aligned to the input's index, one row per input row, the lookup column
    first. A streamed sync (iterable, file, Dask or Spark input) wrote its rows to
    ``rows_path`` (Parquet) as it went: ``rows`` loads that file on first use (0-based
    ``row`` index), while counts come without loading it. ``calls`` counts the API calls
    this sync made -- the same count its progress bar shows; ``planned_calls`` and
    ``remaining_quota`` are filled by dry runs. ``notes`` carries things worth telling the
    user (list created, mirror pending).
    """

    rows: pd.DataFrame | None = field(default=None, repr=False)
    calls: int = 0
    duration: float = 0.0
    dry_run: bool = False
    list_id: int | None = None
    list_name: str | None = None
    planned_calls: int | None = None
    remaining_quota: int | None = None
    notes: list[str] = field(default_factory=list)
    lookup_column: str | None = None
    rows_path: Path | None = None
    _counts: dict[str, int] | None = field(default=None, repr=False)
    _rerun: Callable[[np.ndarray], SyncResult] | None = field(default=None, repr=False)
    # streamed syncs: rerun the whole sync (the journal resumes it), or why it cannot be
    _resume: Callable[[], SyncResult] | str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.rows is None:
            if self.rows_path is None:
                raise ValueError("a SyncResult needs rows or rows_path")
            del self.rows  # loaded from rows_path on first use (__getattr__)
        elif not isinstance(self.rows, ResultRows):
            self.rows = ResultRows(self.rows)

    def __getattr__(self, name: str) -> Any:
        path = self.__dict__.get("rows_path")
        if name == "rows" and path is not None:
            frame = ResultRows(pd.read_parquet(path).set_index("row"))
            self.rows = frame
            return frame
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _chunks(self) -> Any:
        """The rows as frames with a ``row`` column (row groups of the file when streamed)."""
        if "rows" in self.__dict__:
            frame = self.rows.copy()
            frame.index = frame.index.rename(frame.index.name or "row")
            yield frame.reset_index()
            return
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.rows_path) as file:
            for i in range(file.num_row_groups):
                yield file.read_row_group(i).to_pandas()

    def to_csv(self, path: str | Path) -> Path:
        """Write one row per input row (``row``, the lookup column, status, lead_id,
        reason_code, reason) as CSV; streamed results are copied without loading them."""
        target = Path(path)
        with target.open("w", encoding="utf-8", newline="") as out:
            for i, chunk in enumerate(self._chunks()):
                chunk.to_csv(out, index=False, header=i == 0, lineterminator="\n")
        return target

    def to_parquet(self, path: str | Path) -> Path:
        """Write one row per input row as Parquet (same columns as :meth:`to_csv`)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = Path(path)
        writer = None
        try:
            for chunk in self._chunks():
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(target, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        return target

    # ------------------------------------------------------------------ views
    @property
    def counts(self) -> dict[str, int]:
        """Rows per status, most frequent first."""
        if "rows" not in self.__dict__ and self._counts is not None:
            return dict(sorted(self._counts.items(), key=lambda kv: -kv[1]))
        return {str(k): int(v) for k, v in self.rows["status"].value_counts().items()}

    @property
    def summary(self) -> dict[str, Any]:
        """Counts per status, calls, duration (s) and, for dry runs, the plan's cost."""
        out: dict[str, Any] = {
            "rows": sum(self.counts.values()),
            "counts": self.counts,
            "calls": self.calls,
            "duration": round(self.duration, 3),
        }
        if self.list_id is not None:
            out["list"] = {"id": self.list_id, "name": self.list_name}
        if self.dry_run:
            out["planned_calls"] = self.planned_calls
            out["remaining_quota"] = self.remaining_quota
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @property
    def failed(self) -> pd.DataFrame:
        """Rows with status ``failed`` (retry them with :meth:`retry`)."""
        return self.rows[self.rows["status"] == SyncStatus.FAILED]

    @property
    def invalid(self) -> pd.DataFrame:
        """Rows that failed validation (never sent); ``reason`` names field and value."""
        return self.rows[self.rows["status"] == SyncStatus.INVALID]

    @property
    def skipped(self) -> pd.DataFrame:
        return self.rows[self.rows["status"] == SyncStatus.SKIPPED]

    @property
    def ok(self) -> bool:
        """True when every row ended created/updated/upserted/unchanged."""
        return bool(self.rows["status"].isin([str(s) for s in OK_STATUSES]).all())

    # ------------------------------------------------------------------ actions
    def retry(self) -> SyncResult:
        """Send the ``failed`` rows (and Marketo-skipped ones) again with the same arguments;
        returns a new result for the whole input with those rows replaced.

        A streamed result (file, Dask or Spark input) reruns the same sync over the whole
        input: the journal sends only the rows not finished, so the new result says
        ``unchanged`` for rows an earlier run finished.

        Raises ``ValueError`` for dry runs (nothing to retry) and for streamed inputs that
        cannot be read again (an iterable: call ``sync_leads`` again with the same chunks).
        """
        if not self.dry_run and self._resume is not None:
            if isinstance(self._resume, str):
                raise ValueError(f"this result cannot be retried: {self._resume}")
            if not ({SyncStatus.FAILED.value, SyncStatus.SKIPPED.value} & set(self.counts)):
                return self  # (counts, not rows: a streamed result stays on disk)
            return self._resume()
        if self.dry_run or self._rerun is None:
            raise ValueError("this result cannot be retried (dry run, or built by hand)")
        status = self.rows["status"].to_numpy(dtype=object)
        codes = self.rows["reason_code"].to_numpy(dtype=object)
        again = (status == "failed") | ((status == "skipped") & (codes != "duplicate"))
        positions = np.flatnonzero(again)
        if len(positions) == 0:
            return self
        sub = self._rerun(positions)
        rows = self.rows.copy()
        for col in ROW_COLUMNS:
            rows.iloc[positions, rows.columns.get_loc(col)] = sub.rows[col].to_numpy()
        return SyncResult(
            rows=rows,
            calls=sub.calls,
            duration=sub.duration,
            list_id=self.list_id,
            list_name=self.list_name,
            notes=sub.notes,
            lookup_column=self.lookup_column,
            _rerun=self._rerun,
        )

    # ------------------------------------------------------------------ reprs
    def _headline(self) -> str:
        kind = "dry run" if self.dry_run else "sync"
        where = f" -> list {self.list_name!r} (id {self.list_id})" if self.list_id else ""
        return f"{kind} of {sum(self.counts.values()):,} rows{where}"

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items()) or "no rows"
        cost = (
            f"would cost {self.planned_calls} calls (quota left today: {self.remaining_quota})"
            if self.dry_run
            else f"{self.calls} calls in {self.duration:.2f}s"
        )
        text = f"SyncResult({self._headline()}: {counts}; {cost})"
        for note in self.notes:
            text += f"\n  note: {note}"
        return text

    def _repr_html_(self) -> str:
        counts = self.counts
        total = max(sum(counts.values()), 1)
        bars = []
        for status, n in counts.items():
            width = max(1.0, 100.0 * n / total)
            colour = SYNC_COLOURS.get(status, COLOURS["muted"])
            bars.append(
                "<tr>"
                f"<td style='padding:1px 8px 1px 0;text-align:left'>{html.escape(status)}</td>"
                f"<td style='padding:1px 8px;text-align:right'>{n:,}</td>"
                "<td style='width:240px;padding:1px 0'>"
                f"<div style='background:{colour};height:12px;width:{width:.1f}%'></div></td>"
                "</tr>"
            )
        cost = (
            f"would cost {self.planned_calls} API calls; quota left today: {self.remaining_quota}"
            if self.dry_run
            else f"{self.calls} API calls in {self.duration:.2f}s"
        )
        notes = "".join(f"<div>note: {html.escape(n)}</div>" for n in self.notes)
        return (
            "<div class='paragon-nb-sync-result'>"
            f"<b>{html.escape(self._headline())}</b>"
            f"<table style='border-collapse:collapse;margin:4px 0'>{''.join(bars)}</table>"
            f"<div>{html.escape(cost)}</div>{notes}"
            f"<div style='color:{COLOURS['faint']}'>details: <code>.rows</code>, "
            "<code>.failed</code>, <code>.invalid</code>, <code>.retry()</code></div></div>"
        )


# ``rows`` of a streamed result is loaded on first use: without a class attribute of that
# name, reading it falls through to ``__getattr__`` (the generated __init__ keeps its default).
del SyncResult.rows
