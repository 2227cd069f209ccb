"""The events and runs part of :class:`~paragon_nb.runtime.project.Project`: accepting App
Events and Request triggers, the timers' tick, Request steps' outbound hosts, waiting for,
claiming, reaping and replaying runs, and reading them back (``runs()``, a
:class:`~paragon_nb.runtime.api.RunRecord`, the event log, the Marketo queue). The work is
done by the dispatcher, the engine, the triggers and the timers; ``Project`` inherits these
methods.

    receipt = project.trigger_event("user-1", "Lead Created", {"email": "bo@example.com"})
    project.wait_idle(); project.run(receipt.run_ids[0]).status      # "succeeded"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paragon_nb.errors import NotFoundError, RuntimeStateError
from paragon_nb.runtime.api import EventReceipt, EventRecord, RunRecord
from paragon_nb.runtime.catalog import Catalog
from paragon_nb.runtime.dispatch import Dispatcher
from paragon_nb.runtime.engine import Engine
from paragon_nb.runtime.options import ProjectOptions
from paragon_nb.runtime.outbound import OutboundPolicy
from paragon_nb.runtime.store import ProjectStore, dumps, loads
from paragon_nb.runtime.timers import Timers
from paragon_nb.runtime.triggers import RequestAnswer, Triggers
from paragon_nb.runtime.views import events_list, queue_frame, run_detail, runs_frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["RunMethods"]


class RunMethods:
    """Events and runs (mixed into ``Project``, which sets these attributes)."""

    _store: ProjectStore
    _catalog: Catalog
    _dispatch: Dispatcher
    _engine: Engine
    _triggers: Triggers
    _timers: Timers
    _options: ProjectOptions
    strict: bool

    def trigger_event(
        self,
        sub: str,
        name: str,
        payload: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> EventReceipt:
        """Persist the event (with one queued run per deployed workflow on ``name`` that the
        user enabled with a VALID credential) in one transaction, start the runs and return
        an :class:`~paragon_nb.runtime.api.EventReceipt` (``str()`` of it is the event id;
        ``not_triggered`` says why a workflow did not run). Accepted even when no workflow
        runs, as Paragon does.

        ``idempotency_key``: a repeat with the same user and key within 24 h returns the first
        receipt (``repeated=True``) and records nothing. Raises BackpressureError (nothing
        recorded; retry after ``retry_after`` s) when ``max_queued_runs`` runs are unfinished.
        """
        return self._dispatch.trigger(
            sub, name, payload, strict=self.strict, idempotency_key=idempotency_key
        )

    def tick(self) -> dict[str, int]:
        """Do what is due at the clock's time: wake runs whose Delay passed, fire Scheduler
        triggers, poll "Lead Added to List" triggers; returns counts (``woken``, ...).
        With the real clock the project does this by itself about once a second; with an
        injected clock call it after ``clock.advance(...)``."""
        return self._timers.tick()

    def trigger_workflow(
        self,
        sub: str,
        workflow: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> RequestAnswer:
        """Call a Request-triggered workflow (id or name) as user ``sub``, like
        ``POST /projects/{id}/sdk/triggers/{workflowId}``: the run sees ``request.body``,
        ``request.query`` and ``request.headers``. Returns the Response step's ``status`` and
        ``body`` (202 when the workflow has no Response step); ``run_id`` names the run."""
        return self._triggers.request(sub, workflow, body=body, query=query, headers=headers)

    def allow_outbound(self, hosts: Sequence[str]) -> list[str]:
        """Hosts Request steps may call besides loopback (``api.example.com``, ``*.corp``,
        ``*`` for any), replacing the list; returns it. Kept in the project."""
        cleaned = sorted({h.strip().lower() for h in hosts if h and h.strip()})
        self._store.set_meta("outbound_allow", dumps(cleaned))
        return cleaned

    def _outbound(self) -> OutboundPolicy:
        raw = self._store.get_meta("outbound_allow")
        return OutboundPolicy(loads(raw) if raw else (), transport=self._options.http_transport)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every started run finished (True) or ``timeout`` seconds pass (False)."""
        return self._engine.wait_idle(timeout)

    def claim_runs(self, limit: int | None = None) -> int:
        """Take up to ``limit`` due queued runs that no live process holds and run them in
        this process; returns how many. Worker processes call it in a loop
        (runtime.worker); an embedded project claims once, when it opens."""
        return len(self._engine.claim(limit))

    def reap_runs(self) -> int:
        """Hand back the runs of processes on this machine that are gone (without waiting
        for their leases); returns how many holders were gone."""
        return len(self._engine.reap())

    @property
    def active_runs(self) -> int:
        """Runs this process holds and has not finished."""
        return self._engine.pending

    def replay(self, run_id: str, *, version: str = "original") -> str:
        """Run a past run again with its stored event payload and settings; returns the new
        run id. ``version="original"`` (default) uses the version it ran with, ``"deployed"``
        the live one. # (U) Paragon's UI docs say current version, its API docs the original."""
        row = self._run_row(run_id)
        wf_version = int(row["version"])
        if version == "deployed":
            wf = self._catalog.workflow_row(row["workflow_id"])
            if wf.deployed_version is None:
                raise RuntimeStateError(f"workflow {wf.name!r} is not deployed")
            wf_version = wf.deployed_version
        elif version != "original":
            raise RuntimeStateError(f"version must be 'original' or 'deployed', got {version!r}")
        return self._dispatch.replay(row, version=wf_version)

    def _run_row(self, run_id: str) -> Any:
        row = self._store.run_row(run_id)
        if row is None:
            raise NotFoundError(f"no run {run_id!r}; see project.runs() for run ids")
        return row

    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, workflow, version, user, event, status (queued/running/
        succeeded/failed), started (UTC), duration (s), error, event_id, replay_of."""
        return runs_frame(self._store)

    def run(self, run_id: str) -> RunRecord:
        """One run as a :class:`~paragon_nb.runtime.api.RunRecord`: its event and every
        step record (secrets masked). NotFoundError for an unknown id."""
        return run_detail(self._store, self._run_row(run_id))

    def events(self) -> list[EventRecord]:
        """Every accepted event (id, user, name, payload, received, run_count), oldest first."""
        return events_list(self._store)

    def queue(self) -> pd.DataFrame:
        """The Marketo work queue, one row per Marketo instance this project has sent to:
        instance (endpoint#client id), queued (records waiting for a call), in_flight_calls,
        calls (made since the project was opened), records, records_per_call, limiter."""
        return queue_frame(self._engine.queue())

    @property
    def unfinished_runs(self) -> int:
        return self._store.count_unfinished_runs()
