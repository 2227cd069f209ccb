"""``paragon-nb sandbox``: serve the local Marketo on 127.0.0.1 (the work is
:func:`paragon_nb.sandbox.server.run_cli`)."""

from __future__ import annotations

import argparse

from paragon_nb.cli._args import add_bind_address

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the local Marketo on 127.0.0.1",
        description="Serve a local Marketo. Prints one JSON line (endpoint, identity, "
        "client_id, client_secret) first, then serves until SIGINT/SIGTERM.",
    )
    add_bind_address(
        p,
        port_default=None,
        port_help="port; 0 = any free port (default: the port this state file last used, "
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from paragon_nb.sandbox.server import run_cli

    return run_cli(args)
