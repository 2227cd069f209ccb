"""``SandboxApp``: a local Marketo as a WSGI callable (identity, ``/rest/v1``,
``/rest/asset/v1`` and ``/bulk/v1`` on one origin).

Every REST/bulk call goes through one pipeline: size checks (413/414) -> token (600/601/602)
-> quota/rate/concurrency (607/606/615) -> latency -> faults -> handler -> envelope. Calls
answered with codes Marketo does not count are given back to the window and the quota.

    app = SandboxApp(rate_limit=(100, 20.0), clock=FakeClock())
    http = httpx.Client(transport=app.transport(), base_url="http://sandbox.local")
    client = app.client()          # a MarketoClient talking to it in-process
"""

from __future__ import annotations

import gzip
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from paragon_nb import settings
from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox import bulk, identity, lists, routes
from paragon_nb.sandbox.context import Context
from paragon_nb.sandbox.faults import FAULT_MESSAGES, Fault, FaultInjector, is_http_status
from paragon_nb.sandbox.fields import DATA_TYPES, FieldDef, format_datetime
from paragon_nb.sandbox.limits import NOT_COUNTED, Gate, Limits, SandboxStats
from paragon_nb.sandbox.state import SandboxState
from paragon_nb.sandbox.wire import (
    ApiError,
    HttpError,
    Request,
    Response,
    failure_envelope,
    html_error,
    json_response,
)

__all__ = ["SandboxApp"]

log = logging.getLogger(__name__)

MAX_URI = 8 * 1024
MAX_BODY = 1024 * 1024
MAX_IMPORT_BODY = 10 * 1024 * 1024
LOCAL_ORIGIN = "http://sandbox.local"
_UNSET: Any = object()


class SandboxApp:
    """A faithful local Marketo as a WSGI app. See the module docstring and reference §10.

    ``state``: None/":memory:" (in memory), a SQLite path, or a :class:`SandboxState`.
    Credentials: given, else those stored in a file state, else generated; a file state keeps
    the client secret encrypted (SecretBox keyed in the home folder).
    ``rate_limit=(calls, seconds)``, ``max_concurrency``, ``daily_quota``: None turns a limit
    off. ``latency`` (seconds) is a real sleep per call. ``faults``: :class:`Fault` objects
    or CLI strings. ``clock`` drives tokens, windows and import jobs.
    """

    def __init__(
        self,
        *,
        state: SandboxState | str | Path | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        rate_limit: tuple[int, float] | None = (100, 20.0),
        max_concurrency: int | None = 10,
        daily_quota: int | None = 50_000,
        token_ttl: float = 3600,
        latency: float = 0.0,
        faults: Sequence[Fault | str] | Fault | str | None = None,
        clock: Clock | None = None,
        import_seconds: float = 1.0,
        seed: int = 0,
        secret_box: settings.SecretBox | None = None,
    ) -> None:
        self.clock: Clock = clock or system_clock
        if isinstance(state, SandboxState):
            self.state = state
        else:
            self.state = SandboxState(state if state is not None else ":memory:")
        self._stats = SandboxStats()
        self._stats_lock = threading.Lock()
        limits = Limits.build(rate_limit, max_concurrency, daily_quota)
        # only a file-backed sandbox writes its usage through (keeps the quota on restart)
        persistent = self.state.path != ":memory:"
        self.gate = Gate(limits, self.clock, self._stats, state=self.state if persistent else None)
        self.token_ttl = float(token_ttl)
        self.latency = float(latency)
        self.ctx = Context(self.state, self.clock, self.gate, float(import_seconds))
        self.faults = FaultInjector(faults, seed=seed)
        self.on_request: Callable[[Request], None] | None = None  # test hook, runs in flight
        self.scope = "apis@sandbox.local"
        self._box = secret_box
        self.client_id, self._client_secret = self._credentials(client_id, client_secret)

    # ------------------------------------------------------------------ credentials
    def _credentials(self, client_id: str | None, client_secret: str | None) -> tuple[str, str]:
        persistent = self.state.path != ":memory:"
        stored_id = self.state.get_meta("client_id") if persistent else None
        stored = self.state.get_meta("client_secret_enc") if persistent else None
        cid = client_id or stored_id or str(uuid.uuid4())
        if client_secret:
            secret = client_secret
        elif stored and cid == stored_id:
            secret = self._secret_box().decrypt(stored)
        else:
            secret = secrets.token_urlsafe(24)
        if persistent:
            self.state.set_meta("client_id", cid)
            self.state.set_meta("client_secret_enc", self._secret_box().encrypt(secret))
        return cid, secret

    def _secret_box(self) -> settings.SecretBox:
        if self._box is None:
            self._box = settings.SecretBox.for_folder(settings.home())
        return self._box

    def token_box(self) -> settings.SecretBox | None:
        """What seals access tokens in a file state (None in memory: nothing to seal)."""
        return self._secret_box() if self.state.path != ":memory:" else None

    @property
    def client_secret(self) -> str:
        return self._client_secret

    def __repr__(self) -> str:
        return (
            f"SandboxApp(state={self.state.path!r}, client_id={self.client_id!r}, "
            f"client_secret='***', limits={self.gate.limits})"
        )

    @property
    def import_seconds(self) -> float:
        """How long a bulk import job stays "Importing" on the clock."""
        return self.ctx.import_seconds

    @import_seconds.setter
    def import_seconds(self, seconds: float) -> None:
        self.ctx.import_seconds = float(seconds)

    # ------------------------------------------------------------------ clients
    def transport(self) -> Any:
        """An in-process ``httpx.WSGITransport`` (no socket)."""
        import httpx

        return httpx.WSGITransport(app=self)

    def client(self, **kwargs: Any) -> Any:
        """A ``MarketoClient`` for this app, in-process."""
        from paragon_nb.marketo.client import MarketoClient

        kwargs.setdefault("identity", f"{LOCAL_ORIGIN}/identity")
        kwargs.setdefault("transport", self.transport())
        return MarketoClient(f"{LOCAL_ORIGIN}/rest", self.client_id, self.client_secret, **kwargs)

    # ------------------------------------------------------------------ inspection helpers
    @property
    def stats(self) -> SandboxStats:
        return self._stats

    def reset_stats(self) -> None:
        self._stats = SandboxStats()
        self.gate.stats = self._stats

    def leads(self) -> list[dict[str, Any]]:
        """Every lead with all its stored fields (timestamps formatted as Marketo does)."""
        out = []
        for lead in self.state.all_leads():
            lead["createdAt"] = format_datetime(lead["createdAt"])
            lead["updatedAt"] = format_datetime(lead["updatedAt"])
            out.append(lead)
        return out

    def lead_count(self) -> int:
        return self.state.lead_count()

    def list_members(self, list_id: int) -> list[int]:
        return self.state.member_ids(int(list_id))

    def create_list(
        self, name: str, *, folder: dict[str, Any] | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Create a static list (default folder "Group Lists") as the asset API would."""
        row = lists.create_static_list(
            self.ctx, name, folder or {"id": 12, "type": "Folder"}, description
        )
        return lists.asset_list_item(row)

    def add_field(
        self,
        name: str,
        data_type: str,
        *,
        length: int | None = None,
        display_name: str | None = None,
    ) -> FieldDef:
        """Add a custom lead field (REST name ``name``) to this instance."""
        if data_type not in DATA_TYPES:
            raise ConfigurationError(
                f"custom field {name!r}: unknown dataType {data_type!r}; use one of {DATA_TYPES}"
            )
        if name in self.state.fields() and not self.state.fields()[name].custom:
            raise ConfigurationError(f"custom field {name!r} clashes with a standard lead field")
        if length is None and data_type in {"string", "email", "phone", "url"}:
            length = 255
        self.state.add_field(name, data_type, display_name or name, length)
        return self.state.fields()[name]

    def expire_tokens(self) -> None:
        """Expire every access token now (the next call answers 602)."""
        self.state.expire_tokens(self.clock.time())

    def set_faults(self, faults: Sequence[Fault | str] | Fault | str | None) -> None:
        self.faults.set(faults)

    def set_limits(
        self,
        *,
        rate_limit: tuple[int, float] | None = _UNSET,
        max_concurrency: int | None = _UNSET,
        daily_quota: int | None = _UNSET,
        token_ttl: float = _UNSET,
        latency: float = _UNSET,
    ) -> None:
        """Change limits at run time; arguments left out stay as they are."""
        limits = self.gate.limits
        if rate_limit is not _UNSET:
            limits.rate_calls, limits.rate_seconds = (
                (rate_limit[0] or None, float(rate_limit[1])) if rate_limit else (None, 20.0)
            )
        if max_concurrency is not _UNSET:
            limits.max_concurrency = max_concurrency or None
        if daily_quota is not _UNSET:
            limits.daily_quota = daily_quota or None
        if token_ttl is not _UNSET:
            self.token_ttl = float(token_ttl)
        if latency is not _UNSET:
            self.latency = float(latency)

    def process_imports(self) -> None:
        """Advance bulk import jobs on the clock now."""
        bulk.advance(self.ctx)

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            resp = self.handle(environ)
        except Exception:  # a bug in the sandbox: answer like Marketo's 611, keep serving
            log.exception("sandbox: unhandled error")
            resp = json_response(failure_envelope("611", "System error"), code="611")
        start_response(resp.status_line, resp.headers)
        return [resp.body]

    def handle(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO", "") or "/"
        # wsgiref hands PATH_INFO over as latin-1 decoded bytes
        path = path.encode("latin-1").decode("utf-8", "replace")
        query = environ.get("QUERY_STRING", "")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        headers = _headers(environ)
        limit = MAX_IMPORT_BODY if path == "/bulk/v1/leads.json" else MAX_BODY
        body = _read_body(environ, keep=limit + 1)
        if len(path) + len(query) + 1 > MAX_URI:
            return self._count_http(html_error(414))
        if len(body) > limit:
            return self._count_http(html_error(413))
        req = Request.build(method, path, query, headers, body)
        if path.rstrip("/") == "/identity/oauth/token":
            self._bump("identity_calls")
            return identity.issue_token(self, req)
        self._bump("calls_total", route=f"{method} {path}")
        kind = "asset" if path.startswith("/rest/asset/") else "lead"
        try:
            user = identity.authenticate(self, req)
        except ApiError as err:
            return self._error(err, kind)
        try:
            ticket = self.gate.admit(user)
        except ApiError as err:
            return self._error(err, kind)
        try:
            resp = self._dispatch(req, kind)
        finally:
            self.gate.release()
        if resp.code in NOT_COUNTED or (resp.code and is_http_status(resp.code)):
            self.gate.give_back(ticket, user)  # (U) gateway errors are not counted either
        return self._maybe_gzip(req, resp)

    def _dispatch(self, req: Request, kind: str) -> Response:
        try:
            handler, write, groups = routes.resolve(req)
            if write:
                self._bump("write_calls")
            if self.latency > 0:
                # the server really is slow: a real sleep, holding a concurrency slot
                time.sleep(self.latency)
            fault = self.faults.pick(req.path)
            if fault is not None and not fault[1]:
                return self._fault(fault[0], kind)
            if self.on_request is not None:
                self.on_request(req)
            bulk.advance(self.ctx)  # imports progress on the clock, seen by every later call
            payload = handler(self.ctx, req, *groups)
            if fault is not None:  # an "after" fault: the work is done, the answer is lost
                return self._fault(fault[0], kind)
        except ApiError as err:
            return self._error(err, kind)
        except HttpError as err:
            return self._count_http(html_error(err.status, err.reason))
        if isinstance(payload, Response):
            return payload
        return json_response(payload)

    def _fault(self, code: str, kind: str) -> Response:
        if is_http_status(code):
            return self._count_http(html_error(int(code)))
        return self._error(ApiError(code, FAULT_MESSAGES.get(code, "Injected fault")), kind)

    def _error(self, err: ApiError, kind: str) -> Response:
        self._bump(code=err.code)
        self.gate.record_error(err.code)
        return json_response(
            failure_envelope(err.code, err.message, asset=kind == "asset"), code=err.code
        )

    def _count_http(self, resp: Response) -> Response:
        self._bump(code=str(resp.status))
        return resp

    def _bump(self, counter: str | None = None, *, route: str = "", code: str = "") -> None:
        with self._stats_lock:
            stats = self._stats
            if counter:
                setattr(stats, counter, getattr(stats, counter) + 1)
            if route:
                stats.calls_by_route[route] += 1
            if code:
                stats.errors_by_code[code] += 1

    def _maybe_gzip(self, req: Request, resp: Response) -> Response:
        """Marketo gzips bodies >= 1 KB when asked (not bulk files)."""
        accept = req.headers.get("accept-encoding", "")
        if "gzip" not in accept or len(resp.body) < 1024 or req.path.startswith("/bulk/"):
            return resp
        body = gzip.compress(resp.body, compresslevel=1)
        headers = [(k, v) for k, v in resp.headers if k.lower() != "content-length"]
        headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        return Response(resp.status, headers, body, resp.code)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        out["content-length"] = environ["CONTENT_LENGTH"]
    return out


def _read_body(environ: dict[str, Any], *, keep: int) -> bytes:
    """Read the whole body (even an oversized one, so the client sees the 413, not a reset),
    keeping at most ``keep`` bytes of it in memory."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    stream = environ["wsgi.input"]
    chunks, remaining, kept = [], length, 0
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        if kept < keep:
            chunks.append(chunk[: keep - kept])
            kept += len(chunks[-1])
        remaining -= len(chunk)
    return b"".join(chunks)
