"""The clocks paragon_nb code takes as ``clock=`` (``Project``, ``Paragon``, ``MarketoClient``,
``MarketoSandbox``, ``sync_leads``): the public home of these names.

``SystemClock`` is the real clock (the default). ``FakeClock`` only moves when told to: its
``sleep`` advances it at once, so a project on it can be moved through a simulated week in
no time (tutorial 03), and tests never wait::

    from paragon_nb.clock import FakeClock

    clock = FakeClock()                  # 2026-01-01 00:00 UTC
    project = Project.create("Demo", path=folder, clock=clock)
    clock.advance(3600); project.tick()  # an hour later: what is due runs now

The implementation is :mod:`paragon_nb._clock` (imported by the library itself).
"""

from __future__ import annotations

from paragon_nb._clock import Clock, FakeClock, SystemClock, system_clock

__all__ = ["Clock", "FakeClock", "SystemClock", "system_clock"]
