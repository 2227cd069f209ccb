"""``paragon-nb postgres``: a throwaway PostgreSQL server for trying a PostgreSQL project
(the work is :class:`paragon_nb.testing.postgres.TemporaryPostgres`; extra ``postgres``)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "postgres",
        help="start a throwaway PostgreSQL server and print a project URL",
        description="Start Debian's PostgreSQL in a temporary folder (as an unprivileged user "
        "when run as root) on 127.0.0.1, print one JSON line {url, secret_key_hint} and keep it "
        "up until SIGINT/SIGTERM; then it and its data are deleted.",
    )
    p.add_argument(
        "--database",
        default="paragon",
        help="name of the empty database to create for a project (default: paragon)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, exit 0. ConfigurationError (exit 2) when PostgreSQL or
    the ``postgres`` extra is not installed."""
    import json

    from paragon_nb._serving import until_signalled
    from paragon_nb.runtime.db import require_psycopg
    from paragon_nb.testing.postgres import TemporaryPostgres

    require_psycopg()  # the extra's missing-driver message before a server starts
    with until_signalled() as stop, TemporaryPostgres() as server:
        url = server.create_database(args.database)
        hint = "export PARAGON_NB_SECRET_KEY=$(python -c 'from cryptography.fernet import "
        hint += "Fernet; print(Fernet.generate_key().decode())')"
        print(json.dumps({"url": url, "secret_key_hint": hint}), flush=True)
        while not stop.wait(0.5):
            pass
    return 0
