"""Limits (606/615/607), what counts, faults, and the usage/errors stats endpoints."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox import Fault, SandboxApp, parse_fault

from .conftest import make_api

DESCRIBE = "/rest/v1/leads/describe.json"


def _code(res: dict) -> str | None:
    return None if res.get("success") else res["errors"][0]["code"]


def test_rate_window_606_then_recovers(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, rate_limit=(5, 20.0))
    api = make_api(app)
    assert [_code(api.get(DESCRIBE)) for _ in range(5)] == [None] * 5
    res = api.get(DESCRIBE)
    assert res["errors"] == [
        {"code": "606", "message": "Max rate limit '5' exceeded with in '20' secs"}
    ]
    clock.advance(19.9)
    assert _code(api.get(DESCRIBE)) == "606"
    clock.advance(0.2)  # the first calls slide out of the window
    assert _code(api.get(DESCRIBE)) is None
    assert app.stats.max_calls_in_window == 5 and app.stats.errors_by_code["606"] == 2


def test_uncounted_codes_do_not_use_the_window_or_quota(clock: FakeClock) -> None:
    app = SandboxApp(
        clock=clock,
        rate_limit=(2, 20.0),
        daily_quota=2,
        faults=[Fault(route="describe", sequence=("604", "611", "608", "502"))],
    )
    api = make_api(app)
    assert [_code(api.get(DESCRIBE)) for _ in range(3)] == ["604", "611", "608"]
    assert api.request("GET", DESCRIBE).status_code == 502
    assert [_code(api.get(DESCRIBE)) for _ in range(2)] == [None, None]
    assert app.stats.counted_calls == 2 and app.stats.calls_total == 6
    usage = api.get("/rest/v1/stats/usage.json")
    assert _code(usage) == "607"  # quota is checked before the (also full) window


def test_concurrency_615_with_calls_held_in_flight(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, max_concurrency=3, rate_limit=None)
    api = make_api(app)
    api.token()
    entered = threading.Semaphore(0)
    release = threading.Event()

    def hold(req) -> None:
        entered.release()
        assert release.wait(10)

    app.on_request = hold
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(_code(make_api_with(api).get(DESCRIBE))))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for _ in range(3):
        assert entered.acquire(timeout=10)
    assert _code(api.get(DESCRIBE)) == "615"
    release.set()
    for t in threads:
        t.join(10)
    assert results == [None, None, None]
    assert app.stats.max_in_flight == 3 and app.stats.errors_by_code["615"] == 1
    app.on_request = None
    assert _code(api.get(DESCRIBE)) is None


def make_api_with(api):
    other = make_api(api.app)
    other._token = api.token()
    return other


def test_daily_quota_607_resets_at_central_midnight(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, daily_quota=3, rate_limit=None)
    api = make_api(app)
    assert [_code(api.get(DESCRIBE)) for _ in range(4)] == [None, None, None, "607"]
    # FakeClock starts 2026-01-01T00:00Z = 18:00 Central: 6 hours to the reset
    clock.advance(6 * 3600 + 1)
    api._token = None
    assert _code(api.get(DESCRIBE)) is None


def test_set_limits_at_run_time(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, rate_limit=None)
    api = make_api(app)
    app.set_limits(rate_limit=(1, 20.0))
    assert [_code(api.get(DESCRIBE)) for _ in range(2)] == [None, "606"]
    app.set_limits(rate_limit=None, token_ttl=10)
    assert _code(api.get(DESCRIBE)) is None


def test_fault_sequence_envelope_pass_and_gateway_html(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, faults=[Fault(route="leads", sequence=("606", None, "502"))])
    api = make_api(app)
    body = {"input": [{"email": "f@x.com"}]}
    assert _code(api.post("/rest/v1/leads.json", json=body)) == "606"
    assert api.post("/rest/v1/leads.json", json=body)["result"][0]["status"] == "created"
    r = api.request("POST", "/rest/v1/leads.json", json=body)
    assert (
        r.status_code == 502
        and r.headers["content-type"] == "text/html"
        and "Bad Gateway" in r.text
    )
    assert api.post("/rest/v1/leads.json", json=body)["result"][0]["status"] == "updated"
    assert _code(api.get(DESCRIBE)) is None  # other routes unaffected


def test_fault_after_the_write_happened(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, faults=["leads:seq=604:after"])
    api = make_api(app)
    assert _code(api.post("/rest/v1/leads.json", json={"input": [{"email": "g@x.com"}]})) == "604"
    assert app.lead_count() == 1


def test_fault_probability_is_seeded(clock: FakeClock) -> None:
    def run(seed: int) -> list[str | None]:
        app = SandboxApp(
            clock=clock,
            rate_limit=None,
            seed=seed,
            faults=[Fault(route="describe", probability=0.3, codes=("606", "615"))],
        )
        api = make_api(app)
        return [_code(api.get(DESCRIBE)) for _ in range(100)]

    first = run(7)
    assert first == run(7)
    fired = [c for c in first if c]
    assert 10 <= len(fired) <= 50 and set(fired) == {"606", "615"}


def test_stats_endpoints_count_calls_and_errors(clock: FakeClock) -> None:
    app = SandboxApp(clock=clock, rate_limit=None, faults=["describe:seq=713"])
    api = make_api(app)
    api.get(DESCRIBE)
    api.get(DESCRIBE)
    usage = api.get("/rest/v1/stats/usage.json")["result"]
    assert usage == [
        {"date": "2025-12-31", "total": 3, "users": [{"userId": "apis@sandbox.local", "count": 3}]}
    ]
    errors = api.get("/rest/v1/stats/errors.json")["result"][0]
    assert errors["errors"] == [{"errorCode": "713", "count": 1}] and errors["total"] == 1
    assert len(api.get("/rest/v1/stats/usage/last7days.json")["result"]) == 7
    assert app.stats.calls_by_route["GET " + DESCRIBE] == 2
    app.reset_stats()
    assert app.stats.calls_total == 0


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("leads:p=0.1:606,615", Fault(route="leads", probability=0.1, codes=("606", "615"))),
        ("leads:seq=606,ok,502", Fault(route="leads", sequence=("606", None, "502"))),
        ("*:p=1", Fault(route="*", probability=1.0, codes=("606",))),
        ("bulk:seq=1016:after", Fault(route="bulk", sequence=("1016",), after=True)),
    ],
)
def test_parse_fault(spec: str, expected: Fault) -> None:
    assert parse_fault(spec) == expected


@pytest.mark.parametrize(
    "spec", ["leads", "leads:x=1", "leads:p=abc:606", "leads:p=2:606", "leads:seq=60x"]
)
def test_parse_fault_errors_name_the_spec(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="fault"):
        parse_fault(spec)


@given(st.text(max_size=40))
def test_parse_fault_only_raises_configuration_errors(spec: str) -> None:
    try:
        parse_fault(spec)
    except ConfigurationError:
        pass


def test_route_matching() -> None:
    assert Fault(route="members").matches("/rest/v1/lists/5/leads.json")
    assert Fault(route="members").matches("/rest/v1/list/5/leads.json")
    assert not Fault(route="leads").matches("/rest/v1/lists/5/leads.json")
    assert Fault(route="/bulk/*/batch/*").matches("/bulk/v1/leads/batch/3.json")
    assert Fault(route="staticList").matches("/rest/asset/v1/staticList/3.json")


def test_file_backed_sandbox_keeps_its_daily_quota_across_restarts(
    clock: FakeClock, isolated_env
) -> None:
    path = isolated_env / "quota.sqlite3"
    first = SandboxApp(state=path, clock=clock, daily_quota=2, rate_limit=None)
    api = make_api(first)
    assert [_code(api.get(DESCRIBE)) for _ in range(2)] == [None, None]
    first.state.close()
    second = SandboxApp(state=path, clock=clock, daily_quota=2, rate_limit=None)
    again = make_api(second)
    again._token = api.token()  # tokens persist too
    assert _code(again.get(DESCRIBE)) == "607"
    assert (
        again.get("/rest/v1/stats/errors.json")["success"] is False
    )  # quota applies to stats calls too
    second.state.close()
    assert SandboxApp(state=path, clock=clock).gate.usage.error_rows([second.gate.days(1)[0]])[0][
        "errors"
    ] == [{"errorCode": "607", "count": 2}]


def test_fault_codes_given_as_one_string() -> None:
    assert Fault(codes="606,615").codes == ("606", "615")
    assert Fault(sequence="606,ok").sequence == ("606", None)


def test_quota_day_follows_us_central_daylight_saving_like_the_client() -> None:
    from datetime import UTC, datetime

    from paragon_nb.marketo.limits import next_quota_reset
    from paragon_nb.sandbox.limits import Usage

    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 07:00 CDT
    reset = next_quota_reset(summer)  # 2026-07-02 00:00 CDT = 05:00Z
    assert reset.astimezone(UTC).hour == 5
    before, after = Usage.day(reset.timestamp() - 1), Usage.day(reset.timestamp())
    assert (before.isoformat(), after.isoformat()) == ("2026-07-01", "2026-07-02")
