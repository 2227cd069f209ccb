"""Clocks: the one place that reads time or sleeps, so tests can run in zero time.

``SystemClock`` is the real thing. ``FakeClock`` starts at a fixed instant; ``sleep``
advances it instantly (thread-safe), so retry/backoff/rate-limit code that is given a
``FakeClock`` never waits::

    clock = FakeClock()
    clock.sleep(20)            # returns at once
    assert clock.monotonic() == 20.0
    clock.wait(5, cancel)      # waits (or advances) unless the threading.Event is set
"""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock", "system_clock"]


@runtime_checkable
class Clock(Protocol):
    """What time-dependent code needs: wall time, monotonic time and sleep."""

    def time(self) -> float:
        """Seconds since the epoch (wall clock)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (or pretend to)."""
        ...

    def now(self) -> datetime:
        """Timezone-aware UTC ``datetime`` for :meth:`time`."""
        ...

    def wait(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Wait ``seconds`` unless ``cancel`` is set first; True when cancelled."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        if cancel is None:
            self.sleep(seconds)
            return False
        return cancel.wait(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


system_clock = SystemClock()


class FakeClock:
    """A clock for tests: ``sleep`` advances time instantly; ``advance`` moves it by hand.

    ``sleeps`` records every sleep so tests can assert on backoff schedules.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._lock = threading.Lock()
        self._wall = float(start)
        self._mono = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (got {seconds})")
        with self._lock:
            self._wall += seconds
            self._mono += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        if seconds > 0:
            self.advance(seconds)

    def wait(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Advance by ``seconds`` at once (recorded in ``sleeps``) unless already cancelled."""
        if cancel is not None and cancel.is_set():
            return True
        self.sleep(seconds)
        return cancel is not None and cancel.is_set()

    def __repr__(self) -> str:
        return f"FakeClock(t={self._mono:.3f})"
