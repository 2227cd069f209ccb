"""Fault tests: scripted 606/615/611/604/502 and token expiry mid-run against the sandbox.

The client must end with the right results (every record synced once, list complete) and
stay within its configured limits, judged by the sandbox's own counters.
"""

from __future__ import annotations

import threading

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import TransientMarketoError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.marketo.models import ListMemberStatus, RecordStatus
from paragon_nb.marketo.retry import RetryPolicy
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.sandbox.faults import Fault
from paragon_nb.sandbox.server import MarketoSandbox

LIMITS = Limits(rate_calls=12, rate_window=20.0, max_concurrency=4)
# Every thread's sleep advances the one shared FakeClock, so elapsed time per call is
# inflated by the number of threads: judge these runs by attempts, not by elapsed time.
PATIENT = RetryPolicy(max_attempts=10, max_elapsed=None, seed=5)


def _records(n: int) -> list[dict]:
    return [{"email": f"lead{i}@example.com", "lastName": f"L{i}"} for i in range(n)]


def _check_complete(app: SandboxApp, client: MarketoClient, n: int) -> None:
    records = _records(n)
    results = client.sync_leads(records)
    assert len(results) == n
    assert all(r.status in (RecordStatus.CREATED, RecordStatus.UPDATED) and r.id for r in results)
    assert app.lead_count() == n  # no duplicates, nothing lost
    emails = {lead["id"]: lead["email"] for lead in app.leads()}
    assert [emails[r.id] for r in results] == [r["email"] for r in records]  # type: ignore[index]
    lst = client.create_list("Faulty")
    added = client.add_to_list(lst.id, [r.id for r in results])  # type: ignore[misc]
    assert {a.status for a in added} == {ListMemberStatus.ADDED}
    assert sorted(app.list_members(lst.id)) == sorted(r.id for r in results)  # type: ignore[type-var]


def _check_within_limits(app: SandboxApp, limits: Limits) -> None:
    stats = app.stats
    assert stats.max_in_flight <= limits.max_concurrency
    assert stats.max_calls_in_window <= limits.rate_calls
    assert stats.errors_by_code.get("606", 0) <= 1  # only the scripted one
    assert stats.errors_by_code.get("615", 0) <= 1


def test_scripted_faults_on_sync_and_list_adds(clock: FakeClock) -> None:
    app = SandboxApp(
        clock=clock,
        faults=[
            Fault(route="leads", sequence=("606", None, "615", "611", None, "604", "502")),
            Fault(route="members", sequence=("502", None, "611")),
        ],
    )
    client = app.client(clock=clock, limits=LIMITS, retry=RetryPolicy(seed=3))
    _check_complete(app, client, 3000)  # 10 sync batches + 10 list chunks
    _check_within_limits(app, LIMITS)
    for code in ("606", "615", "611", "604", "502"):
        assert client.stats.codes[code] >= 1, code
    assert client.stats.retries == 7  # 5 on sync, 2 on list adds
    assert clock.monotonic() >= 20.0  # the 606 waited out the window


def test_604_after_the_write_is_resent_safely_for_upserts(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, faults=[Fault(route="leads", sequence=("604",), after=True)])
    client = app.client(clock=clock, limits=LIMITS)
    results = client.sync_leads(_records(10))
    # the first answer was lost after the write: the resend finds the leads and updates
    assert [r.status for r in results] == [RecordStatus.UPDATED] * 10
    assert app.lead_count() == 10


def test_create_duplicate_is_not_resent_after_604(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, faults=[Fault(route="leads", sequence=("604",), after=True)])
    client = app.client(clock=clock, limits=LIMITS)
    with pytest.raises(TransientMarketoError, match="not idempotent"):
        client.sync_leads(_records(10), action="createDuplicate")
    assert app.lead_count() == 10  # written once, not twice
    assert app.stats.calls_by_route["POST /rest/v1/leads.json"] == 1


def test_token_expiry_mid_run(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, token_ttl=3600)
    seen = {"n": 0}
    lock = threading.Lock()

    def expire_now_and_then(req: object) -> None:
        with lock:
            seen["n"] += 1
            if seen["n"] in (4, 13):
                app.expire_tokens()

    app.on_request = expire_now_and_then
    client = app.client(clock=clock, limits=LIMITS, retry=PATIENT)
    _check_complete(app, client, 3000)
    _check_within_limits(app, LIMITS)
    assert client.stats.auth_renewals >= 2
    assert app.stats.errors_by_code.get("602", 0) >= 2


def test_random_faults_over_loopback_stay_within_limits(clock: FakeClock) -> None:
    faults = [Fault(route="all", probability=0.15, codes=("604", "608", "611", "713", "502"))]
    limits = Limits(rate_calls=15, rate_window=20.0, max_concurrency=5)
    with MarketoSandbox(clock=clock, faults=faults, latency=0.003, seed=11) as sandbox:
        client = sandbox.client(clock=clock, limits=limits, retry=PATIENT)
        _check_complete(sandbox.app, client, 2400)
        _check_within_limits(sandbox.app, limits)
        assert sum(client.stats.codes.values()) >= 1
        client.close()


def test_sandbox_limits_tighter_than_client_are_survived(clock: FakeClock) -> None:
    """A client configured above the server's limits meets 606/615 and still finishes."""
    app = SandboxApp(clock=clock, rate_limit=(8, 20.0), max_concurrency=2)
    client = app.client(
        clock=clock,
        limits=Limits(rate_calls=50, rate_window=20.0, max_concurrency=6),
        retry=PATIENT,
    )
    _check_complete(app, client, 1500)
    assert client.stats.retries >= 1
    # the client learned the instance's real limits instead of thrashing
    assert client.limiter.concurrency < 6 or client.limiter.rate_calls < 50


def test_one_client_shared_by_many_worker_threads(clock: FakeClock) -> None:
    """Callers' own threads (not just sync_leads' pool) share one set of limits."""
    app = SandboxApp(clock=clock)
    client = app.client(clock=clock, limits=LIMITS)
    lst = client.create_list("Shared")
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for b in range(3):
                records = [{"email": f"w{w}b{b}n{i}@example.com"} for i in range(100)]
                ids = [r.id for r in client.sync_leads(records)]
                client.add_to_list(lst.id, ids)  # type: ignore[arg-type]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert app.lead_count() == 3000
    assert len(app.list_members(lst.id)) == 3000
    _check_within_limits(app, LIMITS)
    assert client.limiter.max_in_flight <= LIMITS.max_concurrency
    assert app.stats.errors_by_code == {}
