"""Auth flow: token cache, early renewal, 601/602 renew-and-resend, identity 401, threads."""

from __future__ import annotations

import threading

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import MarketoAuthError

from .fake import CLIENT_ID, SECRET, FakeMarketo, make_client, ok


@pytest.fixture
def fake(clock: FakeClock) -> FakeMarketo:
    fake = FakeMarketo(clock)
    fake.route("GET", "/rest/v1/lead/1.json")(lambda req, body: ok([{"id": 1}]))
    return fake


def test_one_token_for_many_calls_sent_as_bearer_header(fake: FakeMarketo) -> None:
    client = make_client(fake)
    for _ in range(5):
        assert client.get_lead(1) == {"id": 1}
    assert fake.identity_calls == 1
    assert client.stats.tokens_fetched == 1
    for req in fake.rest_requests():
        assert req.headers["authorization"].startswith("Bearer tok-")
        assert "access_token" not in str(req.url)


def test_renews_when_less_than_60_seconds_left(fake: FakeMarketo, clock: FakeClock) -> None:
    client = make_client(fake)
    client.get_lead(1)
    clock.advance(3600 - 61)
    client.get_lead(1)
    assert fake.identity_calls == 1
    clock.advance(2)  # 59 s left: renew before using it
    client.get_lead(1)
    assert fake.identity_calls == 2
    assert client.stats.codes == {}  # never met a 602


@pytest.mark.parametrize("code", ["601", "602"])
def test_token_refused_mid_run_is_renewed_once_and_resent(
    fake: FakeMarketo, clock: FakeClock, code: str
) -> None:
    client = make_client(fake)
    client.get_lead(1)
    first = next(iter(fake.tokens))
    if code == "601":
        fake.revoked.add(first)
    else:
        fake.tokens[first] = clock.time()  # server-side expiry our clock did not foresee
    assert client.get_lead(1) == {"id": 1}
    assert client.stats.auth_renewals == 1
    assert fake.identity_calls == 2
    last = fake.rest_requests()[-1]
    assert last.headers["authorization"] != f"Bearer {first}"


def test_second_auth_failure_raises_auth_error(fake: FakeMarketo) -> None:
    client = make_client(fake)
    client.get_lead(1)
    fake.script["/rest/v1/lead/1.json"] = ["601", "601"]
    with pytest.raises(MarketoAuthError, match="601"):
        client.get_lead(1)
    assert client.stats.retries == 0


def test_identity_401_names_client_id_and_hides_secret(clock: FakeClock) -> None:
    fake = FakeMarketo(clock)
    fake.identity_status = 401
    client = make_client(fake)
    with pytest.raises(MarketoAuthError) as info:
        client.get_lead(1)
    text = str(info.value)
    assert CLIENT_ID in text
    assert "check the client id and secret" in text
    assert SECRET not in text
    assert info.value.http_status == 401
    assert fake.identity_calls == 1  # final: not retried


def test_identity_without_token_points_at_identity_url(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"requestId": "x#y", "success": False})

    from paragon_nb.marketo.client import MarketoClient

    client = MarketoClient(
        "https://h.example/rest",
        "id",
        "secret",
        transport=httpx.MockTransport(handler),
        clock=clock,
    )
    with pytest.raises(MarketoAuthError, match="MARKETO_IDENTITY"):
        client.describe()


def test_many_threads_fetch_one_token(fake: FakeMarketo) -> None:
    client = make_client(fake)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(10)
            client.get_lead(1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake.identity_calls == 1


def test_many_threads_after_revocation_renew_once(fake: FakeMarketo) -> None:
    client = make_client(fake)
    client.get_lead(1)
    fake.revoked.add(next(iter(fake.tokens)))
    threads = [threading.Thread(target=client.get_lead, args=(1,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.identity_calls == 2


def test_token_cache_shared_between_clients_of_one_instance(fake: FakeMarketo) -> None:
    from paragon_nb.marketo.auth import TokenCache

    cache = TokenCache()
    first = make_client(fake, token_cache=cache)
    second = make_client(fake, token_cache=cache)
    first.get_lead(1)
    second.get_lead(1)
    assert fake.identity_calls == 1
    assert second.stats.tokens_fetched == 0
    assert "tok-" not in repr(cache.get(CLIENT_ID))  # the token value stays hidden
