"""``paragon-nb sync FILE``: the sync from the shell (the work is :func:`paragon_nb.sync_leads`).

Streams CSV with pyarrow's streaming reader (UTF-8, checked first; comma/semicolon/tab
sniffed or ``--delimiter``; quoted fields, embedded newlines; every value kept as text so
the validator coerces it exactly as for a notebook) or Parquet in ``--chunk-size`` rows,
so memory stays flat for any file size; connects with MARKETO_* variables, else the local
sandbox state under the home folder; prints a plain-text summary and writes an optional
report with one row per input row.
Exit codes: 0 every row created/updated/upserted/unchanged, 1 some rows
invalid/skipped/failed (all reported), 2 usage or configuration errors, including a corrupt
journal (raised as ``ParagonError`` before anything is written; :func:`paragon_nb.cli.main`
prints them).

    paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paragon_nb.errors import ConfigurationError

if TYPE_CHECKING:  # the sync stack (pandas) is imported when `sync` runs, not for --help
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.sync.result import SyncResult

__all__ = [
    "SYNC_EPILOG",
    "add_parser",
    "connect",
    "run",
    "summary_table",
]

_ENV = ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")


SYNC_EPILOG = """examples:
  paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
  paragon-nb sync leads.csv --dry-run                      # the plan: no writes
  paragon-nb sync export.csv --delimiter ';' --map 'E-mail Address=email'
  paragon-nb sync big.parquet --chunk-size 200000 --method bulk
  paragon-nb sync leads.csv --full-resync                  # ignore the journal once

exit codes:
  0  every row created, updated, upserted or unchanged
  1  some rows invalid, skipped or failed (all in the report; run again to resume)
  2  usage or configuration error, nothing sent (bad flag, unknown column or list,
     unreadable file, corrupt journal)
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync",
        help="sync a CSV or Parquet file of leads into Marketo",
        description="Upsert every row of FILE into Marketo and add the leads to a list, "
        "streaming the file in chunks. Credentials come from MARKETO_* variables, else the "
        "local sandbox under the home folder. A journal under the home folder makes a second "
        "run skip unchanged rows (verified against Marketo) and resume an interrupted one.",
        epilog=SYNC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="CSV (UTF-8) or Parquet (.parquet, .pq) file")
    p.add_argument("--list", dest="list_name", metavar="NAME", help="static list name or id")
    p.add_argument("--create-list", action="store_true", help="create the list if missing")
    p.add_argument(
        "--lookup-field",
        default="email",
        metavar="F",
        help="Marketo field that identifies a lead (dedupe field; default email)",
    )
    p.add_argument(
        "--action",
        default="createOrUpdate",
        choices=["createOrUpdate", "createOnly", "updateOnly", "createDuplicate"],
        help="Marketo sync action (default createOrUpdate: create new leads, update known ones)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COL=FIELD",
        help="map a column to a Marketo field (repeatable; quote names with spaces)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="COL",
        help="leave a column out (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="plan only: no writes")
    p.add_argument(
        "--report", metavar="OUT", help="write one result row per input row (.csv or .parquet)"
    )
    p.add_argument(
        "--method",
        default="auto",
        choices=["auto", "rest", "bulk"],
        help="REST Sync Leads, Bulk Import, or auto (bulk for large chunks; default)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--full-resync",
        action="store_true",
        help="ignore the sync journal for this run: send every valid row and record the "
        "results afresh (also replaces a corrupt journal, moving it aside)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=100_000,
        metavar="N",
        help="rows read and planned at a time (default 100000); memory grows with N, "
        "not with the file",
    )
    p.add_argument(
        "--delimiter",
        metavar="C",
        help="CSV delimiter (default: sniffed from the file among comma, semicolon, tab)",
    )
    p.set_defaults(func=run)


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
    from paragon_nb.marketo.client import MarketoClient

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


def run(args: argparse.Namespace) -> int:
    """Run ``paragon-nb sync`` for parsed ``args``; returns the exit code."""
    from paragon_nb.sync.options import DEFAULT_CHUNK_SIZE
    from paragon_nb.sync.result import OK_STATUSES, PlanStatus
    from paragon_nb.sync.runner import sync_leads
    from paragon_nb.sync.sources import PARQUET_SUFFIXES, csv_source

    path = Path(args.file)
    if not path.is_file():
        raise ConfigurationError(
            f"input file {str(path)!r} does not exist; pass a CSV or Parquet file"
        )
    mapping = _parse_map(list(args.map or []))
    source: Any = path
    chunk_size = int(args.chunk_size or DEFAULT_CHUNK_SIZE)
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        given = (
            {"\\t": "\t", "tab": "\t"}.get(args.delimiter, args.delimiter)
            if args.delimiter
            else None
        )
        # pyarrow's streaming reader; UTF-8 checked first (line and column named), the
        # delimiter sniffed unless given
        source = csv_source(path, chunk_size=chunk_size, delimiter=given)
    progress = False if args.no_progress else None
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
            full_resync=bool(args.full_resync),
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
