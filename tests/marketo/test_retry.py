"""Retry policy: classification, backoff schedule, and the client's retry loop."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import (
    MarketoError,
    MarketoRequestError,
    QuotaExceeded,
    RateLimited,
    TransientMarketoError,
    marketo_error_for,
)
from paragon_nb.marketo.limits import Limits
from paragon_nb.marketo.retry import RetryPolicy, should_retry

from .fake import FakeMarketo, make_client, ok

SYNC = "/rest/v1/leads.json"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("604", True),
        ("606", True),
        ("608", True),
        ("611", True),
        ("614", True),
        ("615", True),
        ("713", True),
        ("1014", True),
        ("1016", True),
        ("502", True),
        ("503", True),
        ("607", False),
        ("601", False),
        ("603", False),
        ("609", False),
        ("1003", False),
        ("413", False),
    ],
)
def test_should_retry_by_code(code: str, expected: bool) -> None:
    assert should_retry(marketo_error_for(code, "x")) is expected


def test_network_error_retried_but_not_for_non_idempotent_calls() -> None:
    sent = TransientMarketoError("read timeout")
    assert should_retry(sent)
    assert not should_retry(sent, idempotent=False)
    unsent = TransientMarketoError("connect refused")
    unsent.not_sent = True  # type: ignore[attr-defined]
    assert should_retry(unsent, idempotent=False)


@pytest.mark.parametrize(("code", "expected"), [("604", False), ("606", True), ("615", True)])
def test_non_idempotent_only_retries_codes_that_prove_nothing_ran(
    code: str, expected: bool
) -> None:
    assert should_retry(marketo_error_for(code, "x"), idempotent=False) is expected


def test_backoff_is_capped_full_jitter_and_reproducible() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, seed=3)
    err = marketo_error_for("611", "x")
    rng1, rng2 = policy.rng(), policy.rng()
    first = [policy.delay(n, err, rng=rng1) for n in range(1, 9)]
    assert first == [policy.delay(n, err, rng=rng2) for n in range(1, 9)]
    for n, d in enumerate(first, start=1):
        assert 0.0 <= d <= min(8.0, 2 ** (n - 1))


def test_606_waits_out_the_window() -> None:
    policy = RetryPolicy(seed=1)
    delay = policy.delay(1, RateLimited("x", code="606"), rng=policy.rng(), rate_window=20.0)
    assert 20.0 <= delay <= 22.0
    fixed = RetryPolicy(rate_window=2.0, seed=1)
    assert 2.0 <= fixed.delay(1, RateLimited("x", code="606"), rng=fixed.rng()) <= 2.2


def test_allows_stops_at_attempts_and_elapsed() -> None:
    policy = RetryPolicy(max_attempts=3, max_elapsed=10.0)
    assert policy.allows(2, elapsed=0, next_delay=1)
    assert not policy.allows(3, elapsed=0, next_delay=1)
    assert not policy.allows(1, elapsed=9.5, next_delay=1)


# ---------------------------------------------------------------- through the client


@pytest.fixture
def fake(clock: FakeClock) -> FakeMarketo:
    fake = FakeMarketo(clock)

    @fake.route("POST", SYNC)
    def sync(request: httpx.Request, body: dict) -> dict:
        return ok([{"id": i + 1, "status": "created"} for i, _ in enumerate(body["input"])])

    return fake


RECORDS = [{"email": "a@x.com"}, {"email": "b@x.com"}]


@pytest.mark.parametrize("fault", ["604", "608", "611", "615", "713", 502, 503])
def test_transient_faults_are_retried_to_success(
    fake: FakeMarketo, clock: FakeClock, fault: object
) -> None:
    fake.script[SYNC] = [fault, fault]
    client = make_client(fake)
    results = client.sync_leads(RECORDS)
    assert [r.id for r in results] == [1, 2]
    assert client.stats.retries == 2
    assert client.stats.codes[str(fault)] == 2
    assert len(clock.sleeps) == 2
    assert all(s <= 2.0 for s in clock.sleeps)  # 1 s then 2 s caps


def test_606_makes_every_call_wait_the_window(fake: FakeMarketo, clock: FakeClock) -> None:
    fake.script[SYNC] = ["606"]
    client = make_client(fake, limits=Limits(rate_calls=90, rate_window=20.0))
    client.sync_leads(RECORDS)
    assert clock.monotonic() >= 20.0
    assert client.stats.codes["606"] == 1


def test_network_errors_are_retried(fake: FakeMarketo) -> None:
    fake.script[SYNC] = [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")]
    client = make_client(fake)
    assert len(client.sync_leads(RECORDS)) == 2
    assert client.stats.network_errors == 2


def test_607_is_never_retried_and_says_when_quota_resets(fake: FakeMarketo) -> None:
    fake.script[SYNC] = ["607"]
    client = make_client(fake)
    with pytest.raises(QuotaExceeded) as info:
        client.sync_leads(RECORDS)
    assert info.value.resets_at == datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    assert "quota resets at" in str(info.value)
    assert len(fake.rest_requests(SYNC)) == 1


def test_final_errors_are_not_retried(fake: FakeMarketo) -> None:
    fake.script[SYNC] = ["609"]
    client = make_client(fake)
    with pytest.raises(MarketoRequestError, match="609"):
        client.sync_leads(RECORDS)
    assert client.stats.retries == 0


@pytest.mark.parametrize("fault", ["604", 502, httpx.ReadTimeout("slow")])
def test_create_duplicate_is_not_resent_after_ambiguous_failure(
    fake: FakeMarketo, fault: object
) -> None:
    fake.script[SYNC] = [fault]
    client = make_client(fake)
    with pytest.raises(TransientMarketoError, match="not idempotent"):
        client.sync_leads(RECORDS, action="createDuplicate")
    assert len(fake.rest_requests(SYNC)) == 1


@pytest.mark.parametrize("fault", ["606", "615", httpx.ConnectError("refused")])
def test_create_duplicate_is_resent_when_nothing_ran(fake: FakeMarketo, fault: object) -> None:
    fake.script[SYNC] = [fault]
    client = make_client(fake)
    assert len(client.sync_leads(RECORDS, action="createDuplicate")) == 2
    assert len(fake.rest_requests(SYNC)) == 2


def test_gives_up_after_max_attempts_with_a_clear_message(fake: FakeMarketo) -> None:
    fake.script[SYNC] = ["611"] * 10
    client = make_client(fake, retry=RetryPolicy(max_attempts=3, seed=1))
    with pytest.raises(TransientMarketoError, match="gave up after 3 attempts") as info:
        client.sync_leads(RECORDS)
    assert info.value.code == "611"
    assert len(fake.rest_requests(SYNC)) == 3
    assert isinstance(info.value, MarketoError)
