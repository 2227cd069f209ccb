"""What happens because time passed: delayed runs wake, Scheduler triggers fire, polling
triggers poll. :meth:`Timers.tick` does one round of it at the clock's current time.

A project on the real clock runs a background thread that ticks about once a second (never
a thread per run: a waiting run is a row with ``runs.not_before``). With an injected clock
(tests, FakeClock) nothing ticks by itself: call ``project.tick()`` after
``clock.advance(...)``, so a simulated week takes no time and no sleep.

    timers = Timers(engine, sources=[scheduler], clock=clock, background=False)
    timers.tick()     # {"woken": 1, "fired": 0, ...}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from paragon_nb._clock import Clock
from paragon_nb.runtime.engine import Engine

__all__ = ["TICK_SECONDS", "Timers"]

log = logging.getLogger(__name__)

#: how often the background thread looks for due work (real seconds)
TICK_SECONDS = 1.0

#: a trigger source: called with ``now``, returns {counter name: count}
Source = Callable[[float], dict[str, int]]


class Timers:
    """One tick wakes the due runs and asks every ``source`` (scheduler, pollers) to act."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock,
        sources: Sequence[Source] = (),
        background: bool = False,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._sources = list(sources)
        self._lock = threading.Lock()  # one tick at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="paragon-nb-timers",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    def tick(self) -> dict[str, int]:
        """Wake every run whose Delay has passed and let each source act; the counts."""
        with self._lock:
            counts: dict[str, int] = {"woken": len(self._engine.wake_due())}
            now = self._clock.time()
            for source in self._sources:
                for name, n in source(now).items():
                    counts[name] = counts.get(name, 0) + n
            return counts

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # a closed store during shutdown, or a bug: keep ticking
                if self._stop.is_set():
                    return
                log.exception("a timer tick failed; trying again in %s s", TICK_SECONDS)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def __repr__(self) -> str:
        state = "background" if self._thread is not None else "manual (call tick())"
        return f"Timers({state}, sources={len(self._sources)})"
