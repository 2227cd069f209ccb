"""Fixtures for the REST layer: the real Project on a temporary folder (``FakeClock``, its
users' Marketo the in-process sandbox) behind :class:`RestApp`, and helpers to sign tokens.

The fixture names are older than the real project behind them: ``stub`` is that project
(App Event "Lead Created", the seed workflow deployed, no signing key until ``keys`` or
``bearer`` asks for one), ``make_stub(strict=...)`` makes another one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.server import RestApp
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.tokens import SigningKey, sign_user_token

from .e2e import EVENT, SEED_SPEC, WORKFLOW, in_process_factory, lead

OTHER_KEY = SigningKey.generate()
#: the Marketo credentials the sandbox accepts; ``DOWN`` is an endpoint whose host refuses
#: connections (as a closed port does), every other host reaches the sandbox
CLIENT_ID, CLIENT_SECRET = "id", "s3cret"
ENDPOINT, DOWN = "http://m/rest", "http://down.invalid/rest"
CREDS = {"endpoint": ENDPOINT, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}


def events(project: Project) -> list[tuple[str, str, dict[str, Any]]]:
    """(user, event name, payload) of every event the project accepted, oldest first."""
    return [(e.user, e.name, e.payload) for e in project.events()]


@pytest.fixture
def clock() -> FakeClock:
    """The projects' clock: fake (it moves only when told), starting at the real time, since
    the tokens the tests sign carry it (pyjwt and the SDK read the real clock)."""
    return FakeClock(start=time.time())


@pytest.fixture
def sandbox() -> SandboxApp:
    return SandboxApp(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, rate_limit=None)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def make_stub(
    tmp_path: Path, sandbox: SandboxApp, clock: FakeClock
) -> Iterator[Callable[..., Project]]:
    """``make_stub(strict=False)`` -> a new seeded project (closed after the test)."""
    reach, refused = sandbox.transport(), httpx.MockTransport(_refuse)

    def route(request: httpx.Request) -> httpx.Response:
        return (refused if request.url.host == "down.invalid" else reach).handle_request(request)

    factory = in_process_factory(httpx.MockTransport(route))
    made: list[Project] = []

    def make(*, strict: bool = False) -> Project:
        path = tmp_path / f"project-{len(made)}"
        project = Project.create("REST", path=path, clock=clock, client_factory=factory)
        made.append(project)
        project.define_app_event(EVENT, example=lead())
        project.add_workflow(SEED_SPEC)
        project.deploy(WORKFLOW)
        project.strict = strict
        return project

    yield make
    for project in made:
        project.close()


@pytest.fixture
def stub(make_stub: Callable[..., Project]) -> Project:
    return make_stub()


@pytest.fixture
def wf1(stub: Project) -> str:
    """The id of the seed workflow (deployed) in ``stub``."""
    return stub.workflow(WORKFLOW).id


@pytest.fixture
def newsletter(sandbox: SandboxApp) -> int:
    """The id of a static list in the sandbox, for the workflow's marketo_list setting."""
    return int(sandbox.create_list("Newsletter")["id"])


@pytest.fixture
def http(stub: Project) -> Iterator[httpx.Client]:
    app = RestApp(stub, max_body=10_000)
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"http://t/projects/{stub.id}/sdk"
    ) as client:
        yield client


@pytest.fixture
def keys(stub: Project) -> tuple[SigningKey, SigningKey]:
    """(``stub``'s signing key, generated now; another key)."""
    return stub.generate_signing_key(), OTHER_KEY


@pytest.fixture
def bearer(keys: tuple[SigningKey, SigningKey]) -> Any:
    """``bearer(sub, key=..., ttl=..., now=...)`` -> Authorization header dict (signed with
    ``stub``'s key unless ``key`` says otherwise)."""

    def header(sub: str = "user-1", *, key: SigningKey = keys[0], **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {sign_user_token(key.private_pem, sub, **kw)}"}

    return header
