"""Marketo's limits as the sandbox enforces them (reference §3), plus its counters.

- rate: ``calls`` per ``seconds`` (default 100/20 s) -> 606. A sliding window over admitted
  calls (U: Marketo does not say sliding or fixed).
- concurrency: calls in flight (default 10) -> 615.
- daily quota (default 50,000) -> 607, reset at midnight US Central.
- calls answered 600/601/602/604/605/608/611 are given back (not counted), as Marketo documents.

Time comes from the injected clock, so tests move windows with ``FakeClock.advance``.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from paragon_nb._clock import Clock
from paragon_nb.sandbox.wire import ApiError

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.sandbox.state import SandboxState

__all__ = ["NOT_COUNTED", "Gate", "Limits", "SandboxStats", "Usage"]

NOT_COUNTED = frozenset({"600", "601", "602", "604", "605", "608", "611"})
# (U) Marketo resets the quota at 12:00 AM "CST": read as US Central civil time (CDT in
# summer), the same reading as the client's ``marketo.limits.MARKETO_TZ``, so the client's
# ``QuotaExceeded.resets_at`` is when the sandbox really resets.
_CENTRAL = ZoneInfo("America/Chicago")


@dataclass
class Limits:
    """Limit switches; ``None`` (or 0) turns a limit off."""

    rate_calls: int | None = 100
    rate_seconds: float = 20.0
    max_concurrency: int | None = 10
    daily_quota: int | None = 50_000

    @classmethod
    def build(
        cls,
        rate_limit: tuple[int, float] | None,
        max_concurrency: int | None,
        daily_quota: int | None,
    ) -> Limits:
        calls, seconds = rate_limit if rate_limit else (None, 20.0)
        return cls(calls or None, float(seconds), max_concurrency or None, daily_quota or None)


@dataclass
class SandboxStats:
    """What the sandbox saw since start (or :meth:`SandboxApp.reset_stats`)."""

    calls_total: int = 0  # REST + bulk calls received (identity excluded)
    counted_calls: int = 0  # calls that counted toward rate window and quota
    calls_by_route: Counter = field(default_factory=Counter)  # "POST /rest/v1/leads.json": n
    write_calls: int = 0  # sync / delete / list add+remove / import
    errors_by_code: Counter = field(default_factory=Counter)  # "606": n, "502": n
    max_in_flight: int = 0
    max_calls_in_window: int = 0
    identity_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls_total": self.calls_total,
            "counted_calls": self.counted_calls,
            "calls_by_route": dict(self.calls_by_route),
            "write_calls": self.write_calls,
            "errors_by_code": dict(self.errors_by_code),
            "max_in_flight": self.max_in_flight,
            "max_calls_in_window": self.max_calls_in_window,
            "identity_calls": self.identity_calls,
        }


class Usage:
    """Counted calls and errors per (US Central) day, for quota and the stats endpoints.

    With a ``state`` the counters are written through to its ``usage`` table and reloaded,
    so a file-backed sandbox keeps its daily quota across restarts.
    """

    def __init__(self, state: SandboxState | None = None, *, today: date | None = None) -> None:
        self.calls: dict[date, Counter] = {}  # day -> user -> count
        self.errors: dict[date, Counter] = {}  # day -> code -> count
        self._state = state
        if state is not None and today is not None:
            since = (today - timedelta(days=7)).isoformat()
            for row in state.usage_rows(since):
                table = self.calls if row["kind"] == "calls" else self.errors
                table.setdefault(date.fromisoformat(row["day"]), Counter())[row["key"]] += row[
                    "count"
                ]

    def bump(self, day: date, kind: str, key: str, delta: int = 1) -> None:
        table = self.calls if kind == "calls" else self.errors
        table.setdefault(day, Counter())[key] += delta
        if self._state is not None:
            self._state.bump_usage(day.isoformat(), kind, key, delta)

    @staticmethod
    def day(now: float) -> date:
        return datetime.fromtimestamp(now, UTC).astimezone(_CENTRAL).date()

    def total(self, day: date) -> int:
        return sum(self.calls.get(day, Counter()).values())

    def usage_rows(self, days: list[date]) -> list[dict[str, Any]]:
        return _day_rows(self.calls, days, "users", "userId")

    def error_rows(self, days: list[date]) -> list[dict[str, Any]]:
        return _day_rows(self.errors, days, "errors", "errorCode")


class Gate:
    """Admission control for one sandbox: quota, rate window, concurrency (thread-safe)."""

    def __init__(
        self,
        limits: Limits,
        clock: Clock,
        stats: SandboxStats,
        *,
        state: SandboxState | None = None,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.stats = stats
        self.usage = Usage(state, today=Usage.day(clock.time()))
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._in_flight = 0

    def admit(self, user: str) -> float:
        """Count one call, or raise ApiError 607/606/615. Returns a ticket for :meth:`release`."""
        with self._lock:
            now = self.clock.time()
            day = self.usage.day(now)
            quota = self.limits.daily_quota
            if quota and self.usage.total(day) >= quota:
                raise ApiError("607", "Daily quota reached")
            mono = self.clock.monotonic()
            calls, seconds = self.limits.rate_calls, self.limits.rate_seconds
            while self._window and self._window[0] <= mono - seconds:
                self._window.popleft()
            if calls and len(self._window) >= calls:
                # (U) a call refused with 606 is not added to the window (else a client that
                # keeps knocking would never get in); it does not count toward the quota.
                raise ApiError(
                    "606", f"Max rate limit '{calls}' exceeded with in '{seconds:g}' secs"
                )
            self._window.append(mono)
            self.usage.bump(day, "calls", user)
            self.stats.counted_calls += 1
            self.stats.max_calls_in_window = max(self.stats.max_calls_in_window, len(self._window))
            limit = self.limits.max_concurrency
            if limit and self._in_flight >= limit:
                # counted toward rate and quota, as Marketo counts 615 answers
                raise ApiError("615", "Concurrent access limit reached")
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            return mono

    def release(self) -> None:
        """The admitted call finished."""
        with self._lock:
            self._in_flight -= 1

    def give_back(self, ticket: float, user: str) -> None:
        """An admitted call was answered with a code Marketo does not count: uncount it."""
        with self._lock:
            try:
                self._window.remove(ticket)
            except ValueError:
                pass
            day = self.usage.day(self.clock.time())
            counter = self.usage.calls.get(day)
            if counter and counter[user] > 0:
                self.usage.bump(day, "calls", user, -1)
            self.stats.counted_calls -= 1

    def record_error(self, code: str) -> None:
        with self._lock:
            day = self.usage.day(self.clock.time())
            self.usage.bump(day, "errors", code)

    def days(self, n: int) -> list[date]:
        today = self.usage.day(self.clock.time())
        return [today - timedelta(days=i) for i in range(n)]


def _day_rows(
    counts: Mapping[date, Counter[str]], days: list[date], items: str, key: str
) -> list[dict[str, Any]]:
    """Marketo's stats rows: per day the total and one ``{key, count}`` item per counter."""
    rows = []
    for d in days:
        day = counts.get(d, Counter())
        rows.append(
            {
                "date": d.isoformat(),
                "total": sum(day.values()),
                items: [{key: k, "count": n} for k, n in sorted(day.items())],
            }
        )
    return rows
