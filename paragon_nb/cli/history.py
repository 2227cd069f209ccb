"""``paragon-nb history``: past syncs from the sync journal (the work is
:func:`paragon_nb.sync.history.sync_history`)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="list past syncs (from the sync journal)",
        description="One line per finished sync: time (UTC), input, list, rows, counts per "
        "status, API calls and the report path.",
    )
    p.add_argument(
        "--journal", metavar="FILE", help="journal file (default: under the home folder)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from paragon_nb.sync.history import history_table, sync_history

    print(history_table(sync_history(args.journal)))
    return 0
