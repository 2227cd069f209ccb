"""``paragon-nb api-key``: the project's API keys for the Task History API (Paragon's
Settings > API Keys), from a shell::

    paragon-nb api-key ./my-project --name "ops dashboard"   # a new key, printed once
    paragon-nb api-key ./my-project --list                   # id, name, created, last used
    paragon-nb api-key ./my-project --revoke 1a2b3c4d5e6f

A new key is printed once to stdout (the project keeps only its SHA-256 digest); what it is
for goes to stderr. Each action is one call into ``runtime``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from paragon_nb.cli._args import add_project_folder

__all__ = ["add_parser", "run_api_key"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "api-key",
        help="create, list or revoke the project's API keys (the Task History API's)",
        description="Create a project API key (printed once: only its digest is kept), list "
        "the keys (--list) or revoke one (--revoke ID). The Task History API "
        "(/projects/{id}/task-history/...) takes it as 'Authorization: Bearer <key>'. Exit "
        "codes: 0 done, 2 usage or configuration error (no project, unknown key id).",
        epilog="example: paragon-nb api-key ./my-project --name dashboard",
    )
    add_project_folder(p)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the keys (never the keys)")
    action.add_argument("--revoke", metavar="ID", help="revoke the key with this id")
    p.add_argument("--name", default=None, help="a label for a new key")
    p.set_defaults(func=run_api_key)


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_api_key(args: argparse.Namespace) -> int:
    from paragon_nb.runtime.project import Project

    project = Project.open(args.project, resume=False)
    try:
        if args.list:
            for key in project.api_keys():
                state = "active" if key.active else f"revoked {_when(key.revoked)}"
                print(f"{key.id}  {key.name}  created {_when(key.created)}  "
                      f"last used {_when(key.last_used)}  {state}")  # fmt: skip
            return 0
        if args.revoke:
            project.revoke_api_key(args.revoke)
            print(f"revoked API key {args.revoke}", file=sys.stderr)
            return 0
        issued = project.create_api_key(args.name)
    finally:
        project.close()
    print(issued.key)
    print(
        f"API key {issued.id} ({issued.name}) is shown once: store it in your backend's secrets",
        file=sys.stderr,
    )
    return 0
