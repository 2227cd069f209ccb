"""Limiter: sliding window, concurrency cap, daily budget - FakeClock, real threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError, QuotaExceeded
from paragon_nb.marketo.limits import Limiter, Limits, next_quota_reset


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_calls": 0},
        {"rate_window": 0},
        {"max_concurrency": 0},
        {"max_concurrency": 11},
        {"daily_budget": 0},
    ],
)
def test_limits_refuses_values_that_cannot_work(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        Limits(**kwargs)


def test_defaults_stay_below_marketo() -> None:
    lim = Limits()
    assert lim.rate_calls / lim.rate_window < 100 / 20
    assert lim.max_concurrency < 10


def _assert_window(stamps: list[float], calls: int, window: float) -> None:
    stamps = sorted(stamps)
    for i in range(len(stamps) - calls):
        assert stamps[i + calls] - stamps[i] >= window - 1e-9, (i, stamps[i], stamps[i + calls])


def test_sequential_calls_respect_sliding_window(clock: FakeClock) -> None:
    limiter = Limiter(Limits(rate_calls=10, rate_window=2.0), clock=clock)
    stamps = []
    for _ in range(95):
        with limiter.slot():
            stamps.append(clock.monotonic())
    _assert_window(stamps, 10, 2.0)
    # the first 10 go at once; after that the window paces: 95 calls need 9 windows
    assert stamps[9] == 0.0
    assert clock.monotonic() == pytest.approx(18.0, abs=0.01)
    assert limiter.max_calls_in_window == 10


def test_many_threads_share_window_and_concurrency(clock: FakeClock) -> None:
    limiter = Limiter(Limits(rate_calls=20, rate_window=5.0, max_concurrency=4), clock=clock)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(40):
            with limiter.slot():
                with lock:
                    stamps.append(clock.monotonic())
                assert limiter.in_flight <= 4

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 320
    _assert_window(stamps, 20, 5.0)
    assert limiter.max_in_flight <= 4
    assert limiter.max_calls_in_window <= 20


def test_concurrency_cap_reached_but_never_exceeded(clock: FakeClock) -> None:
    limiter = Limiter(Limits(rate_calls=100, rate_window=20.0, max_concurrency=3), clock=clock)
    gate = threading.Event()
    entered = threading.Semaphore(0)

    def worker() -> None:
        with limiter.slot():
            entered.release()
            gate.wait(10)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for _ in range(3):
        assert entered.acquire(timeout=10)
    assert limiter.in_flight == 3
    gate.set()
    for t in threads:
        t.join()
    assert limiter.max_in_flight == 3
    assert limiter.in_flight == 0


def test_daily_budget_raises_with_reset_time_then_rolls_over(clock: FakeClock) -> None:
    limiter = Limiter(Limits(daily_budget=3), clock=clock)
    for _ in range(3):
        with limiter.slot():
            pass
    with pytest.raises(QuotaExceeded) as info, limiter.slot():
        pass
    # FakeClock starts 2026-01-01T00:00Z = 2025-12-31 18:00 CST -> resets 06:00Z
    assert info.value.resets_at == datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    assert "resets at" in str(info.value)
    assert limiter.calls_today == 3
    clock.advance(6 * 3600 + 1)
    with limiter.slot():
        pass
    assert limiter.calls_today == 1


def test_next_quota_reset_follows_central_time_with_dst() -> None:
    winter = next_quota_reset(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    summer = next_quota_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert winter.astimezone(UTC) == datetime(2026, 1, 16, 6, 0, tzinfo=UTC)
    assert summer.astimezone(UTC) == datetime(2026, 7, 2, 5, 0, tzinfo=UTC)


def test_pause_holds_back_new_calls(clock: FakeClock) -> None:
    limiter = Limiter(Limits(), clock=clock)
    limiter.pause(20.0)
    with limiter.slot():
        assert clock.monotonic() >= 20.0


def test_a_call_occupies_the_window_until_it_completes(clock: FakeClock) -> None:
    """The server may count a call any time before its answer: keep it until then + window."""
    limiter = Limiter(Limits(rate_calls=2, rate_window=10.0), clock=clock)
    with limiter.slot():
        clock.advance(1.0)  # a slow call: the server may have counted it at t=1
    with limiter.slot():
        pass
    with limiter.slot():
        assert clock.monotonic() == pytest.approx(11.0)


def test_throttled_backs_off_then_recovers_each_quiet_window(clock: FakeClock) -> None:
    limiter = Limiter(Limits(rate_calls=80, rate_window=20.0, max_concurrency=8), clock=clock)
    limiter.throttled("606")
    limiter.throttled("606")  # same window: one cut only
    assert limiter.rate_calls == 40
    limiter.throttled("615")
    limiter.throttled("615")
    assert limiter.concurrency == 6
    clock.advance(20.0)
    with limiter.slot():
        pass
    assert (limiter.rate_calls, limiter.concurrency) == (48, 7)
    for _ in range(10):
        clock.advance(20.0)
        with limiter.slot():
            pass
    assert (limiter.rate_calls, limiter.concurrency) == (80, 8)  # never above configured


def test_reduced_concurrency_is_enforced_across_threads(clock: FakeClock) -> None:
    limiter = Limiter(Limits(max_concurrency=6), clock=clock)
    for _ in range(4):
        limiter.throttled("615")
    gate = threading.Event()
    entered = threading.Semaphore(0)

    def worker() -> None:
        with limiter.slot():
            entered.release()
            gate.wait(10)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(2):
        assert entered.acquire(timeout=10)
    gate.set()
    for t in threads:
        t.join()
    assert limiter.max_in_flight == 2
