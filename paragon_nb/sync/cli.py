"""``paragon-nb sync FILE``: the sync from the shell (flags are defined in paragon_nb/cli.py).

Streams CSV with pyarrow's streaming reader (UTF-8, checked first; comma/semicolon/tab
sniffed or ``--delimiter``; quoted fields, embedded newlines; every value kept as text so
the validator coerces it exactly as for a notebook) or Parquet in ``--chunk-size`` rows,
so memory stays flat for any file size; connects with MARKETO_* variables, else the local
sandbox state under the home folder; prints a plain-text summary and writes an optional
report with one row per input row.
Exit codes: 0 every row created/updated/upserted/unchanged, 1 some rows
invalid/skipped/failed (all reported), 2 usage or configuration errors, including a corrupt
journal (raised as ``ParagonError`` before anything is written; ``paragon_nb.cli`` prints
them).

    paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb.errors import ConfigurationError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.sync.options import DEFAULT_CHUNK_SIZE
from paragon_nb.sync.result import OK_STATUSES, PlanStatus, SyncResult
from paragon_nb.sync.runner import sync_leads
from paragon_nb.sync.sources import PARQUET_SUFFIXES, check_utf8, csv_source, sniff_delimiter

__all__ = ["check_utf8", "connect", "read_table", "run_cli", "sniff_delimiter", "summary_table"]

_ENV = ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")


def read_table(path: str | Path) -> pd.DataFrame:
    """The whole file as a DataFrame on a 0-based RangeIndex (CSV cells kept as text); the
    sync itself streams files instead. Raises ``ConfigurationError`` for a missing file or
    a bad encoding."""
    p = Path(path)
    if not p.is_file():
        raise ConfigurationError(
            f"input file {str(p)!r} does not exist; pass a CSV or Parquet file"
        )
    if p.suffix.lower() in PARQUET_SUFFIXES:
        return pd.read_parquet(p).reset_index(drop=True)
    check_utf8(p)
    return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8",
                       sep=sniff_delimiter(p), skip_blank_lines=False)  # fmt: skip


def _parse_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        col, sep, field = item.partition("=")
        if not sep or not col or not field:
            raise ConfigurationError(
                f"--map {shlex.quote(item)} is not COL=FIELD (e.g. --map E-mail=email; quote a "
                "column with spaces: --map 'Favourite Colour=favouriteColour')"
            )
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


def summary_table(result: SyncResult) -> str:
    """The plain-text summary the CLI prints: headline, a row per status, calls, time."""
    lines = [result._headline()]
    counts = result.counts
    width = max([len(k) for k in counts] + [len("API calls")])
    for status, n in counts.items():
        lines.append(f"  {status:<{width}}  {n:>9,}")
    if result.dry_run:
        lines.append(f"  {'API calls':<{width}}  {result.planned_calls or 0:>9,}  (planned)")
        if result.remaining_quota is not None:
            lines.append(f"  {'quota left':<{width}}  {result.remaining_quota:>9,}  (today)")
    else:
        lines.append(f"  {'API calls':<{width}}  {result.calls:>9,}")
        lines.append(f"  {'duration':<{width}}  {result.duration:>8.2f}s")
    lines.extend(f"  note: {note}" for note in result.notes)
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``paragon-nb sync`` for parsed ``args``; returns the exit code."""
    path = Path(args.file)
    if not path.is_file():
        raise ConfigurationError(
            f"input file {str(path)!r} does not exist; pass a CSV or Parquet file"
        )
    mapping = _parse_map(list(args.map or []))
    source: Any = path
    chunk_size = int(getattr(args, "chunk_size", None) or DEFAULT_CHUNK_SIZE)
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        given = (
            {"\\t": "\t", "tab": "\t"}.get(args.delimiter, args.delimiter)
            if args.delimiter
            else None
        )
        source = csv_source(path, chunk_size=chunk_size, delimiter=given)
    progress = False if getattr(args, "no_progress", False) else None
    client = connect()
    try:
        result = sync_leads(
            source,
            client,
            list=args.list_name,
            create_list=bool(args.create_list),
            lookup_field=args.lookup_field,
            mapping=mapping or None,
            ignore=list(args.ignore or []),
            action=args.action,
            dry_run=bool(args.dry_run),
            method=args.method,
            progress=progress,
            full_resync=bool(getattr(args, "full_resync", False)),
            chunk_size=chunk_size,
            report=args.report,
        )
    finally:
        client.close()
    print(summary_table(result))
    if result.dry_run:
        fine = {str(PlanStatus.WOULD_CREATE), str(PlanStatus.WOULD_UPDATE), "unchanged"}
    else:
        fine = {str(s) for s in OK_STATUSES}
    counts = result.counts
    bad = set(counts) - fine
    if bad:
        where = (
            f"see {shlex.quote(args.report)}"
            if args.report
            else "pass --report OUT.csv for details"
        )
        print(
            "rows not synced: " + ", ".join(f"{s} {counts[s]}" for s in sorted(bad)) + f"; {where}",
            file=sys.stderr,
        )
        return 1
    return 0
