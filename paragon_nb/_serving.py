"""Serve a WSGI app on loopback with cheroot (CherryPy's production HTTP server), in a thread.

Shared by the sandbox (local Marketo) and the runtime's REST server. A pool of worker
threads serves many concurrent requests; idle keep-alive connections wait in cheroot's
selector, not in a thread. Binds 127.0.0.1 by default; port 0 picks a free port::

    server = BackgroundServer(app).start()
    print(server.url)          # http://127.0.0.1:54321
    server.stop()              # finishes the requests in flight, then returns

What the app can rely on (:class:`ServerOptions` sets the numbers):

- the whole body is read before the app is called: a body shorter than its Content-Length
  is answered 400 and the app never sees the request; a chunked body arrives decoded, with
  a Content-Length, like any other;
- a client that stalls inside a request for ``read_timeout`` seconds is answered 408 and
  dropped; a keep-alive connection idle for ``idle_timeout`` seconds is closed;
- headers over ``max_header_bytes`` and bodies over ``max_body_bytes`` are refused (413)
  before they are read (an app may set a smaller limit of its own, as the REST app does).

CLIs run ``start()`` and wait in the main thread for a signal before calling ``stop()``.
Nothing here logs a query string: it may carry client_secret or access_token.
"""

from __future__ import annotations

import io
import json
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cheroot import connections, errors, wsgi

from paragon_nb.errors import ConfigurationError

__all__ = ["BackgroundServer", "ServerOptions", "cannot_bind", "until_signalled"]

log = logging.getLogger(__name__)

# A query string inside a logged line: it may carry client_secret or access_token.
_QUERY = re.compile(r"\?[^\s'\"]*")


@dataclass(frozen=True)
class ServerOptions:
    """Limits and sizes of one server (seconds, bytes)."""

    threads: int = 32  # requests at once (the sandbox must exceed Marketo's 10 in flight)
    read_timeout: float = 10.0  # a request (line, headers, body) stalled this long -> 408, dropped
    idle_timeout: float = 30.0  # a keep-alive connection with no request this long is closed
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 64 * 1024 * 1024  # transport cap; the REST app refuses > 1 MB itself
    shutdown_timeout: float = 10.0  # stop() waits this long for requests in flight
    keep_alive_connections: int = 1024  # idle keep-alive connections kept open at once
    backlog: int = 128  # connections queued by the kernel before accept

    def __post_init__(self) -> None:
        for name in ("threads", "max_header_bytes", "max_body_bytes", "keep_alive_connections"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ServerOptions.{name} must be > 0, got {getattr(self, name)}")
        for name in ("read_timeout", "idle_timeout", "shutdown_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"ServerOptions.{name} must be > 0 seconds, got {getattr(self, name)}"
                )


class _IdleExpiry(connections.ConnectionManager):
    """cheroot closes idle keep-alive connections after its socket timeout; ours after
    ``idle_timeout`` (the socket timeout stays the read timeout)."""

    def _expire(self, threshold: float) -> None:
        server = self.server
        super()._expire(threshold + server.timeout - server.idle_timeout)


class _Server(wsgi.Server):
    idle_timeout = 30.0
    expiration_interval = 0.1  # the selector's wake-up: idle expiry and stop() latency

    def prepare(self) -> None:
        super().prepare()
        self._connections.__class__ = _IdleExpiry

    @staticmethod
    def bind_socket(socket_: Any, bind_addr: Any) -> Any:
        try:
            return wsgi.Server.bind_socket(socket_, bind_addr)
        except OSError:
            socket_.close()  # cheroot would leave the unbound socket open (a ResourceWarning)
            raise

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """cheroot writes these to stderr; they go to logging, query strings hidden."""
        log.log(
            logging.WARNING if level >= logging.WARNING else logging.DEBUG,
            "http: %s",
            _QUERY.sub("?<query hidden>", str(msg)),
            exc_info=traceback,
        )


def _plain_error(start_response: Callable, status: str, message: str) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    return [body]


class _WholeBody:
    """WSGI middleware: read the request body completely before the app runs.

    A short body (the client closed before Content-Length bytes) is a 400 the app never
    sees, so nothing is recorded from a cut-short request. A stalled one raises the read
    timeout inside cheroot, which answers 408. Chunked bodies are decoded here (cheroot's
    reader enforces ``max_body_bytes``) and handed on with a Content-Length.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            try:
                body = stream.read()
            except OSError as exc:
                if "Too Large" not in str(exc):  # cheroot's over-max_body_bytes signal
                    raise  # a read timeout: cheroot answers 408
                return _plain_error(
                    start_response,
                    "413 Payload Too Large",
                    f"chunked body over {stream.maxlen} bytes; send a smaller payload",
                )
            except ValueError as exc:  # a bad chunk-size line
                return _plain_error(
                    start_response, "400 Bad Request", f"malformed chunked body: {exc}"
                )
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        else:
            raw = environ.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw)
            except ValueError:
                length = -1
            if length < 0:
                return _plain_error(
                    start_response, "400 Bad Request", f"bad Content-Length {raw[:20]!r}"
                )
            body = _read_exactly(stream, length)
            if len(body) < length:
                return _plain_error(
                    start_response,
                    "400 Bad Request",
                    f"the body ended after {len(body)} of the {length} bytes its "
                    "Content-Length announced; nothing was done, send the request again",
                )
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _read_exactly(stream: Any, length: int) -> bytes:
    chunks, remaining = [], length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class BackgroundServer:
    """Serve a WSGI app on ``host:port`` in a daemon thread until :meth:`stop`."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        options: ServerOptions | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.options = options or ServerOptions()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server is not running; call start() first")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> BackgroundServer:
        """Bind and serve (no-op when running). Raises OSError if the port is taken."""
        if self._server is not None:
            return self
        opts = self.options
        server = _Server(
            (self.host, self.port),
            _WholeBody(self.app),
            numthreads=opts.threads,
            request_queue_size=opts.backlog,
            timeout=opts.read_timeout,
            shutdown_timeout=opts.shutdown_timeout,
        )
        server.idle_timeout = opts.idle_timeout
        server.max_request_header_size = opts.max_header_bytes
        server.max_request_body_size = opts.max_body_bytes
        server.keep_alive_conn_limit = opts.keep_alive_connections
        server.prepare()  # binds: an OSError surfaces here, in the caller's thread
        self.port = server.bind_addr[1]
        self._server = server
        self._thread = threading.Thread(
            target=self._serve, args=(server,), name=f"paragon-nb-http-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    @staticmethod
    def _serve(server: _Server) -> None:
        try:
            server.serve()
        except errors.FatalSSLAlert:  # pragma: no cover - no TLS here
            pass

    def stop(self) -> None:
        """Stop accepting, finish the requests in flight (up to ``shutdown_timeout``), close.

        Idempotent; safe to call from any thread but a worker of this server.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.options.shutdown_timeout)
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def until_signalled() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set the yielded event (a CLI serves until then); the previous
    handlers are back afterwards. Main thread only."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def cannot_bind(host: str, port: object, exc: OSError) -> ConfigurationError:
    """What a CLI says when its ``--host``/``--port`` cannot be bound (taken, privileged)."""
    return ConfigurationError(
        f"cannot serve on {host}:{port}: {exc.strerror or exc}; "
        "pick another --port (0 = any free port)"
    )
