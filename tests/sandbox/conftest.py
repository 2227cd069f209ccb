"""Fixtures for the sandbox tests: an in-process SandboxApp on a FakeClock and a small raw
HTTP helper (httpx over WSGITransport) that fetches and sends the access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp

ORIGIN = "http://sandbox.local"


class Api:
    """Raw HTTP against a sandbox: ``get/post/delete`` with the Bearer token by default."""

    def __init__(self, app: SandboxApp, http: httpx.Client) -> None:
        self.app = app
        self.http = http
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            r = self.http.get(
                "/identity/oauth/token",
                params={
                    "grant_type": "client_credentials",
                    "client_id": self.app.client_id,
                    "client_secret": self.app.client_secret,
                },
            )
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.token()}")
        return self.http.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("POST", path, **kw).json()

    def delete(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("DELETE", path, **kw).json()

    # shortcuts used by many tests
    def sync(self, records: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
        return self.post("/rest/v1/leads.json", json={"input": records, **body})

    def create_list(self, name: str, folder_id: int = 12) -> int:
        res = self.post(
            "/rest/asset/v1/staticLists.json",
            data={"name": name, "folder": json.dumps({"id": folder_id, "type": "Folder"})},
        )
        assert res["success"], res
        return res["result"][0]["id"]


@pytest.fixture
def app(clock: FakeClock) -> Iterator[SandboxApp]:
    sandbox = SandboxApp(clock=clock, rate_limit=None, max_concurrency=None, daily_quota=None)
    yield sandbox
    sandbox.state.close()


@pytest.fixture
def api(app: SandboxApp) -> Iterator[Api]:
    with httpx.Client(transport=app.transport(), base_url=ORIGIN) as http:
        yield Api(app, http)


def make_api(app: SandboxApp) -> Api:
    return Api(app, httpx.Client(transport=app.transport(), base_url=ORIGIN))
