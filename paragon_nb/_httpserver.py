"""A small threaded WSGI server on loopback, run in a background thread.

Shared by the sandbox (local Marketo) and the runtime's REST server. One thread per
request (daemon threads), so it serves many concurrent clients; binds 127.0.0.1 by
default; port 0 picks a free port::

    server = BackgroundServer(app).start()
    print(server.url)          # http://127.0.0.1:54321
    server.stop()

CLIs run ``start()`` and then wait in the main thread for a signal (a ``threading.Event``
set by the SIGINT/SIGTERM handler) before calling ``stop()``.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["BackgroundServer", "ThreadingWSGIServer"]

log = logging.getLogger(__name__)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    """wsgiref logs every request to stderr; send it to logging at DEBUG instead.

    The request line can carry secrets (identity's client_secret, access_token query
    parameters), so the query string is never logged.
    """

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = self.path.split("?", 1)[0]
        log.debug("%s %s -> %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class BackgroundServer:
    """Serve a WSGI app on ``host:port`` in a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("server is not running; call start() first")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> BackgroundServer:
        if self._server is not None:
            return self
        self._server = make_server(
            self.host,
            self.port,
            self.app,
            server_class=ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"paragon-nb-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # shutdown() blocks until serve_forever returns: never call it from that thread.
        if self._thread is not None and self._thread is not threading.current_thread():
            server.shutdown()
            self._thread.join(timeout=5)
        server.server_close()
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
