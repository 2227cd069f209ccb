"""``paragon-nb serve PATH``: a project's REST API on 127.0.0.1 (the work is
:meth:`paragon_nb.runtime.project.Project.serve`)."""

from __future__ import annotations

import argparse

from paragon_nb.cli._args import add_bind_address, add_project_folder

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a local Paragon project's REST API",
        description="Serve POST /projects/{id}/sdk/events/trigger and friends for the project "
        "in PATH until SIGINT/SIGTERM.",
    )
    add_project_folder(p, "path")
    add_bind_address(p, port_default=0, port_help="port; 0 = any free port (default)")
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin allowed to call the API, e.g. http://localhost:3000 "
        "(repeatable; '*' for any; default: pages served from this machine)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one JSON line ``{"url", "project_id"}``, serve until SIGINT/SIGTERM, exit 0.

    NotFoundError/ConfigurationError (exit 2) if PATH is not a project folder or the port
    is taken. The project is closed on the way out (unfinished runs resume on reopen).
    """
    import json

    from paragon_nb._serving import cannot_bind, until_signalled
    from paragon_nb.errors import ConfigurationError
    from paragon_nb.runtime.project import Project

    project = Project.open(args.path)
    try:
        with until_signalled() as stop:
            try:
                handle = project.serve(
                    host=args.host, port=args.port, cors_origins=args.cors_origin or "loopback"
                )
            except OSError as exc:
                raise cannot_bind(args.host, args.port, exc) from None
            except ValueError as exc:  # a malformed --cors-origin
                raise ConfigurationError(f"--cors-origin: {exc}") from None
            try:
                print(json.dumps({"url": handle.url, "project_id": str(project.id)}), flush=True)
                while not stop.wait(0.5):
                    pass
            finally:
                handle.stop()
    finally:
        project.close()
    return 0
