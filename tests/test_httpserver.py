"""The shared loopback server (cheroot): whole bodies, timeouts, limits, graceful stop.

No sleeps: a stalled or idle client is a real socket whose ``recv`` is bounded by a socket
timeout well above the server's (small) timeouts; the server closing it ends the wait.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from paragon_nb._serving import BackgroundServer, ServerOptions

WAIT = 10.0  # upper bound of any socket wait in these tests (the server acts far sooner)


class Echo:
    """Answers the body it got; counts the requests that reached it."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        self.calls += 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        if environ.get("PATH_INFO") == "/slow":
            self.entered.set()
            assert self.release.wait(WAIT)
        out = json.dumps({"length": length, "body": body.decode()}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
        )
        return [out]


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def server(echo: Echo) -> Iterator[BackgroundServer]:
    options = ServerOptions(threads=4, read_timeout=0.5, idle_timeout=0.5)
    with BackgroundServer(echo, options=options) as srv:
        yield srv


def _connect(server: BackgroundServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (bounded by WAIT)."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def _one_response(sock: socket.socket) -> bytes:
    """One whole answer with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _raw(server: BackgroundServer, payload: bytes, *, half_close: bool = False) -> bytes:
    with _connect(server) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return _read_all(sock)  # errors close the connection; others end at the idle timeout


def test_binds_loopback_and_plain_and_chunked_bodies_reach_the_app_alike(
    server: BackgroundServer,
) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    plain = httpx.post(server.url, content=b'{"a": 1}').json()
    assert plain == {"length": 8, "body": '{"a": 1}'}

    def stream() -> Iterator[bytes]:  # an iterator body makes httpx send it chunked
        yield b'{"input": '
        yield b"[1, 2, 3]}"

    chunked = httpx.post(server.url, content=stream()).json()
    assert chunked == {"length": 20, "body": '{"input": [1, 2, 3]}'}


def test_a_short_body_is_a_400_and_never_reaches_the_app(
    server: BackgroundServer, echo: Echo
) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    answer = _raw(server, head + b'{"cut": ', half_close=True)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"ended after 8 of the 100 bytes" in answer
    assert echo.calls == 0


def test_a_malformed_chunked_body_is_a_400(server: BackgroundServer, echo: Echo) -> None:
    answer = _raw(
        server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400") and echo.calls == 0


def test_body_and_header_limits_refuse_before_the_app(echo: Echo) -> None:
    options = ServerOptions(max_body_bytes=4, max_header_bytes=1024, idle_timeout=0.5)
    with BackgroundServer(echo, options=options) as srv:
        chunked = _raw(
            srv,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
        )
        plain = _raw(srv, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        big_header = _raw(srv, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 413")
    assert plain.startswith(b"HTTP/1.1 413")
    assert big_header.split(b" ", 2)[1] in (b"413", b"431")
    assert echo.calls == 0


def test_a_stalled_client_does_not_stop_others_and_is_dropped_after_the_read_timeout(
    server: BackgroundServer, echo: Echo
) -> None:
    with _connect(server) as stalled, httpx.Client(base_url=server.url) as http:
        stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        # while it stalls, others are served
        answers = [http.post("/", content=b"{}").status_code for _ in range(5)]
        assert answers == [200] * 5
        dropped = _read_all(stalled)  # returns once the server gives up on it
    assert dropped.startswith(b"HTTP/1.1 408")
    assert echo.calls == 5  # the stalled request never reached the app


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    server: BackgroundServer,
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = _one_response(sock)
        assert first.startswith(b"HTTP/1.1 200")
        assert b"Connection: close" not in first  # kept alive ...
        assert _read_all(sock) == b""  # ... until the idle timeout closes it


def test_many_requests_are_served_at_once(echo: Echo) -> None:
    barrier = threading.Barrier(12, timeout=WAIT)

    def app(environ: dict, start_response) -> list[bytes]:
        barrier.wait()  # passes only when all 12 are in flight together
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with BackgroundServer(app) as srv:
        codes: list[int] = []

        def call() -> None:
            codes.append(httpx.get(srv.url, timeout=WAIT).status_code)

        threads = [threading.Thread(target=call) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
    assert codes == [200] * 12


def test_stop_finishes_the_request_in_flight_then_refuses_new_ones(echo: Echo) -> None:
    srv = BackgroundServer(echo).start()
    port = srv.port
    echo.release.clear()
    result: list[int] = []
    client = threading.Thread(
        target=lambda: result.append(httpx.get(srv.url + "/slow", timeout=WAIT).status_code)
    )
    client.start()
    assert echo.entered.wait(WAIT)
    stopper = threading.Thread(target=srv.stop)
    stopper.start()
    echo.release.set()  # the app finishes while stop() waits for it
    stopper.join(WAIT)
    client.join(WAIT)
    assert not stopper.is_alive() and result == [200]
    assert not srv.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()


def test_a_taken_port_raises_oserror_and_options_are_checked(echo: Echo) -> None:
    with BackgroundServer(echo) as srv, pytest.raises(OSError):
        BackgroundServer(echo, port=srv.port).start()
    with pytest.raises(ValueError, match="read_timeout"):
        ServerOptions(read_timeout=0)


def test_a_malformed_request_line_is_logged_without_its_query(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="paragon_nb._serving"):
        answer = _raw(server, b"GET /identity/oauth/token?client_secret=s3cr3t HTTP/1.1 x\r\n\r\n")
        server.stop()
    assert answer.startswith(b"HTTP/1.1 400")
    assert "s3cr3t" not in caplog.text
