"""Past syncs, from the journal: ``paragon_nb.sync_history()`` and ``paragon-nb history``.

Every real sync that used the journal records one row when it finishes: when, what input,
which list, rows per status, API calls and where its report is (if it wrote one).

    sync_history()          # DataFrame, newest first
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from paragon_nb import settings
from paragon_nb.sync.journal import JOURNAL_FILE, Journal

__all__ = ["history_table", "sync_history"]

COLUMNS = ["time", "input", "list", "rows", "counts", "calls", "seconds", "report", "instance"]


def sync_history(journal: str | Path | None = None) -> pd.DataFrame:
    """Past syncs recorded in the journal (default ``journal.sqlite3`` under the home
    folder), newest first: time (UTC), input, list, rows, counts per status, calls,
    seconds, report path and the Marketo instance. Empty when nothing was synced yet."""
    path = Path(journal) if journal is not None else settings.home() / JOURNAL_FILE
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    with Journal(instance="", lookup_field="", path=path) as j:
        runs = j.runs()
    rows = []
    for run in reversed(runs):
        counts = json.loads(run["counts"])
        rows.append(
            {
                "time": pd.Timestamp(run["started_at"], unit="s", tz="UTC").floor("s"),
                "input": run["input"],
                "list": run["list_name"] or ("" if not run["list_key"] else run["list_key"]),
                "rows": sum(counts.values()),
                "counts": counts,
                "calls": run["calls"],
                "seconds": round(run["finished_at"] - run["started_at"], 2),
                "report": run["report"],
                "instance": run["instance"].split(" client=")[0],
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def history_table(frame: pd.DataFrame) -> str:
    """Plain text for the shell: one line per sync."""
    if frame.empty:
        return "no syncs recorded yet (the journal keeps one line per finished sync)"
    shown = frame.assign(
        counts=[", ".join(f"{k} {v:,}" for k, v in c.items()) for c in frame["counts"]],
        time=frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        report=frame["report"].fillna(""),
    )[["time", "input", "list", "rows", "counts", "calls", "report"]]
    return shown.to_string(index=False)
