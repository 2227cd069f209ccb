"""How a :class:`~paragon_nb.runtime.project.Project` runs: :class:`ProjectOptions`, said
once for ``Project.create``, ``Project.open`` and the constructor, and the default Marketo
client factory (a real :class:`~paragon_nb.marketo.client.MarketoClient` per credential).

    Project.open("demo-project", workers=2)               # keyword arguments, or
    Project.open("demo-project", options=ProjectOptions(workers=2, coalesce=False))
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import ConfigurationError
from paragon_nb.runtime.dispatch import DEFAULT_MAX_QUEUED_RUNS
from paragon_nb.runtime.gateway import ClientFactory, MarketoCredentials

__all__ = ["ClientFactory", "ProjectOptions", "default_client_factory"]


def default_client_factory(clock: Clock) -> ClientFactory:
    def factory(creds: MarketoCredentials) -> Any:
        from paragon_nb.marketo.client import MarketoClient

        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            clock=clock,
        )

    return factory


@dataclass(frozen=True)
class ProjectOptions:
    """How a :class:`Project` runs; :meth:`Project.create` and :meth:`Project.open` take these
    as keyword arguments (``Project.open(path, workers=2)``) or whole (``options=``).

    ``clock``: inject a FakeClock in tests. ``client_factory``: ``MarketoCredentials ->
    MarketoClient`` (tests route it to a sandbox). ``workers``: threads for CPU steps
    (python, condition). ``coalesce``: batch the Marketo writes of concurrent runs (see
    runtime.batcher); False sends one record per call, as Paragon does. ``max_queued_runs``:
    unfinished runs held before ``trigger_event`` raises BackpressureError (REST 429).
    ``resume``: resume the runs a crash or close left unfinished when opening.
    ``timers``: tick in the background (wake delayed runs, fire Scheduler and polling
    triggers: runtime.timers); default: on with the real clock, off with an injected one
    (then call ``project.tick()``). ``http_transport``: the httpx transport of Request
    steps (tests pass an ``httpx.MockTransport``; default: real HTTP, allow-listed).

    Several processes (issue 11): ``execute_runs=False`` only accepts events (their runs wait
    in the store for a worker process: ``paragon-nb worker``). ``lease_seconds`` (default
    30): how long a run (and a Marketo call in flight) stays held by a process that stopped
    renewing it before another process takes it over. ``shared_budget`` (default True):
    every Marketo instance's rate window, in-flight cap and daily budget are kept in the
    store and shared by every process of the project (runtime.budget); False keeps each
    client's own in-process limiter. ``pool_size``: PostgreSQL connections this process
    may hold at once (default None: :attr:`connections`, which follows ``workers``); an
    SQLite project ignores it.
    """

    clock: Clock | None = None
    client_factory: ClientFactory | None = None
    workers: int = 5
    coalesce: bool = True
    max_queued_runs: int = DEFAULT_MAX_QUEUED_RUNS
    resume: bool = True
    timers: bool | None = None
    http_transport: Any = None
    execute_runs: bool = True
    lease_seconds: float = 30.0
    shared_budget: bool = True
    pool_size: int | None = None

    @property
    def connections(self) -> int:
        """The PostgreSQL pool's size: ``pool_size``, else ``workers`` + 11 (each engine
        thread may write at once, and so may up to 10 Marketo calls in flight (their answers
        and budget), the heartbeat, the timers and the claim loop share the rest; 16 at the
        default 5 workers). Request threads of a server borrow from the same pool and wait
        for a free connection."""
        return self.pool_size if self.pool_size is not None else self.workers + 11

    def __post_init__(self) -> None:
        if self.pool_size is not None and self.pool_size < 2:
            raise ConfigurationError(
                f"pool_size must be >= 2 (PostgreSQL connections of this process), got "
                f"{self.pool_size}"
            )
        if not self.lease_seconds > 0:
            raise ConfigurationError(
                f"lease_seconds must be > 0 (seconds a stopped process holds its runs), "
                f"got {self.lease_seconds}"
            )

    def but(self, **changes: Any) -> ProjectOptions:
        """These options with ``changes`` (TypeError naming the valid options otherwise)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            valid = ", ".join(f.name for f in fields(self))
            raise TypeError(f"unknown Project option(s) {', '.join(unknown)}; options: {valid}")
        return replace(self, **changes)
