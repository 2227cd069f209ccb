"""``paragon-nb sync FILE``: the sync from the shell (flags are defined in paragon_nb/cli.py).

Reads CSV (UTF-8, quoted fields, embedded newlines; every value kept as text so the
validator coerces it exactly as for a notebook) or Parquet; connects with MARKETO_*
variables, else the local sandbox state under the home folder; writes an optional report
with one row per input row. Exit codes: 0 every row created/updated/upserted/unchanged,
1 some rows invalid/skipped/failed (all reported), 2 usage or configuration errors
(raised as ``ParagonError`` before anything is written; ``paragon_nb.cli`` prints them).

    paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb.errors import ConfigurationError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.sync.result import OK_STATUSES, PlanStatus, SyncResult
from paragon_nb.sync.runner import sync_leads

__all__ = ["connect", "read_table", "report_frame", "run_cli"]

_ENV = ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")


def read_table(path: str | Path) -> pd.DataFrame:
    """The file as a DataFrame on a 0-based RangeIndex (CSV cells kept as text).

    Raises ``ConfigurationError`` for a missing/unreadable file or a bad encoding."""
    p = Path(path)
    if not p.is_file():
        raise ConfigurationError(
            f"input file {str(p)!r} does not exist; pass a CSV or Parquet file"
        )
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(
                p,
                dtype=str,
                keep_default_na=False,
                na_values=[],
                encoding="utf-8",
                skip_blank_lines=False,
            )
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{str(p)!r} is not UTF-8 ({exc.reason} at byte {exc.start}); re-save it as UTF-8"
        ) from None
    except (ValueError, OSError, ImportError, pd.errors.ParserError) as exc:
        raise ConfigurationError(f"cannot read {str(p)!r}: {exc}") from None
    return df.reset_index(drop=True)


def _parse_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        col, sep, field = item.partition("=")
        if not sep or not col or not field:
            raise ConfigurationError(f"--map {item!r} is not COL=FIELD (e.g. --map E-mail=email)")
        out[col] = field
    return out


def connect(**kwargs: Any) -> MarketoClient:
    """A client from MARKETO_* variables, else for the local sandbox under the home folder."""
    if any(os.environ.get(v) for v in _ENV):
        return MarketoClient.from_env(**kwargs)
    try:
        from paragon_nb.sandbox.server import default_sandbox
    except ImportError as exc:  # pragma: no cover - the sandbox ships with the package
        raise ConfigurationError(
            "no MARKETO_ENDPOINT/MARKETO_CLIENT_ID/MARKETO_CLIENT_SECRET set and no local "
            f"sandbox available ({exc}); set the variables"
        ) from None
    # The sandbox on the home folder's state file, in-process (no socket, no server to run).
    return default_sandbox().app.client(**kwargs)


def report_frame(result: SyncResult, source: pd.DataFrame) -> pd.DataFrame:
    """One row per input row: ``row`` (0-based position), the lookup column, status,
    lead_id, reason_code, reason."""
    rows = result.rows.reset_index(drop=True)
    out = pd.DataFrame({"row": range(len(rows))})
    col = result.lookup_column
    if col is not None and col in source.columns:
        out[col] = source[col].reset_index(drop=True)
    for name in ("status", "lead_id", "reason_code", "reason"):
        out[name] = rows[name]
    return out


def run_cli(args: argparse.Namespace) -> int:
    """Run ``paragon-nb sync`` for parsed ``args``; returns the exit code."""
    df = read_table(args.file)
    mapping = _parse_map(list(args.map or []))
    list_arg: str | int | None = args.list_name
    progress = False if getattr(args, "no_progress", False) else None
    client = connect()
    try:
        result = sync_leads(
            df,
            client,
            list=list_arg,
            create_list=bool(args.create_list),
            lookup_field=args.lookup_field,
            mapping=mapping or None,
            ignore=list(args.ignore or []),
            action=args.action,
            dry_run=bool(args.dry_run),
            method=args.method,
            progress=progress,
            full_resync=bool(getattr(args, "full_resync", False)),
        )
    finally:
        client.close()
    if args.report:
        try:
            report_frame(result, df).to_csv(args.report, index=False)
        except OSError as exc:
            raise ConfigurationError(f"cannot write report {args.report!r}: {exc}") from None
    print(repr(result))
    statuses = set(result.rows["status"].dropna().unique())
    if result.dry_run:
        fine = {str(PlanStatus.WOULD_CREATE), str(PlanStatus.WOULD_UPDATE), "unchanged"}
    else:
        fine = {str(s) for s in OK_STATUSES}
    bad = statuses - fine
    if bad:
        counts = result.counts
        print(
            "rows not synced: "
            + ", ".join(f"{s} {counts.get(s, 0)}" for s in sorted(bad))
            + (f"; see {args.report}" if args.report else "; pass --report OUT.csv for details"),
            file=sys.stderr,
        )
        return 1
    return 0
