"""The shared loopback server: chunked request bodies reach the app decoded."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from paragon_nb import _httpserver
from paragon_nb._httpserver import BackgroundServer


def echo(environ: dict, start_response) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    out = json.dumps({"length": length, "body": body.decode()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [out]


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(echo) as srv:
        yield srv


def test_plain_and_chunked_bodies_reach_the_app_alike(server: BackgroundServer) -> None:
    plain = httpx.post(server.url, content=b'{"a": 1}').json()
    assert plain == {"length": 8, "body": '{"a": 1}'}

    def stream() -> Iterator[bytes]:  # an iterator body makes httpx send it chunked
        yield b'{"input": '
        yield b"[1, 2, 3]}"

    chunked = httpx.post(server.url, content=stream()).json()
    assert chunked == {"length": 20, "body": '{"input": [1, 2, 3]}'}


def _raw(server: BackgroundServer, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(65536)


def test_malformed_chunked_body_is_a_400(server: BackgroundServer) -> None:
    answer = _raw(
        server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.0 400")


def test_oversized_chunked_body_is_a_413(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_httpserver, "MAX_CHUNKED_BODY", 4)
    answer = _raw(
        server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.0 413")


def test_a_malformed_request_line_is_logged_without_its_query(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="paragon_nb._httpserver"):
        answer = _raw(server, b"GET /identity/oauth/token?client_secret=s3cr3t HTTP/1.1 x\r\n\r\n")
        server.stop()  # joins the handler thread, so its log line is in
    assert b"Error code: 400" in answer  # an HTTP/0.9-style answer: no status line
    assert "Bad request" in caplog.text
    assert "s3cr3t" not in caplog.text
