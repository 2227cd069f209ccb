"""Client-side limits: a sliding-window rate limiter, a concurrency cap and a daily counter.

Marketo allows 100 calls per 20 s and 10 calls in flight per *instance* (shared by every
integration), and a daily quota (typically 50,000) that resets at 00:00 US Central
(reference §3). The defaults here stay below those numbers so that one client leaves
headroom for others and for clock skew between us and the server::

    limiter = Limiter(Limits(rate_calls=90, rate_window=20.0, max_concurrency=8))
    with limiter.slot():       # blocks until a concurrency slot AND a window slot are free
        send_request()

Everything is thread-safe: one limiter shared by many worker threads keeps the whole
process within the limits. Time is read and slept through an injected clock, so tests
with a ``FakeClock`` run in zero time.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import ConfigurationError, QuotaExceeded

__all__ = ["MARKETO_TZ", "Grant", "Limiter", "Limits", "next_quota_reset"]

# Marketo resets daily quotas at 12:00 AM "CST"; we read that as US Central civil time,
# which follows daylight saving. # (U) Adobe says "CST"; CDT in summer is our best guess.
MARKETO_TZ = ZoneInfo("America/Chicago")

# Marketo's own ceiling for calls in flight per instance (reference §3).
MARKETO_MAX_CONCURRENCY = 10


@dataclass(frozen=True)
class Limits:
    """How hard one client may push Marketo.

    - ``rate_calls`` / ``rate_window``: at most this many calls in any window of that many
      seconds (sliding). Default 90 / 20 s: 10% under Marketo's 100 / 20 s, because the
      server counts at arrival and our count is at departure.
    - ``max_concurrency``: calls in flight at once, 1..10. Default 8: Marketo's ceiling is 10
      per instance and it advises 5 per integration; 8 keeps most of the throughput while
      leaving two slots to other integrations. Lower it on shared production instances.
    - ``daily_budget``: stop (raise ``QuotaExceeded``) after this many calls in one Marketo
      day; ``None`` means no client-side budget (the server's 607 still applies).

    Raises ``ConfigurationError`` for values that cannot work.
    """

    rate_calls: int = 90
    rate_window: float = 20.0
    max_concurrency: int = 8
    daily_budget: int | None = None

    def __post_init__(self) -> None:
        if self.rate_calls < 1:
            raise ConfigurationError(f"Limits.rate_calls must be >= 1, got {self.rate_calls}")
        if self.rate_window <= 0:
            raise ConfigurationError(f"Limits.rate_window must be > 0, got {self.rate_window}")
        if not 1 <= self.max_concurrency <= MARKETO_MAX_CONCURRENCY:
            raise ConfigurationError(
                f"Limits.max_concurrency must be between 1 and {MARKETO_MAX_CONCURRENCY} "
                f"(Marketo answers 615 beyond 10 calls in flight), got {self.max_concurrency}"
            )
        if self.daily_budget is not None and self.daily_budget < 1:
            raise ConfigurationError(
                f"Limits.daily_budget must be >= 1 or None, got {self.daily_budget}"
            )


def next_quota_reset(now: datetime) -> datetime:
    """The next 00:00 in Marketo's quota time zone after ``now`` (aware), as an aware datetime."""
    local = now.astimezone(MARKETO_TZ)
    tomorrow = local.date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=MARKETO_TZ)


class Limiter:
    """Enforces :class:`Limits` for every thread that goes through :meth:`slot`.

    Order matters: a caller first takes a concurrency slot, *then* its place in the rate
    window, so the timestamp recorded is as close as possible to the moment the request
    leaves (a call waiting for a slot must not already occupy the window).

    The server counts a call when it *arrives*, somewhere between our departure and the
    response. So when a call completes, its place in the window is re-stamped with the
    completion time: the window we enforce then covers every instant the server may have
    counted it at, and scheduling jitter cannot push the server's count over the limit.

    Marketo's limits are shared by every integration on the instance, so a 606 or 615 means
    someone else is using part of them. :meth:`throttled` then halves the effective rate
    (606, at most once per window) or takes one off the effective concurrency (each 615);
    each quiet window after that gives back a tenth of the rate and one slot (AIMD). The
    configured :class:`Limits` are never exceeded.
    """

    def __init__(self, limits: Limits | None = None, *, clock: Clock | None = None) -> None:
        self.limits = limits or Limits()
        self._clock = clock or system_clock
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._holders = 0  # callers holding a concurrency place (sending or waiting to)
        self.rate_calls = self.limits.rate_calls  # effective, <= configured
        self.concurrency = self.limits.max_concurrency  # effective, <= configured
        self._rate_changed = self._conc_changed = -float("inf")
        self._sent: list[float] = []  # sorted stamps of calls in the window
        self._paused_until = 0.0
        self._in_flight = 0
        self.max_in_flight = 0
        self.max_calls_in_window = 0
        self._day: date | None = None
        self._day_calls = 0
        self._booked = 0  # window places promised by grant() and not yet taken
        self._local = threading.local()

    # ------------------------------------------------------------------ public

    def grant(self, cancel: threading.Event | None = None) -> Grant | None:
        """Block until a call may leave NOW (a concurrency place free and room in the rate
        window), then hold that place for whoever sends the call (see :meth:`Grant.use`).
        None when ``cancel`` was set first. A dispatcher asks for the grant first and only
        then takes its batch, so everything that piled up while waiting goes in it."""
        while True:
            with self._cond:
                if cancel is not None and cancel.is_set():
                    return None
                now = self._clock.monotonic()
                wait = self._paused_until - now
                if wait <= 0:
                    self._prune(now)
                    self._recover(now)
                    if self._holders >= self.concurrency:
                        self._cond.wait(0.05 if cancel is not None else None)
                        continue
                    if len(self._sent) + self._booked < self.rate_calls:
                        self._holders += 1
                        self._booked += 1
                        return Grant(self)
                    wait = (self._sent[0] if self._sent else now) + self.limits.rate_window - now
            if self._clock.wait(max(wait, 1e-3), cancel):
                return None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one call's place: blocks until allowed; raises ``QuotaExceeded`` when the
        daily budget is spent (before anything is sent). In a thread that uses a
        :class:`Grant`, the granted place is used instead of waiting for a new one."""
        grant: Grant | None = getattr(self._local, "grant", None)
        if grant is not None:
            with self._lock:
                if grant.booked:
                    grant.booked = False
                    self._booked -= 1
            with self._granted_slot():
                yield
            return
        with self._cond:
            while self._holders >= self.concurrency:
                self._cond.wait()
            self._holders += 1
        try:
            with self._granted_slot():
                yield
        finally:
            with self._cond:
                self._holders -= 1
                self._cond.notify_all()

    @contextmanager
    def _granted_slot(self) -> Iterator[None]:
        """With a concurrency place held: a window place, in flight while the call runs."""
        stamp = self._take_window_place()
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._restamp(stamp, self._clock.monotonic())

    def _release(self, grant: Grant) -> None:
        with self._cond:
            if grant.booked:
                grant.booked = False
                self._booked -= 1
            self._holders -= 1
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Hold back every new call for ``seconds`` (after a 606 the window must drain)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)

    def throttled(self, code: str) -> None:
        """The server said 606 (rate) or 615 (concurrency): back off the effective limit."""
        with self._cond:
            now = self._clock.monotonic()
            window = self.limits.rate_window
            if code == "606" and now - self._rate_changed >= window:
                self.rate_calls = max(1, self.rate_calls // 2)
                self._rate_changed = now
            elif code == "615":  # each 615 is one call too many in flight: one less
                self.concurrency = max(1, self.concurrency - 1)
                self._conc_changed = now

    def _recover(self, now: float) -> None:
        """Additive increase: one step per quiet window, back up to the configured limits."""
        window, lim = self.limits.rate_window, self.limits
        if self.rate_calls < lim.rate_calls and now - self._rate_changed >= window:
            self.rate_calls = min(lim.rate_calls, self.rate_calls + max(1, lim.rate_calls // 10))
            self._rate_changed = now
        if self.concurrency < lim.max_concurrency and now - self._conc_changed >= window:
            self.concurrency += 1
            self._conc_changed = now
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def calls_today(self) -> int:
        with self._lock:
            return self._day_calls

    def calls_in_window(self) -> int:
        """Calls sent in the last ``rate_window`` seconds."""
        with self._lock:
            self._prune(self._clock.monotonic())
            return len(self._sent)

    # ------------------------------------------------------------------ internals

    def _prune(self, now: float) -> None:
        horizon = now - self.limits.rate_window
        cut = bisect.bisect_right(self._sent, horizon)
        if cut:
            del self._sent[:cut]

    def _restamp(self, stamp: float, done: float) -> None:
        i = bisect.bisect_left(self._sent, stamp)
        if i < len(self._sent) and self._sent[i] == stamp:
            del self._sent[i]
        bisect.insort(self._sent, done)

    def _take_window_place(self) -> float:
        while True:
            with self._lock:
                now = self._clock.monotonic()
                wait = self._paused_until - now
                if wait <= 0:
                    self._prune(now)
                    self._recover(now)
                    if len(self._sent) + self._booked < self.rate_calls:  # grants booked
                        self._count_day()  # may raise QuotaExceeded: nothing recorded yet
                        bisect.insort(self._sent, now)
                        self.max_calls_in_window = max(self.max_calls_in_window, len(self._sent))
                        return now
                    wait = self._sent[0] + self.limits.rate_window - now
            # Sleep outside the lock so other threads can read counters meanwhile.
            self._clock.sleep(max(wait, 1e-3))

    def _count_day(self) -> None:
        now = self._clock.now()
        today = now.astimezone(MARKETO_TZ).date()
        if today != self._day:
            self._day, self._day_calls = today, 0
        budget = self.limits.daily_budget
        if budget is not None and self._day_calls >= budget:
            resets = next_quota_reset(now)
            raise QuotaExceeded(
                f"client-side daily budget of {budget} Marketo calls is spent "
                f"(Limits.daily_budget); raise the budget or wait for the reset",
                code=None,
                resets_at=resets,
            )
        self._day_calls += 1

    def __repr__(self) -> str:
        lim = self.limits
        return (
            f"Limiter({self.rate_calls}/{lim.rate_calls} per {lim.rate_window:g}s, "
            f"concurrency {self.concurrency}/{lim.max_concurrency}, in_flight={self.in_flight})"
        )


class Grant:
    """A concurrency place (and one booked window place) handed out by
    :meth:`Limiter.grant`. The thread that sends the call wraps it in ``with grant.use():``;
    every call of the client in that block uses the granted place (retries take new window
    places as usual). Leaving the block gives the place back.

    The one grant protocol: the shared budget's grant (runtime.budget.SharedGrant) is a
    subclass that gives its place back to the store (:meth:`_give_back`)."""

    def __init__(self, limiter: Any) -> None:
        self._limiter = limiter
        self.booked = True
        self._released = False

    @contextmanager
    def use(self) -> Iterator[None]:
        local = self._limiter._local
        local.grant = self
        try:
            yield
        finally:
            local.grant = None
            self._end(used=True)

    def release(self) -> None:
        """Give the place back without sending (idempotent)."""
        self._end(used=False)

    def _end(self, *, used: bool) -> None:
        if not self._released:
            self._released = True
            self._give_back(used=used)

    def _give_back(self, *, used: bool) -> None:
        """Return the place to the limiter (``used``: the block around a call ended)."""
        self._limiter._release(self)
