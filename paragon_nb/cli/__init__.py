"""``paragon-nb``: the command line skin, one module per subcommand under one entry point.
Each subcommand parses its flags and makes one call into the package; the work (and its
tests) lives there.

    paragon-nb sandbox --port 8080 --rate-limit 100/20
    paragon-nb sync leads.csv --list Newsletter --create-list --report out.csv
    paragon-nb serve ./my-project --port 9000 --workers 2
    paragon-nb worker postgresql://app@db.internal/paragon --concurrency 5
    paragon-nb key ./my-project --out private.pem
    paragon-nb token ./my-project user-1 --key private.pem
    paragon-nb postgres                       # a throwaway PostgreSQL; prints a project URL

Exit codes: 0 success, 1 some records/rows failed (sync), 2 usage or configuration errors.

A subcommand is a module here with ``add_parser(subparsers)`` (which sets ``func`` to its
run function, ``run(args) -> int``) listed once in :data:`COMMANDS`; shared flags live in
:mod:`paragon_nb.cli._args`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from paragon_nb import __version__
from paragon_nb.cli import apikeys, history, keys, postgres, sandbox, serve, sync, worker
from paragon_nb.errors import ParagonError

__all__ = ["COMMANDS", "build_parser", "main"]

# The subparser registry, in the order ``--help`` lists the subcommands.
COMMANDS = (sandbox, sync, history, serve, worker, keys, apikeys, postgres)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paragon-nb", description="Get leads into Marketo from notebooks and the shell."
    )
    parser.add_argument("--version", action="version", version=f"paragon-nb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
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
