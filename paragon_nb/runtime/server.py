"""The REST face of a local :class:`~paragon_nb.runtime.project.Project`, on Paragon's paths.

A plain WSGI app (:class:`RestApp`) over one project, served on loopback by cheroot
(:func:`serve_project`, :mod:`paragon_nb._serving`) or called in-process through
``httpx.WSGITransport`` by the SDK mirror. Every ``/sdk`` route needs
``Authorization: Bearer <user token>``, verified against the project's signing key; the
Task History API (``/task-history/...``) needs ``Bearer <project API key>`` instead::

    with serve_project(project) as handle:
        httpx.post(f"{handle.url}/projects/{project.id}/sdk/events/trigger",
                   headers={"Authorization": f"Bearer {token}"},
                   json={"name": "Lead Created", "payload": {...}})     # -> 201

Errors are JSON ``{"message": ...}``: 401 bad/missing token, 404 unknown project or
route, 405 wrong verb, 400 malformed request, 409 enable/disable conflicts, 413 body over
``max_body``, 422 field errors of a strict project, 429 the project's queued-run bound is
reached (``Retry-After`` in whole seconds; nothing recorded), 502 Marketo unreachable.
Checks run in that order: route and project (404), verb (405), token (401), size (413),
body (400), so a refused request never reaches the project. Tokens never reach a log line.
Routes and their handlers live in :mod:`paragon_nb.runtime.routes`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

from paragon_nb._serving import BackgroundServer, ServerOptions
from paragon_nb.errors import (
    BackpressureError,
    EventValidationError,
    NotFoundError,
    ParagonError,
    TokenError,
    TransientMarketoError,
)
from paragon_nb.runtime.apikeys import looks_like_api_key
from paragon_nb.runtime.cors import LOOPBACK, CorsPolicy
from paragon_nb.runtime.http import Handler, HTTPError, RawResponse, Request
from paragon_nb.runtime.routes import API_KEY_ROUTES, ROUTES

__all__ = [
    "DEFAULT_MAX_BODY",
    "HTTPError",
    "Request",
    "RestApp",
    "ServerHandle",
    "serve_project",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1_000_000
_PREFIX = re.compile(r"^/(?:v2/)?projects/(?P<pid>[^/]+)(?P<rest>/.*)?$")
#: who may call a route: a Connected User (RS256 user token) or the project (an API key)
USER, API_KEY = "user", "api_key"
#: each door: (the credential it takes, its 401 for the other door's credential)
_DOORS = {
    USER: (
        "user token",
        "SDK routes take a Connected User's token (RS256 JWT); a project API key only "
        "opens the Task History API",
    ),
    API_KEY: (
        "project API key",
        "the Task History API takes a project API key (project.create_api_key()), not a user token",
    ),
}
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    403: "Forbidden",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# What paragon.connect() shows when the SDK's CONNECT_PUBLIC_URL points here: Paragon's
# hosted portal is not part of the local runtime.
_PORTAL_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>Connect Portal</title>"
    b"<body style='font:16px sans-serif;margin:2em;background:#fff'>"
    b"<h1>The Connect Portal is not served by the local runtime</h1>"
    b"<p>Connect Marketo in the notebook's Connect Portal "
    b"(<code>Paragon(project).connect('marketo')</code>) or with "
    b"<code>project.connect_user(...)</code>; this app's frontend then sees the "
    b"connection through the SDK (<code>getUser()</code>).</p></body>"
)


class RestApp:
    """WSGI app serving one project's ``/projects/{id}/sdk/...`` routes.

    ``max_body`` caps request bodies (413 above it). ``cors_origins``: the browser origins
    allowed to call it (:mod:`~paragon_nb.runtime.cors`; default: pages on this machine).
    The project must offer ``id`` and ``verify_user_token(token) -> claims`` plus what
    each route calls.
    """

    def __init__(
        self,
        project: Any,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        cors_origins: str | Sequence[str] | None = LOOPBACK,
    ) -> None:
        if max_body <= 0:
            raise ValueError(f"max_body must be a positive number of bytes, got {max_body}")
        self.project = project
        self.max_body = max_body
        self.cors = CorsPolicy(cors_origins)
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler], str]] = [
            *((re.compile(f"^/sdk{pattern}$"), methods, USER) for pattern, methods in ROUTES),
            *(
                (re.compile(f"^{pattern}$"), methods, API_KEY)
                for pattern, methods in API_KEY_ROUTES
            ),
        ]

    # ------------------------------------------------------------------------- WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        if path == "/ui" and method == "GET":  # the SDK's portal iframe (CONNECT_PUBLIC_URL)
            page_headers = [("Content-Type", "text/html; charset=utf-8")]
            start_response("200 OK", [*page_headers, ("Content-Length", str(len(_PORTAL_PAGE)))])
            return [_PORTAL_PAGE]
        origin = environ.get("HTTP_ORIGIN")
        headers: list[tuple[str, str]] = self.cors.answer_headers(origin)
        try:
            if method == "OPTIONS":
                status, body = self._preflight(environ, path, origin, headers)
            else:
                status, body = self._dispatch(environ, method, path, headers)
        except HTTPError as exc:
            status, body = exc.status, {"message": exc.message, **exc.extra}
            headers += exc.headers.items()
        except Exception:  # the server must answer; the traceback goes to the log
            log.exception("%s %s failed", method, _loggable(path))
            status, body = 500, {"message": "internal error in the local Paragon runtime"}
        log.debug("%s %s -> %s", method, _loggable(path), status)
        if isinstance(body, RawResponse):
            payload, content_type = body.body, body.content_type
        else:
            payload, content_type = b"" if status == 204 else json.dumps(body).encode(), None
        headers += [
            ("Content-Type", content_type or "application/json"),
            ("Content-Length", str(len(payload))),
        ]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _preflight(
        self, environ: dict[str, Any], path: str, origin: str | None, out_headers: list
    ) -> tuple[int, Any]:
        """``OPTIONS``: 204 with the route's methods (and the CORS answer for a browser)."""
        _, methods, _ = self._route(path)
        if origin and not self.cors.allows(origin):
            raise HTTPError(
                403,
                f"origin {origin!r} may not call this runtime; serve it with "
                f"cors_origins=[{origin!r}] (paragon-nb serve --cors-origin {origin})",
            )
        out_headers.append(("Allow", ", ".join(sorted({*methods, "OPTIONS"}))))
        if origin:
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            out_headers += self.cors.preflight_headers(methods, requested)
        return 204, None

    def _route(self, path: str) -> tuple[re.Match[str], dict[str, Handler], str]:
        """The route of ``path`` and who may call it (HTTPError 404 naming what is wrong)."""
        match = _PREFIX.match(path)
        if match is None:
            raise HTTPError(
                404,
                f"no route for {_loggable(path)}; routes start /projects/{{id}}/sdk "
                "(or /projects/{id}/task-history)",
            )
        if match["pid"] != str(self.project.id):
            raise HTTPError(
                404, f"unknown project {match['pid']!r}; check the project id in the URL"
            )
        rest = match["rest"] or "/"
        for pattern, methods, auth in self._routes:
            found = pattern.match(rest)
            if found is not None:
                return found, methods, auth
        if rest.startswith("/sdk/") or rest == "/sdk":
            rest = rest[4:] or "/"
            raise HTTPError(404, f"no route for {_loggable(rest)} under /projects/{{id}}/sdk")
        raise HTTPError(404, f"no route for {_loggable(rest)} under /projects/{{id}}")

    def _dispatch(
        self, environ: dict[str, Any], method: str, path: str, out_headers: list
    ) -> tuple[int, Any]:
        found, methods, auth = self._route(path)
        handler = methods.get(method)
        if handler is None:
            allowed = ", ".join(sorted({*methods, "OPTIONS"}))
            out_headers.append(("Allow", allowed))
            raise HTTPError(405, f"{method} is not allowed on {found.string}; use {allowed}")
        request = Request(
            method=method,
            path=found.string,
            params=found.groupdict(),
            headers=_headers(environ),
            query={k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()},
        )
        self._authenticate(request, environ, auth)
        request.body = self._read_body(environ)
        return self._call(handler, request)

    def _authenticate(self, request: Request, environ: dict[str, Any], auth: str) -> None:
        """A user token on ``/sdk`` routes, a project API key on the Task History API; each
        door refuses the other's credential by name (401)."""
        what, refusal = _DOORS[auth]
        raw = environ.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, token = raw.partition(" ")
        if not raw:
            raise HTTPError(401, f"missing 'Authorization: Bearer <{what}>' header")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPError(401, f"the Authorization header must be 'Bearer <{what}>'")
        token = token.strip()
        if looks_like_api_key(token) != (auth == API_KEY):
            raise HTTPError(401, refusal)
        try:
            if auth == API_KEY:
                request.claims = {"api_key": self.project.verify_api_key(token)}
            else:
                request.claims = self.project.verify_user_token(token)
                request.sub = str(request.claims["sub"])
        except TokenError as exc:
            raise HTTPError(401, str(exc)) from None

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The body (the server has read it whole; a cut-short one never gets here)."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.max_body:
            raise HTTPError(
                413,
                f"request body of {length} bytes is over the {self.max_body}-byte limit; "
                "send a smaller payload",
            )
        return environ["wsgi.input"].read(length) if length else b""

    def _call(self, handler: Handler, request: Request) -> tuple[int, Any]:
        try:
            return handler(self.project, request)
        except HTTPError:
            raise
        except BackpressureError as exc:
            seconds = max(1, math.ceil(exc.retry_after))
            raise HTTPError(429, str(exc), headers={"Retry-After": str(seconds)}) from None
        except NotFoundError as exc:
            raise HTTPError(404, str(exc)) from None
        except TokenError as exc:
            raise HTTPError(401, str(exc)) from None
        except EventValidationError as exc:
            raise HTTPError(422, str(exc), errors=_jsonable(exc.errors)) from None
        except TransientMarketoError as exc:
            raise HTTPError(502, f"Marketo did not answer usefully: {exc}; retry later") from None
        except (ParagonError, ValueError) as exc:  # settings, enablement, Marketo refusals...
            raise HTTPError(400, str(exc)) from None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return [str(v) for v in value] if isinstance(value, list | tuple) else str(value)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key != "HTTP_AUTHORIZATION"
    }
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def _loggable(path: str) -> str:
    return path[:200]


# --------------------------------------------------------------------------- serving


class ServerHandle:
    """A running REST server for one project: ``.url``, ``.project_url``, ``.stop()``."""

    def __init__(self, server: BackgroundServer, project: Any, app: RestApp) -> None:
        self._server = server
        self.project = project
        self.app = app
        self.url = server.url

    @property
    def project_url(self) -> str:
        """``{url}/projects/{id}``: the base the SDK's paths hang off."""
        return f"{self.url}/projects/{self.project.id}"

    def stop(self) -> None:
        """Stop accepting requests (idempotent). The project stays open."""
        self._server.stop()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ServerHandle(url={self.url!r}, project_id={str(self.project.id)!r})"


def serve_project(
    project: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    cors_origins: str | Sequence[str] | None = LOOPBACK,
    options: ServerOptions | None = None,
) -> ServerHandle:
    """Serve ``project``'s REST API on ``host:port`` (port 0 = any free port) in threads.

    ``cors_origins``: browser origins allowed (:mod:`~paragon_nb.runtime.cors`; default
    pages on this machine). ``options``: threads, timeouts and limits (:class:`ServerOptions`).
    Raises OSError if the port is taken.

        handle = serve_project(project); print(handle.url); handle.stop()
    """
    app = RestApp(project, max_body=max_body, cors_origins=cors_origins)
    server = BackgroundServer(app, host=host, port=port, options=options).start()
    return ServerHandle(server, project, app)
