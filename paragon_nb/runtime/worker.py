"""Worker processes: run a project's queued runs, beside any number of other processes.

A worker opens the project (a folder, or a ``postgresql://`` URL once the store supports
it), claims due runs nobody holds with a lease (runtime.engine, RunLog.claim_due), runs
them on its engine and its per-instance dispatchers, and draws every Marketo call from the
project's shared budget (runtime.budget), so N workers together stay within one instance's
100 calls / 20 s, 10 in flight and its daily quota. A killed worker's runs are taken over
when their leases run out (at once for a process on this machine that is gone).

On stop (SIGTERM in ``paragon-nb worker``) it claims nothing more, lets what it holds
finish for up to ``drain`` seconds, then hands back the rest (its leases are released, so
another worker takes them at once).

    stop = threading.Event()
    run_worker("demo-project", stop=stop, concurrency=5)      # until stop.set()

``paragon-nb serve PROJECT --workers N`` starts N such processes beside the server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paragon_nb.runtime.db import DatabaseError
from paragon_nb.runtime.project import Project

__all__ = ["CLAIM_BATCH", "MAX_HELD", "Worker", "run_worker"]

log = logging.getLogger(__name__)

#: runs claimed in one statement
CLAIM_BATCH = 200
#: runs one worker holds at most (claiming stops until some finish): enough to fill
#: 300-record batches, few enough that a burst spreads over the workers
MAX_HELD = 1000
#: real seconds between claims when there was nothing to claim
POLL = 0.05
#: real seconds between looks for runs of processes on this machine that are gone
REAP_EVERY = 1.0


class Worker:
    """Claims and runs the queued runs of an open :class:`Project` until stopped."""

    def __init__(
        self,
        project: Project,
        *,
        poll: float = POLL,
        max_held: int = MAX_HELD,
        claim_batch: int = CLAIM_BATCH,
    ) -> None:
        self.project = project
        self.poll = poll
        self.max_held = max_held
        self.claim_batch = claim_batch
        self.claimed = 0

    def step(self) -> int:
        """Claim once (as many as there is room for); returns how many runs were claimed."""
        room = self.max_held - self.project.active_runs
        if room <= 0:
            return 0
        got = self.project.claim_runs(min(self.claim_batch, room))
        self.claimed += got
        return got

    def run(self, stop: threading.Event, *, drain: float = 10.0) -> None:
        """Claim and run until ``stop`` is set; then finish what is held for up to
        ``drain`` seconds and hand back the rest (the caller closes the project)."""
        reaped = -float("inf")
        idle = self.poll
        while not stop.is_set():
            now = time.monotonic()
            try:
                if now - reaped >= REAP_EVERY:
                    reaped = now
                    self.project.reap_runs()
                claimed = self.step()
            except DatabaseError as exc:  # the database failed this once (it rolled back):
                # the worker goes on (what it runs is unharmed); the next turn tries again
                log.warning("claiming failed (%s); trying again", exc)
                claimed = 0
            if claimed:
                idle = self.poll
            else:  # nothing to claim: look less often the longer it stays so (<= 4 x poll)
                stop.wait(idle)
                idle = min(idle * 2, self.poll * 4)
        self.project.wait_idle(drain)


def run_worker(
    target: str | Path,
    *,
    stop: threading.Event,
    concurrency: int = 5,
    drain: float = 10.0,
    on_ready: Callable[[Project], None] | None = None,
    **options: Any,
) -> int:
    """Open the project at ``target`` and run its queued runs until ``stop`` is set;
    ``concurrency``: threads for CPU steps (Marketo writes hold no thread). Returns the
    number of runs claimed. ``options``: more :class:`ProjectOptions` (``lease_seconds``...)."""
    project = Project.open(target, workers=concurrency, resume=False, **options)
    try:
        worker = Worker(project)
        if on_ready is not None:
            on_ready(project)
        worker.run(stop, drain=drain)
        return worker.claimed
    finally:
        project.close()  # releases what is still held: another worker takes it at once
