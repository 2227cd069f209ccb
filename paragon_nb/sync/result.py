"""``SyncResult``: one result row per input row, a summary, and notebook/terminal reprs.

result = sync_leads(df, client, list="Newsletter")
result.rows          # DataFrame on df.index: status, lead_id, reason_code, reason
result.summary       # {'counts': {'created': 98, 'invalid': 2, ...}, 'calls': 3, ...}
result.failed        # rows that failed (e.g. daily quota); result.retry() sends them again
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PlanStatus", "ROW_COLUMNS", "SyncResult", "SyncStatus", "empty_rows"]

ROW_COLUMNS = ("status", "lead_id", "reason_code", "reason")


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
_COLOURS = {
    "created": "#2e7d32",
    "updated": "#1565c0",
    "upserted": "#00838f",
    "unchanged": "#9e9e9e",
    "skipped": "#ef6c00",
    "invalid": "#c62828",
    "failed": "#6a1b9a",
    "would create": "#2e7d32",
    "would update": "#1565c0",
    "duplicate": "#ef6c00",
}


def empty_rows(index: pd.Index) -> pd.DataFrame:
    """A result frame on ``index`` with every column missing."""
    n = len(index)
    return pd.DataFrame(
        {
            "status": pd.Series([None] * n, dtype="str", index=index),
            "lead_id": pd.Series(pd.array([None] * n, dtype="Int64"), index=index),
            "reason_code": pd.Series([None] * n, dtype="str", index=index),
            "reason": pd.Series([None] * n, dtype="str", index=index),
        },
        index=index,
    )


@dataclass
class SyncResult:
    """The outcome of ``sync_leads`` (or of a dry run, ``dry_run=True``).

    ``rows`` is aligned to the input's index, one row per input row. ``calls`` counts the
    API calls this sync made; ``planned_calls`` and ``remaining_quota`` are filled by dry
    runs. ``notes`` carries things worth telling the user (list created, mirror pending).
    """

    rows: pd.DataFrame
    calls: int = 0
    duration: float = 0.0
    dry_run: bool = False
    list_id: int | None = None
    list_name: str | None = None
    planned_calls: int | None = None
    remaining_quota: int | None = None
    notes: list[str] = field(default_factory=list)
    lookup_column: str | None = None
    _rerun: Callable[[np.ndarray], SyncResult] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ views
    @property
    def counts(self) -> dict[str, int]:
        """Rows per status, most frequent first."""
        return {str(k): int(v) for k, v in self.rows["status"].value_counts().items()}

    @property
    def summary(self) -> dict[str, Any]:
        """Counts per status, calls, duration (s) and, for dry runs, the plan's cost."""
        out: dict[str, Any] = {
            "rows": len(self.rows),
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

        Raises ``ValueError`` for dry runs (nothing to retry).
        """
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
        return f"{kind} of {len(self.rows):,} rows{where}"

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
        total = max(len(self.rows), 1)
        bars = []
        for status, n in counts.items():
            width = max(1.0, 100.0 * n / total)
            colour = _COLOURS.get(status, "#616161")
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
            "<div style='color:#757575'>details: <code>.rows</code>, <code>.failed</code>, "
            "<code>.invalid</code>, <code>.retry()</code></div></div>"
        )
