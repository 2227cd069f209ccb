"""``paragon-nb``: the command line skin. Each subcommand parses its flags and makes one
call into the package; the work (and its tests) lives there.

    paragon-nb sandbox --port 8080 --rate-limit 100/20
    paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
    paragon-nb serve ./my-project --port 9000
    paragon-nb key ./my-project --out private.pem
    paragon-nb token ./my-project user-1 --key private.pem

Exit codes: 0 success, 1 some records/rows failed (sync), 2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from paragon_nb import __version__
from paragon_nb.errors import ParagonError

__all__ = ["main"]


def _add_sandbox(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the local Marketo on 127.0.0.1",
        description="Serve a local Marketo. Prints one JSON line (endpoint, identity, "
        "client_id, client_secret) first, then serves until SIGINT/SIGTERM.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="port; 0 = any free port (default: the port this state file last used, "
        "else any free port)",
    )
    state = p.add_mutually_exclusive_group()
    state.add_argument("--memory", action="store_true", help="keep state in memory only")
    state.add_argument(
        "--state",
        metavar="PATH",
        help="SQLite state file (default: sandbox.sqlite3 under the home folder)",
    )
    p.add_argument(
        "--rate-limit",
        metavar="CALLS/SECONDS",
        default="100/20",
        help="rate limit, e.g. 100/20 (Marketo's); 0 turns it off",
    )
    p.add_argument(
        "--max-concurrency",
        type=int,
        default=10,
        metavar="N",
        help="calls in flight before 615 (default 10; 0 = off)",
    )
    p.add_argument(
        "--daily-quota",
        type=int,
        default=50_000,
        metavar="N",
        help="calls per day before 607 (default 50000; 0 = off)",
    )
    p.add_argument(
        "--token-ttl",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="access token lifetime (default 3600)",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="latency added to every call, in milliseconds",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject faults: ROUTE:p=PROB:CODES or ROUTE:seq=CODE,ok,... [:after], e.g. "
        "'leads:p=0.1:606,615' or 'leads:seq=606,ok,502'. ROUTE is an alias (leads, lead, "
        "describe, lists, members, assets, static-lists, bulk, import, stats, all, *), a path "
        "glob or a path substring; Marketo codes (604 606 608 611 615 713 ...) answer HTTP 200 "
        "envelopes, HTTP statuses (502 503 500) an HTML page; ':after' runs the call first "
        "(repeatable; see paragon_nb.sandbox.faults)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="seed for probabilistic faults, to replay a run (default: a fresh random seed)",
    )
    p.add_argument("--client-id", help="client id to accept (default: generated or from state)")
    p.add_argument("--client-secret", help="client secret to accept")
    p.set_defaults(func=_run_sandbox)


def _run_sandbox(args: argparse.Namespace) -> int:
    from paragon_nb.sandbox.server import run_cli

    return run_cli(args)


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


def _add_sync(sub: argparse._SubParsersAction) -> None:
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
    p.set_defaults(func=_run_sync)


def _add_history(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="list past syncs (from the sync journal)",
        description="One line per finished sync: time (UTC), input, list, rows, counts per "
        "status, API calls and the report path.",
    )
    p.add_argument(
        "--journal", metavar="FILE", help="journal file (default: under the home folder)"
    )
    p.set_defaults(func=_run_history)


def _run_history(args: argparse.Namespace) -> int:
    from paragon_nb.sync.history import history_table, sync_history

    print(history_table(sync_history(args.journal)))
    return 0


def _run_sync(args: argparse.Namespace) -> int:
    from paragon_nb.sync.cli import run_cli

    return run_cli(args)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a local Paragon project's REST API",
        description="Serve POST /projects/{id}/sdk/events/trigger and friends for the project "
        "in PATH until SIGINT/SIGTERM.",
    )
    p.add_argument("path", metavar="PATH", help="project folder")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin allowed to call the API, e.g. http://localhost:3000 "
        "(repeatable; '*' for any; default: pages served from this machine)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="start N `paragon-nb worker` processes beside the server, which then only "
        "accepts events (0: accept only; workers run elsewhere). Default: this process runs "
        "the runs itself",
    )
    from paragon_nb.cli_worker import add_lease_argument

    add_lease_argument(p)
    p.set_defaults(func=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    """Print one JSON line ``{"url", "project_id"}``, serve until SIGINT/SIGTERM, exit 0.

    NotFoundError/ConfigurationError (exit 2) if PATH is not a project folder or the port
    is taken. The project is closed on the way out (unfinished runs resume on reopen).
    ``--workers N`` starts N worker processes after the server is up and stops them
    (SIGTERM: they finish or hand back what they hold) before exiting.
    """
    import json

    from paragon_nb._serving import until_signalled
    from paragon_nb.errors import ConfigurationError
    from paragon_nb.runtime.project import Project
    from paragon_nb.runtime.worker import start_worker_processes, stop_worker_processes

    workers = args.workers
    if workers is not None and workers < 0:
        raise ConfigurationError(f"--workers must be >= 0, got {workers}")
    project = Project.open(
        args.path, execute_runs=workers is None, lease_seconds=args.lease_seconds
    )
    procs: list = []
    try:
        with until_signalled() as stop:
            try:
                handle = project.serve(
                    host=args.host, port=args.port, cors_origins=args.cors_origin or "loopback"
                )
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}; "
                    "pick another --port (0 = any free port)"
                ) from None
            except ValueError as exc:  # a malformed --cors-origin
                raise ConfigurationError(f"--cors-origin: {exc}") from None
            try:
                if workers:
                    procs = start_worker_processes(
                        args.path, workers, extra_args=["--lease-seconds", str(args.lease_seconds)]
                    )
                print(json.dumps({"url": handle.url, "project_id": str(project.id)}), flush=True)
                while not stop.wait(0.5):
                    pass
            finally:
                handle.stop()
    finally:
        stop_worker_processes(procs)
        project.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paragon-nb", description="Get leads into Marketo from notebooks and the shell."
    )
    parser.add_argument("--version", action="version", version=f"paragon-nb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_sandbox(sub)
    _add_sync(sub)
    _add_history(sub)
    _add_serve(sub)
    from paragon_nb.cli_keys import add_parsers as _add_key_and_token

    _add_key_and_token(sub)
    from paragon_nb.cli_worker import add_parser as _add_worker

    _add_worker(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParagonError as exc:
        print(f"paragon-nb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
