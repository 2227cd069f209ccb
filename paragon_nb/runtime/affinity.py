"""Per-instance affinity: the Marketo work of one instance is batched by one worker at a time.

Each worker process (runtime.worker) holds leases on a fair share of the Marketo instances
(endpoint + client id) that have work, and claims only the runs of users on the
instances it holds (``RunLog.claim_due(only=...)``), and of users with no Marketo
credential (nothing to batch; rare: a credential removed after its event was accepted).
So one instance's writes queue in one dispatcher (runtime.batcher) however many
workers run: batches fill up to 300 records, and two events for one email are sent in the
order they were accepted. Many instances spread over the workers: each takes up to
``ceil(instances with unfinished runs or a lease / live workers)``. An instance stays with
its worker between bursts and is handed back after ``lease_seconds`` without work.

Leases work as run leases do: renewed by :meth:`InstanceLeases.balance` (the worker's claim
loop calls it about twice a second), taken over when they run out (``lease_seconds``,
default 30) and at once when the holder is a process on this machine that is gone
(runtime.ownership). A worker over its share (it started first and took everything) stops
claiming for the extra instances and hands each back once it holds no run of it.

Every balance is one transaction under the ``affinity`` lock (an advisory lock on
PostgreSQL, the write lock on SQLite): two workers never take one instance, and lease rows
are never locked in two orders.

    leases = InstanceLeases(store, owner=engine.owner, clock=clock, lease_seconds=30)
    only = leases.balance()              # the runs this worker may claim
    engine.claim(200, only=only)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.runtime.api import UNFINISHED
from paragon_nb.runtime.ownership import owner_is_stale
from paragon_nb.runtime.store import ProjectStore

__all__ = ["INSTANCE_SQL", "Claimable", "InstanceLeases"]

#: a ``credentials c`` row's instance in SQL: runtime.gateway.instance_of's rule
#: (``endpoint.rstrip('/') + '#' + client_id``); tests/runtime/test_affinity checks they agree
INSTANCE_SQL = "rtrim(c.endpoint, '/') || '#' || c.client_id"

_MARKETO = "c.sub = runs.sub AND c.integration = 'marketo'"


@dataclass(frozen=True)
class Claimable:
    """The runs a worker may claim: of users on ``instances`` (the ones it holds) and of
    ``orphans`` (users with unfinished runs and no Marketo credential: any worker runs
    theirs). False when there is nothing: the worker need not look."""

    instances: frozenset[str] = frozenset()
    orphans: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.instances or self.orphans)

    def condition(self) -> tuple[str, tuple[str, ...]]:
        """A WHERE condition on ``runs`` (and its arguments) for these runs."""
        parts: list[str] = []
        args: tuple[str, ...] = ()
        if self.orphans:
            subs = tuple(sorted(self.orphans))
            parts.append(f"runs.sub IN ({', '.join('?' for _ in subs)})")
            args += subs
        if self.instances:
            held = tuple(sorted(self.instances))
            marks = ", ".join("?" for _ in held)
            on = f"{_MARKETO} AND {INSTANCE_SQL} IN ({marks})"
            parts.append(f"EXISTS (SELECT 1 FROM credentials c WHERE {on})")
            args += held
        return f"({' OR '.join(parts) or '1 = 0'})", args


class InstanceLeases:
    """One worker's leases on Marketo instances (``owner``: its engine's owner string)."""

    def __init__(
        self,
        store: ProjectStore,
        *,
        owner: str,
        clock: Clock,
        lease_seconds: float,
        is_stale: Callable[[str], bool] = owner_is_stale,
    ) -> None:
        self._store = store
        self.owner = owner
        self._clock = clock
        self.lease_seconds = lease_seconds
        self._is_stale = is_stale
        #: the instances this worker claims runs for (the last balance's answer)
        self.held: frozenset[str] = frozenset()
        #: users with unfinished runs and no Marketo credential (the last balance's look)
        self.orphans: frozenset[str] = frozenset()
        #: held but over the share: no new runs are claimed for these; each is handed back
        #: once this worker holds no unfinished run of it
        self.draining: frozenset[str] = frozenset()
        self._idle_since: dict[str, float] = {}  # held instances without work: since when

    @property
    def claimable(self) -> Claimable:
        """What this worker claims runs for, as of the last :meth:`balance`."""
        return Claimable(self.held, self.orphans)

    def balance(self) -> Claimable:
        """Renew this worker's leases, drop dead workers' ones, take free instances up to a
        fair share and hand back the extra ones; returns what to claim runs for."""
        now = self._clock.time()
        until = now + self.lease_seconds
        marks = ", ".join("?" for _ in UNFINISHED)
        with self._store.run_tx() as c:
            c.lock("affinity")
            c.execute(
                "INSERT INTO workers(owner, lease_until) VALUES (?, ?) "
                "ON CONFLICT(owner) DO UPDATE SET lease_until = excluded.lease_until",
                (self.owner, until),
            )
            self._drop_dead(c, now)
            c.execute(
                "UPDATE instance_leases SET lease_until = ? WHERE owner = ?", (until, self.owner)
            )
            mine = {r["instance"] for r in c.all(
                "SELECT instance FROM instance_leases WHERE owner = ?", self.owner
            )}  # fmt: skip
            wanted = {r["instance"] for r in c.all(
                f"SELECT DISTINCT {INSTANCE_SQL} AS instance FROM credentials c "
                "WHERE c.integration = 'marketo' AND EXISTS (SELECT 1 FROM runs WHERE "
                f"runs.sub = c.sub AND runs.status IN ({marks}))", *UNFINISHED,
            )}  # fmt: skip
            busy = {r["instance"] for r in c.all(
                f"SELECT DISTINCT {INSTANCE_SQL} AS instance FROM credentials c "
                "WHERE c.integration = 'marketo' AND EXISTS (SELECT 1 FROM runs WHERE "
                f"runs.sub = c.sub AND runs.status IN ({marks}) AND runs.owner = ?)",
                *UNFINISHED, self.owner,
            )}  # fmt: skip
            orphans = {r["sub"] for r in c.all(
                "SELECT u.sub FROM users u WHERE NOT EXISTS (SELECT 1 FROM credentials c "
                "WHERE c.sub = u.sub AND c.integration = 'marketo') AND EXISTS (SELECT 1 "
                f"FROM runs WHERE runs.sub = u.sub AND runs.status IN ({marks}))", *UNFINISHED,
            )}  # fmt: skip
            leased = {r["instance"] for r in c.all(
                "SELECT instance FROM instance_leases WHERE lease_until >= ?", now
            )}  # fmt: skip
            live = int(c.one("SELECT COUNT(*) AS n FROM workers")["n"])
            share = math.ceil(len(wanted | leased) / max(1, live))
            for instance in mine:  # an instance stays with its worker between bursts...
                if instance in wanted or instance in busy:
                    self._idle_since.pop(instance, None)
                else:
                    self._idle_since.setdefault(instance, now)
            # ... until it had no work for lease_seconds; the ones with runs here go first
            keep = sorted(
                (i for i in mine if now - self._idle_since.get(i, now) < self.lease_seconds),
                key=lambda i: (i not in busy, i not in wanted, i),
            )
            keep, extra = keep[:share], keep[share:]
            draining = {i for i in extra if i in busy}
            for instance in sorted(mine - set(keep) - draining):
                self._idle_since.pop(instance, None)
                c.execute(
                    "DELETE FROM instance_leases WHERE instance = ? AND owner = ?",
                    (instance, self.owner),
                )
            for instance in sorted(wanted - mine):
                if len(keep) >= share:
                    break
                if self._take(c, instance, now, until):
                    keep.append(instance)
        self.held, self.draining = frozenset(keep), frozenset(draining)
        self.orphans = frozenset(orphans)
        return self.claimable

    def _take(self, c: Any, instance: str, now: float, until: float) -> bool:
        """Lease ``instance`` when nobody holds it or its holder's lease ran out."""
        row = c.one(
            "INSERT INTO instance_leases(instance, owner, lease_until) VALUES (?, ?, ?) "
            "ON CONFLICT(instance) DO UPDATE SET owner = excluded.owner, "
            "lease_until = excluded.lease_until WHERE instance_leases.lease_until < ? "
            "RETURNING instance",
            instance, self.owner, until, now,
        )  # fmt: skip
        return row is not None

    def _drop_dead(self, c: Any, now: float) -> None:
        """Workers whose heartbeat ran out, or that were processes on this machine that are
        gone, leave the count; their instances are free at once."""
        gone = [
            r["owner"]
            for r in c.all("SELECT owner, lease_until FROM workers WHERE owner <> ?", self.owner)
            if r["lease_until"] < now or self._is_stale(r["owner"])
        ]
        holders = c.all(
            "SELECT DISTINCT owner FROM instance_leases WHERE owner <> ? AND lease_until >= ?",
            self.owner, now,
        )  # fmt: skip
        gone += [
            r["owner"] for r in holders if r["owner"] not in gone and self._is_stale(r["owner"])
        ]
        for owner in gone:
            c.execute("DELETE FROM workers WHERE owner = ?", (owner,))
            c.execute("DELETE FROM instance_leases WHERE owner = ?", (owner,))

    def release_all(self) -> None:
        """This worker stops: its instances are free at once and it leaves the count."""
        with self._store.run_tx() as c:
            c.lock("affinity")
            c.execute("DELETE FROM instance_leases WHERE owner = ?", (self.owner,))
            c.execute("DELETE FROM workers WHERE owner = ?", (self.owner,))
        self.held, self.draining, self.orphans = frozenset(), frozenset(), frozenset()

    def holders(self) -> dict[str, str]:
        """Every instance lease: instance -> the worker holding it (for display and tests)."""
        rows = self._store.all("SELECT instance, owner FROM instance_leases ORDER BY instance")
        return {r["instance"]: r["owner"] for r in rows}
