"""Secrets (client secret, access tokens) never appear in reprs, errors or logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paragon_nb._clock import FakeClock
from paragon_nb._redact import Redactor
from paragon_nb.errors import MarketoError

from .fake import SECRET, FakeMarketo, make_client, ok


def test_masker_patterns() -> None:
    masker = Redactor("abc123")
    assert masker("x abc123 y") == "x *** y"
    assert masker("?client_secret=zzz&access_token=tok1&a=1") == (
        "?client_secret=***&access_token=***&a=1"
    )
    assert masker("Authorization: Bearer tok-1:int") == "Authorization: Bearer ***"
    assert masker('{"access_token":"t"}') == '{"access_token":"***"}'


def _leaky(fake: FakeMarketo, token_holder: list[str]) -> None:
    """A server that echoes secrets back in its error messages."""

    @fake.route("GET", "/rest/v1/lead/1.json")
    def echo(request: httpx.Request, body: object) -> dict:
        token = request.headers["authorization"].split()[1]
        token_holder.append(token)
        return {
            "requestId": "1#2",
            "success": False,
            "errors": [{"code": "1003", "message": f"bad token {token} secret {SECRET}"}],
        }


def test_error_messages_mask_secret_and_token(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeMarketo(clock)
    tokens: list[str] = []
    _leaky(fake, tokens)
    client = make_client(fake)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MarketoError) as info:
        client.get_lead(1)
    text = str(info.value) + repr(info.value) + info.value.message
    assert tokens and tokens[0] not in text
    assert SECRET not in text
    assert "***" in text
    assert SECRET not in caplog.text and tokens[0] not in caplog.text
    assert SECRET not in repr(client) and SECRET not in repr(client.stats)


def test_network_error_message_masks_secret(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    fake = FakeMarketo(clock)
    client = make_client(fake)
    client._client._transport = httpx.MockTransport(handler)  # identity itself unreachable
    with pytest.raises(MarketoError) as info:
        client.get_lead(1)
    assert SECRET not in str(info.value)
    assert "client_secret=***" in str(info.value)


def test_retry_logs_do_not_leak(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeMarketo(clock)
    fake.route("GET", "/rest/v1/lead/1.json")(lambda r, b: ok([{"id": 1}]))
    fake.script["/rest/v1/lead/1.json"] = ["611"]
    client = make_client(fake)
    caplog.set_level(logging.DEBUG)
    client.get_lead(1)
    assert "retrying" in caplog.text
    assert SECRET not in caplog.text
    assert all(t not in caplog.text for t in fake.tokens)


@given(
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=6, max_size=40),
    before=st.text(max_size=50),
    after=st.text(max_size=50),
)
def test_registered_secrets_never_survive_masking(secret: str, before: str, after: str) -> None:
    masker = Redactor()
    masker.add(secret)
    assert secret not in masker(f"{before}{secret}{after}?client_secret={secret}")
