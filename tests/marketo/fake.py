"""A tiny scriptable Marketo for ``httpx.MockTransport`` unit tests.

Not the sandbox: just enough identity + envelope behaviour to drive the client's auth,
retry and batching paths deterministically. Routes are plain functions; ``script`` queues
canned answers (an error code, an HTTP status, or an exception) in front of a route.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

from paragon_nb._clock import FakeClock
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.marketo.retry import RetryPolicy

BASE = "https://123-abc-456.mktorest.com"
CLIENT_ID = "test-client-id"
SECRET = "sup3r-s3cret-value"

Route = Callable[[httpx.Request, Any], Any]


def ok(result: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": "a1#b2", "success": True}
    if result is not None:
        body["result"] = result
    body.update(extra)
    return body


def fail(code: str, message: str = "error") -> dict[str, Any]:
    return {"requestId": "a1#b2", "success": False, "errors": [{"code": code, "message": message}]}


class FakeMarketo:
    """Identity + REST routes. ``script[path]`` is a list consumed one item per call:
    a Marketo code string ("606"), an int HTTP status (502), an exception instance, or a
    dict envelope; when empty the route function answers."""

    def __init__(self, clock: FakeClock, *, ttl: int = 3600) -> None:
        self.clock = clock
        self.ttl = ttl
        self.lock = threading.Lock()
        self.routes: dict[tuple[str, str], Route] = {}
        self.script: dict[str, list[Any]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens: dict[str, float] = {}  # token -> wall expiry
        self.identity_calls = 0
        self.identity_status = 200
        self.revoked: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.on_request: Callable[[httpx.Request], None] | None = None

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self.routes[(method, path)] = fn
            return fn

        return register

    def rest_requests(self, path: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if "/identity/" not in r.url.path and (path is None or r.url.path == path)
        ]

    # --------------------------------------------------------------------- handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_request is not None:
                self.on_request(request)
            return self._handle(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/identity/oauth/token":
            return self._identity(request)
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token:
            return httpx.Response(200, json=fail("600", "Access token not specified"))
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or token in self.revoked:
            return httpx.Response(200, json=fail("601", "Access token invalid"))
        if self.clock.time() >= expiry:
            return httpx.Response(200, json=fail("602", "Access token expired"))
        with self.lock:
            queue = self.script.get(path)
            item = queue.pop(0) if queue else None
        if item is not None:
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, int):
                return httpx.Response(item, text="<html>bad gateway</html>")
            if isinstance(item, str):
                return httpx.Response(200, json=fail(item, f"scripted {item}"))
            return httpx.Response(200, json=item)
        fn = self.routes.get((request.method, path))
        if fn is None:
            return httpx.Response(200, json=fail("610", "Requested resource not found"))
        body = _body(request)
        answer = fn(request, body)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def _identity(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        with self.lock:
            self.identity_calls += 1
        if self.identity_status != 200 or params.get("client_secret") != SECRET:
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": "Bad client credentials"}
            )
        now = self.clock.time()
        with self.lock:
            live = [t for t, exp in self.tokens.items() if exp > now and t not in self.revoked]
            if live:
                token = live[0]
            else:
                token = f"tok-{len(self.tokens) + 1:04d}-0000:int"
                self.tokens[token] = now + self.ttl
            left = int(self.tokens[token] - now)
        return httpx.Response(
            200,
            json={"access_token": token, "token_type": "bearer", "expires_in": left, "scope": "x"},
        )


def _body(request: httpx.Request) -> Any:
    ctype = request.headers.get("content-type", "")
    raw = request.content
    if "json" in ctype and raw:
        return json.loads(raw)
    if "x-www-form-urlencoded" in ctype:
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}
    return raw


def make_client(
    fake: FakeMarketo,
    *,
    limits: Limits | None = None,
    retry: RetryPolicy | None = None,
    **kwargs: Any,
) -> MarketoClient:
    return MarketoClient(
        BASE + "/rest",
        CLIENT_ID,
        SECRET,
        transport=httpx.MockTransport(fake),
        clock=fake.clock,
        limits=limits,
        retry=retry or RetryPolicy(seed=7),
        **kwargs,
    )
