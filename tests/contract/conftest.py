"""Targets for the contract suite: the same assertions against the sandbox in-process, the
sandbox over a loopback socket, and a real Marketo (``live``: needs MARKETO_ENDPOINT,
MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET; MARKETO_IDENTITY optional)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.sandbox import MarketoSandbox, SandboxApp


@dataclass
class Target:
    """One Marketo to run the contract against, spoken to with raw httpx."""

    name: str
    http: httpx.Client
    origin: str  # scheme://host[:port], no path
    identity: str  # .../identity
    client_id: str
    client_secret: str = field(repr=False)  # a live secret must not reach failure output
    wait: Callable[[float], None]  # let time pass (FakeClock advance, or a real sleep live)
    make_client: Callable[[], MarketoClient] = field(repr=False)  # our client, same target
    _token: str | None = field(default=None, repr=False)

    def client(self) -> MarketoClient:
        """A :class:`MarketoClient` for this target (closed by the caller)."""
        return self.make_client()

    def token(self) -> str:
        if self._token is None:
            r = self.http.get(
                self.identity + "/oauth/token",
                params={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
            )
            assert r.status_code == 200, f"identity answered HTTP {r.status_code}"
            self._token = r.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        return self.http.request(method, self.origin + path, headers=headers, **kw)

    def json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self.call(method, path, **kw)
        assert r.status_code == 200, f"{method} {path}: HTTP {r.status_code}"
        return r.json()


def _live() -> Iterator[Target]:
    endpoint = os.environ["MARKETO_ENDPOINT"].rstrip("/")
    origin = endpoint[: -len("/rest")] if endpoint.endswith("/rest") else endpoint
    identity = os.environ.get("MARKETO_IDENTITY") or origin + "/identity"
    with httpx.Client(timeout=60) as http:
        yield Target(
            "live",
            http,
            origin,
            identity.rstrip("/"),
            os.environ["MARKETO_CLIENT_ID"],
            os.environ["MARKETO_CLIENT_SECRET"],
            time.sleep,
            MarketoClient.from_env,
        )


@pytest.fixture(params=["inproc", "socket", pytest.param("live", marks=pytest.mark.live)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "live":
        yield from _live()
        return
    clock = FakeClock()
    if request.param == "inproc":
        app = SandboxApp(clock=clock)
        with httpx.Client(transport=app.transport()) as http:
            origin = "http://sandbox.local"
            yield Target("inproc", http, origin, origin + "/identity", app.client_id,
                         app.client_secret, clock.advance,
                         lambda: app.client(clock=clock))  # fmt: skip
        app.state.close()
        return
    with MarketoSandbox(clock=clock) as sandbox, httpx.Client(timeout=30) as http:
        yield Target("socket", http, sandbox.base_url, sandbox.identity, sandbox.client_id,
                     sandbox.client_secret, clock.advance,
                     lambda: sandbox.client(clock=clock))  # fmt: skip
