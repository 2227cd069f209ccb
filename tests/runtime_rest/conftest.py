"""Fixtures for the REST layer: a small in-memory stand-in for Project (the HTTP rules are
tested apart from the engine) and helpers to sign tokens. End-to-end tests use the real
Project and the sandbox."""

from __future__ import annotations

import threading
import types
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest

from paragon_nb.errors import EventValidationError, NotFoundError, RuntimeStateError, TokenInvalid
from paragon_nb.runtime.api import EventReceipt
from paragon_nb.runtime.server import RestApp
from paragon_nb.tokens import SigningKey, sign_user_token, verify_user_token

NOW_KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()


class StubProject:
    """Implements just the Project methods the REST routes call, in memory."""

    def __init__(self, key: SigningKey | None = NOW_KEY, *, strict: bool = False) -> None:
        self.id = str(uuid.uuid4())
        self.public_pem = key.public_pem if key else None
        self.strict = strict
        self.events: list[tuple[str, str, dict]] = []
        self.receipts: dict[tuple[str, str | None], EventReceipt] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple] = []
        self._lock = threading.Lock()
        self.workflow_list = [
            types.SimpleNamespace(id="wf-1", name="Sync new leads to Marketo", deployed_version=1),
            types.SimpleNamespace(id="wf-draft", name="Draft only", deployed_version=None),
        ]

    def verify_user_token(self, token: str) -> dict:
        if self.public_pem is None:
            raise TokenInvalid("the project has no signing key yet")
        return verify_user_token(token, self.public_pem)

    def trigger_event(
        self, sub: str, name: str, payload: dict, *, idempotency_key: str | None = None
    ) -> EventReceipt:
        if self.strict and "email" not in payload:
            raise EventValidationError("payload does not match", errors=["email: required"])
        with self._lock:
            if (sub, idempotency_key) in self.receipts:
                return replace(self.receipts[sub, idempotency_key], repeated=True)
            self.events.append((sub, name, payload))
            receipt = EventReceipt(event_id=f"evt-{len(self.events)}", name=name)
            if idempotency_key is not None:
                self.receipts[sub, idempotency_key] = receipt
            return receipt

    def _user(self, sub: str) -> dict[str, Any]:
        return self.users.setdefault(sub, {"meta": {}, "cred": None, "wf": {}})

    def user_state(self, sub: str) -> dict[str, Any]:
        user = self.users.get(sub, {"meta": {}, "cred": None, "wf": {}})  # as the real one
        cred = user["cred"]
        marketo: dict[str, Any] = {"enabled": bool(cred), "workflowSettings": user["wf"]}
        if cred:
            marketo |= {"credentialId": cred["id"], "credentialStatus": "VALID"}
        return {
            "authenticated": True,
            "userId": sub,
            "meta": user["meta"],
            "integrations": {"marketo": marketo},
        }

    def set_user_meta(self, sub: str, meta: dict) -> None:
        self._user(sub)["meta"] = dict(meta)

    def connect_user(self, sub: str, integration: str, **kwargs: Any) -> None:
        self.calls.append(("connect", sub, integration, sorted(kwargs)))
        if kwargs["client_secret"] == "wrong":
            from paragon_nb.errors import MarketoAuthError

            raise MarketoAuthError("identity refused the client id/secret", code="401")
        if kwargs["client_secret"] == "down":
            from paragon_nb.errors import TransientMarketoError

            raise TransientMarketoError("connection refused", code="502")
        self._user(sub)["cred"] = {"id": str(uuid.uuid4())}

    def disconnect_user(self, sub: str, integration: str) -> None:
        user = self._user(sub)
        user["cred"], user["wf"] = None, {}

    def _wf(self, workflow: str) -> str:
        for wf in self.workflow_list:
            if workflow in (wf.id, wf.name):
                return wf.id
        raise NotFoundError(f"unknown workflow {workflow!r}")

    def workflow(self, workflow: str) -> Any:
        return types.SimpleNamespace(id=self._wf(workflow))

    def set_workflow_settings(self, sub: str, workflow: str, settings: dict) -> None:
        entry = self._user(sub)["wf"].setdefault(self._wf(workflow), {"enabled": False})
        entry["settings"] = dict(settings)

    def enable_workflow(self, sub: str, workflow: str) -> None:
        user = self._user(sub)
        if not user["cred"]:
            raise RuntimeStateError("connect Marketo before enabling a workflow")
        user["wf"].setdefault(self._wf(workflow), {"settings": {}})["enabled"] = True

    def disable_workflow(self, sub: str, workflow: str) -> None:
        self._user(sub)["wf"][self._wf(workflow)]["enabled"] = False

    def workflows(self) -> list[Any]:
        return self.workflow_list


@pytest.fixture
def stub() -> StubProject:
    return StubProject()


@pytest.fixture
def make_stub() -> Any:
    """``make_stub(key=..., strict=...)`` -> a fresh StubProject."""
    return StubProject


@pytest.fixture
def http(stub: StubProject) -> httpx.Client:
    app = RestApp(stub, max_body=10_000)
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"http://t/projects/{stub.id}/sdk"
    ) as client:
        yield client


def _bearer(sub: str = "user-1", *, key: SigningKey = NOW_KEY, **kw: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_user_token(key.private_pem, sub, **kw)}"}


@pytest.fixture
def bearer() -> Any:
    """``bearer(sub, key=..., ttl=..., now=...)`` -> Authorization header dict."""
    return _bearer


@pytest.fixture
def keys() -> tuple[SigningKey, SigningKey]:
    """(the stub project's key, another key)."""
    return NOW_KEY, OTHER_KEY
