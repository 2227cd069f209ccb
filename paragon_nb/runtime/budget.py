"""One Marketo budget per instance, kept in the project store and shared by every process.

Marketo's limits are per instance: 100 calls / 20 s, 10 calls in flight, a daily quota. The
client's own :class:`~paragon_nb.marketo.limits.Limiter` enforces them inside one process;
:class:`SharedLimiter` offers the same interface (``grant()`` -> a grant, ``slot()``,
``pause``, ``throttled``) but keeps the count in the store, so every serve and worker
process on a project (on one machine with SQLite, on many with PostgreSQL) draws from one
budget. The instance's ``marketo_budget`` row is locked (an ``UPDATE`` of it opens each
transaction: a row lock on PostgreSQL, the write lock on SQLite) while a call is granted:

- ``marketo_calls`` holds one row per call in the rate window (``at``: granted, re-stamped
  with the completion time as the in-process limiter does, because Marketo counts a call
  when it arrives). A call in flight is a row with ``in_flight = 1`` and a lease
  (``lease_until``) that its process renews (:meth:`StoreBudget.renew`); a killed process's
  calls stop counting as in flight when their lease runs out.
- ``marketo_budget`` holds the pause after a 606, the Marketo day and its call count
  (``Limits.daily_budget``) and the effective rate and concurrency after 606/615 (the same
  AIMD back-off as the in-process limiter).

Time is the injected clock's wall time (``clock.time()``): monotonic clocks of two processes
are not comparable. Waiting for a window place sleeps on the clock (a FakeClock advances);
waiting for an in-flight place polls the store every ``poll`` real seconds, because another
process may free it.

    budget = StoreBudget(store, clock=clock, holder="host:pid:id", lease_seconds=30)
    limiter = budget.limiter("https://x.mktorest.com/rest#client", Limits())
    grant = limiter.grant(); with grant.use(): client.sync_leads(...)
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import QuotaExceeded
from paragon_nb.marketo.limits import MARKETO_TZ, Grant, Limits, next_quota_reset
from paragon_nb.runtime.db import Conn, DatabaseError
from paragon_nb.runtime.ownership import owner_is_stale
from paragon_nb.runtime.store import ProjectStore

__all__ = ["SharedGrant", "SharedLimiter", "StoreBudget"]

log = logging.getLogger(__name__)

#: real seconds between looks at the store while every in-flight place is taken
POLL = 0.01
#: the in-flight poll doubles up to this while every place stays taken (by other processes)
MAX_POLL = 0.05
#: seconds a finished call keeps counting past ``rate_window`` (after its completion time).
#: The budget counts in wall time (``clock.time()``, comparable across processes), Marketo
#: on its own clock: at the window's very edge the two may disagree by float rounding (wall
#: times are ~1.7e9, so a FakeClock's exact ties at the edge let a call in that Marketo
#: still counts: the 2-3 606s of test_two_processes_share_one_window...) or by small clock
#: differences between processes. A call's place frees this much later instead.
WINDOW_SLACK = 0.01
#: lock an instance's budget row (the row lock every writer of its call rows takes first)
_LOCK_BUDGET = "UPDATE marketo_budget SET paused_until = paused_until WHERE instance = ?"


@dataclass
class _Try:
    """What one attempt at a grant found: the call row's id, else how long to wait."""

    call_id: int | None = None
    wait: float = 0.0
    spent: bool = False  # the daily budget is spent: slot() raises QuotaExceeded
    concurrency: bool = False  # blocked by the in-flight cap (poll), not the window
    flying: int = 0  # calls in flight (of every process) before this one
    in_window: int = 0  # calls in the rate window before this one


class StoreBudget:
    """The budgets of one project's Marketo instances, for one process (``holder``)."""

    def __init__(
        self,
        store: ProjectStore,
        *,
        clock: Clock,
        holder: str,
        lease_seconds: float,
        grace: float = 5.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.holder = holder
        self.lease_seconds = lease_seconds
        # (U) a call whose process died is over at Marketo this long after it left
        self.grace = grace
        self._lock = threading.Lock()
        self._limiters: dict[str, SharedLimiter] = {}

    def limiter(self, instance: str, limits: Limits) -> SharedLimiter:
        """The shared limiter of ``instance`` (one per instance in this process)."""
        with self._lock:
            found = self._limiters.get(instance)
            if found is None:
                found = self._limiters[instance] = SharedLimiter(self, instance, limits)
            return found

    def share(self, client: Any, instance: str) -> Any:
        """Make ``client`` (a MarketoClient or anything with a ``limiter`` attribute) draw from
        this budget, with the limits it was built with; returns it."""
        client.limiter = self.limiter(instance, client.limiter.limits)
        return client

    def renew(self) -> None:
        """Extend the leases of this process's calls in flight (the engine's heartbeat)."""
        until = self.clock.time() + self.lease_seconds
        self._own_calls("lease_until = ?", until)

    def release_all(self) -> None:
        """This process stops: its calls are no longer in flight (an orderly close)."""
        self._own_calls("in_flight = 0")

    def _own_calls(self, assignment: str, *args: Any) -> None:
        """``UPDATE ... SET assignment`` on this process's calls in flight, of every instance:
        the instances' budget rows are locked first, in instance order (every writer of an
        instance's call rows locks its budget row first: no two wait on each other)."""

        def body(c: Conn) -> None:
            instances = c.all(
                "SELECT DISTINCT instance FROM marketo_calls WHERE holder = ? AND in_flight = 1 "
                "ORDER BY instance",
                self.holder,
            )
            for r in instances:
                c.execute(_LOCK_BUDGET, (r["instance"],))
            c.execute(
                f"UPDATE marketo_calls SET {assignment} WHERE holder = ? AND in_flight = 1",
                (*args, self.holder),
            )

        self.store.transact(body)


class SharedLimiter:
    """:class:`~paragon_nb.marketo.limits.Limiter`'s interface over the store: one budget for
    ``instance`` across every process of the project."""

    def __init__(self, budget: StoreBudget, instance: str, limits: Limits) -> None:
        self._budget = budget
        self.instance = instance
        self.limits = limits
        self._clock = budget.clock
        self._local = threading.local()
        self._cond = threading.Condition()
        self._in_flight = 0  # this process's calls in flight
        self.max_in_flight = 0  # the most seen across processes (at grant time)
        self.max_calls_in_window = 0

    # ------------------------------------------------------------------ public
    def grant(self, cancel: threading.Event | None = None) -> SharedGrant | None:
        """Block until a call may leave now (an in-flight place free and room in the rate
        window, across every process); None when ``cancel`` was set first."""
        poll = POLL
        while True:
            if cancel is not None and cancel.is_set():
                return None
            got = self._try()
            if got.call_id is not None:
                with self._cond:
                    self._in_flight += 1
                return SharedGrant(self, got.call_id, spent=got.spent)
            if got.concurrency:
                with self._cond:  # a local release wakes us early; others are polled
                    self._cond.wait(poll)
                poll = min(poll * 2, MAX_POLL)
                continue
            poll = POLL
            if self._clock.wait(max(got.wait, 1e-3), cancel):
                return None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one call's place (blocks until allowed; QuotaExceeded when the daily budget is
        spent). Inside ``grant.use()`` the first call uses the grant; retries take a new
        place in the window (the in-flight place stays the grant's)."""
        grant: SharedGrant | None = getattr(self._local, "grant", None)
        if grant is None:
            fresh = self.grant()
            assert fresh is not None  # no cancel event: grant() only returns a grant
            with fresh.use(), self.slot():
                yield
            return
        if grant.fresh:
            grant.fresh = False
            if grant.spent:
                budget = self.limits.daily_budget
                raise QuotaExceeded(
                    f"client-side daily budget of {budget} Marketo calls is spent "
                    f"(Limits.daily_budget, shared by every process of the project); raise the "
                    f"budget or wait for the reset",
                    code=None,
                    resets_at=next_quota_reset(self._clock.now()),
                )
            yield
            return
        place = self._window_place()
        try:
            yield
        finally:  # re-stamped with the retry's completion time, as a grant's call is
            self._restamp(place)

    def pause(self, seconds: float) -> None:
        """Hold back every process's new calls for ``seconds`` (after a 606)."""
        until = self._clock.time() + seconds

        def body(c: Conn) -> None:
            self._lock_row(c)
            c.execute(
                "UPDATE marketo_budget SET paused_until = CASE WHEN paused_until < ? THEN ? "
                "ELSE paused_until END WHERE instance = ?",
                (until, until, self.instance),
            )

        self._budget.store.transact(body)

    def throttled(self, code: str) -> None:
        """606: halve the effective rate (once per window); 615: one in-flight place less."""
        now = self._clock.time()

        def body(c: Conn) -> None:
            row = self._lock_row(c)
            rate, conc = self._effective(row)
            if code == "606" and now - row["rate_changed"] >= self.limits.rate_window:
                c.execute(
                    "UPDATE marketo_budget SET rate_calls = ?, rate_changed = ? WHERE instance = ?",
                    (max(1, rate // 2), now, self.instance),
                )
            elif code == "615":
                c.execute(
                    "UPDATE marketo_budget SET concurrency = ?, conc_changed = ? "
                    "WHERE instance = ?",
                    (max(1, conc - 1), now, self.instance),
                )

        self._budget.store.transact(body)

    @property
    def in_flight(self) -> int:
        """Calls of this process in flight."""
        with self._cond:
            return self._in_flight

    @property
    def calls_today(self) -> int:
        row = self._budget.store.one(
            "SELECT day, day_calls FROM marketo_budget WHERE instance = ?", self.instance
        )
        if row is None or row["day"] != self._today():
            return 0
        return int(row["day_calls"])

    def calls_in_window(self) -> int:
        """Calls of every process in the last ``rate_window`` seconds."""
        row = self._budget.store.one(
            "SELECT COUNT(*) AS n FROM marketo_calls WHERE instance = ? AND at > ?",
            self.instance,
            self._clock.time() - self._span,
        )
        return int(row["n"]) if row is not None else 0

    def __repr__(self) -> str:
        lim = self.limits
        return (
            f"SharedLimiter({lim.rate_calls} per {lim.rate_window:g}s, concurrency "
            f"{lim.max_concurrency}, shared through the store, in_flight here={self.in_flight})"
        )

    # ------------------------------------------------------------------ internals
    @property
    def _span(self) -> float:
        """How long a finished call counts after its completion: the window and a slack."""
        return self.limits.rate_window + WINDOW_SLACK

    def _today(self) -> str:
        return self._clock.now().astimezone(MARKETO_TZ).date().isoformat()

    def _lock_row(self, c: Any) -> Any:
        """Lock the instance's budget row for this transaction (creating it) and read it."""
        if c.execute(_LOCK_BUDGET, (self.instance,)).rowcount == 0:
            c.execute(
                "INSERT INTO marketo_budget(instance) VALUES (?) ON CONFLICT (instance) DO NOTHING",
                (self.instance,),
            )
            c.execute(_LOCK_BUDGET, (self.instance,))
        return c.execute(
            "SELECT * FROM marketo_budget WHERE instance = ?", (self.instance,)
        ).fetchone()

    def _effective(self, row: Any) -> tuple[int, int]:
        rate = row["rate_calls"] if row["rate_calls"] is not None else self.limits.rate_calls
        conc = row["concurrency"] if row["concurrency"] is not None else self.limits.max_concurrency
        return min(int(rate), self.limits.rate_calls), min(int(conc), self.limits.max_concurrency)

    def _recover(self, c: Any, row: Any, now: float, rate: int, conc: int) -> tuple[int, int]:
        """Additive increase: one step per quiet window, back to the configured limits."""
        lim, window = self.limits, self.limits.rate_window
        if rate < lim.rate_calls and now - row["rate_changed"] >= window:
            rate = min(lim.rate_calls, rate + max(1, lim.rate_calls // 10))
            c.execute(
                "UPDATE marketo_budget SET rate_calls = ?, rate_changed = ? WHERE instance = ?",
                (rate, now, self.instance),
            )
        if conc < lim.max_concurrency and now - row["conc_changed"] >= window:
            conc += 1
            c.execute(
                "UPDATE marketo_budget SET concurrency = ?, conc_changed = ? WHERE instance = ?",
                (conc, now, self.instance),
            )
        return rate, conc

    def _try(self) -> _Try:
        """One transaction: grant a call (in-flight place + window place) or say why not."""
        now = self._clock.time()
        got = self._budget.store.transact(functools.partial(self._try_in, now=now))
        if got.call_id is not None:
            self.max_in_flight = max(self.max_in_flight, got.flying + 1)
            self.max_calls_in_window = max(self.max_calls_in_window, got.in_window + 1)
        return got

    def _try_in(self, c: Conn, *, now: float) -> _Try:
        b = self._budget
        horizon = now - self._span
        row = self._lock_row(c)
        if row["paused_until"] > now:
            return _Try(wait=row["paused_until"] - now)
        rate, conc = self._recover(c, row, now, *self._effective(row))
        c.execute(
            "DELETE FROM marketo_calls WHERE instance = ? AND at <= ? "
            "AND (in_flight = 0 OR lease_until < ?)",
            (self.instance, horizon, now),
        )
        count = self._window(c, now)
        flying = c.execute(
            "SELECT holder, at FROM marketo_calls WHERE instance = ? AND in_flight = 1 "
            "AND lease_until >= ?",
            (self.instance, now),
        ).fetchall()
        if len(flying) >= conc:
            flying = self._without_dead(c, flying, now)
        if len(flying) >= conc:
            return _Try(concurrency=True)
        if int(count["n"]) >= rate:
            return _Try(wait=_window_wait(count["first"], self._span, now))
        spent = self._count_day(c, row)
        call_id = c.execute(
            "INSERT INTO marketo_calls(instance, at, holder, lease_until, in_flight) "
            "VALUES (?, ?, ?, ?, 1) RETURNING id",
            (self.instance, now, b.holder, now + b.lease_seconds),
        ).fetchone()["id"]
        return _Try(
            call_id=int(call_id), spent=spent, flying=len(flying), in_window=int(count["n"])
        )

    def _window(self, c: Any, now: float) -> Any:
        """``n``: calls of every process in the rate window; ``first``: when the oldest
        finished one leaves it. A call still in flight counts however long ago it was
        granted: Marketo counts it when it arrives, which may be now (it is re-stamped with
        its completion time when it ends)."""
        return c.execute(
            "SELECT COUNT(*) AS n, MIN(CASE WHEN in_flight = 0 THEN at END) AS first "
            "FROM marketo_calls WHERE instance = ? "
            "AND (at > ? OR (in_flight = 1 AND lease_until >= ?))",
            (self.instance, now - self._span, now),
        ).fetchone()

    def _without_dead(self, c: Any, flying: list[Any], now: float) -> list[Any]:
        """Calls in flight minus those of a process on this machine that is gone and left
        them more than ``grace`` seconds ago (they are over at Marketo by then); their rows
        stop counting as in flight."""
        b = self._budget
        dead = {
            r["holder"]
            for r in flying
            if r["holder"] != b.holder and r["at"] < now - b.grace and owner_is_stale(r["holder"])
        }
        for holder in dead:
            c.execute(
                "UPDATE marketo_calls SET in_flight = 0 "
                "WHERE instance = ? AND holder = ? AND at < ?",
                (self.instance, holder, now - b.grace),
            )
        return [r for r in flying if not (r["holder"] in dead and r["at"] < now - b.grace)]

    def _count_day(self, c: Any, row: Any) -> bool:
        """Count the call in its Marketo day; True (nothing counted) when the daily budget is
        spent."""
        today = self._today()
        calls = int(row["day_calls"]) if row["day"] == today else 0
        budget = self.limits.daily_budget
        if budget is not None and calls >= budget:
            return True
        c.execute(
            "UPDATE marketo_budget SET day = ?, day_calls = ? WHERE instance = ?",
            (today, calls + 1, self.instance),
        )
        return False

    def _window_place(self) -> int:
        """A retry inside a grant: a new place in the window (not a new in-flight place);
        returns its call row's id."""
        while True:
            now = self._clock.time()
            got = self._budget.store.transact(functools.partial(self._window_place_in, now=now))
            if got.call_id is not None:
                return got.call_id
            self._clock.sleep(max(got.wait, 1e-3))

    def _window_place_in(self, c: Conn, *, now: float) -> _Try:
        """One attempt of :meth:`_window_place`: the row's id, or how long to wait."""
        row = self._lock_row(c)
        wait = float(row["paused_until"]) - now
        if wait > 0:
            return _Try(wait=wait)
        rate, _ = self._effective(row)
        count = self._window(c, now)
        if int(count["n"]) >= rate:
            return _Try(wait=_window_wait(count["first"], self._span, now))
        call_id = c.execute(
            "INSERT INTO marketo_calls(instance, at, holder, lease_until, in_flight) "
            "VALUES (?, ?, ?, ?, 0) RETURNING id",
            (self.instance, now, self._budget.holder, now),
        ).fetchone()["id"]
        return _Try(call_id=int(call_id))

    def _restamp(self, call_id: int) -> None:
        """A retry's window place counts from its completion (Marketo counts at arrival)."""
        now = self._clock.time()

        def body(c: Conn) -> None:
            self._lock_row(c)
            c.execute("UPDATE marketo_calls SET at = ? WHERE id = ?", (now, call_id))

        try:
            self._budget.store.transact(body)
        except DatabaseError as exc:  # the place then frees from its start: logged
            log.warning("could not re-stamp a retried Marketo call (%s)", exc)

    def _finish(self, grant: SharedGrant, *, used: bool) -> None:
        now = self._clock.time()

        def body(c: Conn) -> None:
            self._lock_row(c)  # the budget row first, as every writer of an instance's calls
            if used:  # re-stamped with the completion time: Marketo counts at arrival
                c.execute(
                    "UPDATE marketo_calls SET in_flight = 0, at = ? WHERE id = ?",
                    (now, grant.call_id),
                )
                return
            c.execute("DELETE FROM marketo_calls WHERE id = ?", (grant.call_id,))
            if not grant.spent:
                c.execute(
                    "UPDATE marketo_budget SET day_calls = day_calls - 1 "
                    "WHERE instance = ? AND day = ? AND day_calls > 0",
                    (self.instance, self._today()),
                )

        try:
            self._budget.store.transact(body)
        except DatabaseError as exc:  # not the call's outcome: its place frees when its lease
            # runs out (or at close: release_all); the caller's answer is kept
            log.warning("could not record the end of a Marketo call (%s)", exc)
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()


class SharedGrant(Grant):
    """An in-flight place and one window place granted by :meth:`SharedLimiter.grant`; the
    thread that sends wraps the call in ``with grant.use():`` (the protocol of
    :class:`~paragon_nb.marketo.limits.Grant`). Leaving the block gives the place back."""

    def __init__(self, limiter: SharedLimiter, call_id: int, *, spent: bool) -> None:
        super().__init__(limiter)
        self.call_id = call_id
        self.spent = spent
        self.fresh = True  # the granted window place is not used yet

    def _give_back(self, *, used: bool) -> None:
        self._limiter._finish(self, used=used and not self.fresh)


def _window_wait(first: Any, window: float, now: float) -> float:
    """Seconds until a window place frees: when the oldest finished call leaves it, or a
    short poll while every call in the window is still in flight (one ends any moment)."""
    if first is None:
        return POLL
    return max(POLL, float(first) + window - now)
