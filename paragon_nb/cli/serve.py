"""``paragon-nb serve PATH``: a project's REST API on 127.0.0.1 (the work is
:meth:`paragon_nb.runtime.project.Project.serve`)."""

from __future__ import annotations

import argparse

from paragon_nb.cli._args import add_bind_address, add_project_folder
from paragon_nb.cli.worker import add_lease_argument, start_worker_processes, stop_worker_processes

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
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="start N `paragon-nb worker` processes beside the server, which then only "
        "accepts events (0: accept only; workers run elsewhere). Default: this process runs "
        "the runs itself",
    )
    add_lease_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one JSON line ``{"url", "project_id"}``, serve until SIGINT/SIGTERM, exit 0.

    NotFoundError/ConfigurationError (exit 2) if PATH is not a project folder or the port
    is taken. The project is closed on the way out (unfinished runs resume on reopen).
    ``--workers N`` starts N worker processes after the server is up and stops them
    (SIGTERM: they finish or hand back what they hold) before exiting.
    """
    import json

    from paragon_nb._serving import cannot_bind, until_signalled
    from paragon_nb.errors import ConfigurationError
    from paragon_nb.runtime.project import Project

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
                raise cannot_bind(args.host, args.port, exc) from None
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
