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

import io
import logging
import re
import socketserver
import threading
from typing import Any, BinaryIO
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

__all__ = ["MAX_CHUNKED_BODY", "BackgroundServer", "ThreadingWSGIServer"]

log = logging.getLogger(__name__)

# A chunked request body is read whole before the app sees it; refuse bigger ones (413).
MAX_CHUNKED_BODY = 64 * 1024 * 1024


# A query string inside a logged line: it may carry client_secret or access_token.
_QUERY = re.compile(r"\?[^\s'\"]*")


class _BodyTooLarge(Exception):
    pass


def _read_chunked(rfile: BinaryIO, *, limit: int | None = None) -> bytes:
    """Decode a ``Transfer-Encoding: chunked`` body (RFC 9112 §7.1); trailers are skipped."""
    limit = MAX_CHUNKED_BODY if limit is None else limit
    body = bytearray()
    while True:
        line = rfile.readline(1026)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            while rfile.readline(8194) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return bytes(body)
        if len(body) + size > limit:
            raise _BodyTooLarge
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise ValueError("connection closed inside a chunk")
        body += chunk
        rfile.readline(3)  # the CRLF after each chunk


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
        # a malformed request line is answered (send_error) before path/command are set
        path = getattr(self, "path", "").split("?", 1)[0]
        log.debug("%s %s -> %s", getattr(self, "command", None) or "-", path, code)

    def log_message(self, format: str, *args: Any) -> None:
        # error lines can quote the raw request line ("Bad request syntax ('GET /x?...')")
        log.debug("http: %s", _QUERY.sub("?<query hidden>", format % args))

    def handle(self) -> None:
        """wsgiref's ``handle`` plus chunked request bodies, which wsgiref passes through
        undecoded (httpx and curl send them for streamed uploads): the app then sees a
        plain body with a Content-Length, as for any other request."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        environ = self.get_environ()
        stdin: BinaryIO = self.rfile
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                body = _read_chunked(self.rfile)
            except _BodyTooLarge:
                self.send_error(413, f"chunked body over {MAX_CHUNKED_BODY} bytes")
                return
            except ValueError as exc:
                self.send_error(400, f"malformed chunked body: {exc}")
                return
            stdin = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        handler = ServerHandler(stdin, self.wfile, self.get_stderr(), environ, multithread=False)
        handler.request_handler = self  # type: ignore[attr-defined]  # wsgiref's log hook
        handler.run(self.server.get_app())  # type: ignore[attr-defined]


class BackgroundServer:
    """Serve a WSGI app on ``host:port`` in a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

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
