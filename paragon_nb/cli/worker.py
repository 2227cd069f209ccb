"""``paragon-nb worker PROJECT``: run a project's queued runs until SIGTERM (runtime.worker).

paragon-nb worker ./my-project --concurrency 5
paragon-nb worker postgresql://app@db.internal/paragon
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.runtime.project import Project

log = logging.getLogger(__name__)

__all__ = [
    "add_lease_argument",
    "add_parser",
    "run",
    "start_worker_processes",
    "stop_worker_processes",
]


def add_lease_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lease-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long the runs and Marketo calls of a process that stopped renewing them "
        "stay held before another process takes them over (default 30)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker",
        help="run a project's queued runs (beside `paragon-nb serve --workers 0`)",
        description="Claim the project's queued runs with leases and run them until "
        "SIGINT/SIGTERM, then finish what is held (up to --drain seconds) and hand back the "
        "rest. Any number of workers, on any number of machines (PostgreSQL), may share a "
        "project: they draw from one Marketo budget per instance. Prints one JSON line "
        '{"worker": PID, "project_id": ...} once it claims.',
    )
    p.add_argument("path", metavar="PROJECT", help="project folder (or postgresql:// URL)")
    p.add_argument(
        "--concurrency",
        type=int,
        default=5,
        metavar="N",
        help="threads for CPU steps (python, condition); Marketo writes hold no thread "
        "(default 5). On PostgreSQL the process keeps up to N + 11 connections",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to finish held runs after SIGTERM before handing them back (default 10)",
    )
    add_lease_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 after SIGINT/SIGTERM; 2 (ConfigurationError/NotFoundError) for a bad PROJECT."""
    from paragon_nb._serving import until_signalled
    from paragon_nb.errors import ConfigurationError
    from paragon_nb.runtime.worker import run_worker

    if args.concurrency < 1:
        raise ConfigurationError(f"--concurrency must be >= 1, got {args.concurrency}")

    def ready(project: Project) -> None:
        print(json.dumps({"worker": os.getpid(), "project_id": project.id}), flush=True)

    with until_signalled() as stop:
        run_worker(
            args.path,
            stop=stop,
            concurrency=args.concurrency,
            drain=args.drain,
            lease_seconds=args.lease_seconds,
            on_ready=ready,
        )
    return 0


def start_worker_processes(
    target: str | Path, count: int, *, extra_args: list[str] | None = None
) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` ``paragon-nb worker`` processes on ``target`` (same interpreter)."""
    args = [sys.executable, "-m", __package__ or "", "worker", str(target), *(extra_args or [])]
    return [subprocess.Popen(args, env=dict(os.environ)) for _ in range(count)]


def stop_worker_processes(procs: list[subprocess.Popen[bytes]], *, timeout: float = 30.0) -> None:
    """SIGTERM each worker (they finish or hand back what they hold), then wait; a worker
    still running after ``timeout`` seconds is killed (its leases expire)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop in %.0f s; killing it", proc.pid, timeout)
            proc.kill()
            proc.wait()
