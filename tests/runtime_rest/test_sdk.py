"""The SDK mirror against a stub project: in-process and over loopback run the same code."""

from __future__ import annotations

from typing import Any

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import (
    NotFoundError,
    ParagonRequestError,
    RuntimeStateError,
    TokenExpired,
    TokenInvalid,
)
from paragon_nb.runtime.sdk import Paragon
from paragon_nb.runtime.server import serve_project
from paragon_nb.tokens import sign_user_token

from .conftest import CLIENT_ID, CLIENT_SECRET, ENDPOINT, events


def _token(keys: Any, sub: str = "user-1", **kw: Any) -> str:
    return sign_user_token(keys[0].private_pem, sub, **kw)


def test_needs_project_or_base_url() -> None:
    with pytest.raises(ValueError, match="needs a local project"):
        Paragon()


def test_authenticate_loads_user_and_integrations(stub: Any, keys: Any, wf1: str) -> None:
    paragon = Paragon(stub)
    assert paragon.get_user() == {"authenticated": False}
    paragon.authenticate(stub.id, _token(keys), metadata={"Name": "Ada"})
    user = paragon.get_user()
    assert user["authenticated"] is True and user["userId"] == "user-1"
    assert user["meta"] == {"Name": "Ada"} and "token" not in user
    assert [w["id"] for w in paragon.get_integrations()[0]["workflows"]] == [wf1]
    user["meta"]["Name"] = "changed"  # a copy
    assert paragon.get_user()["meta"] == {"Name": "Ada"}
    assert "user-1" in repr(paragon) and "eyJ" not in repr(paragon)


def test_authenticate_refuses_garbage_client_side(stub: Any) -> None:
    paragon = Paragon(stub)
    with pytest.raises(
        TokenInvalid, match="Failed to authenticate user with Paragon: A well-formed"
    ):
        paragon.authenticate(stub.id, "not-a-jwt")
    assert not paragon.authenticated


def test_authenticate_checks_exp_with_its_clock(stub: Any, keys: Any) -> None:
    clock = FakeClock(start=2_000_000_000)
    paragon = Paragon(stub, clock=clock)
    token = _token(keys, ttl=60, now=clock.time() - 120)
    with pytest.raises(TokenExpired, match="JWT token provided has expired"):
        paragon.authenticate(stub.id, token)
    assert stub.users().empty


def test_server_refusal_logs_out(stub: Any, keys: Any) -> None:
    paragon = Paragon(stub)
    wrong = sign_user_token(keys[1].private_pem, "user-1")
    with pytest.raises(TokenInvalid, match=r"Failed to authenticate.*signature does not match"):
        paragon.authenticate(stub.id, wrong)
    assert paragon.get_user() == {"authenticated": False}
    with pytest.raises(TokenInvalid, match="no user was authenticated"):
        paragon.event("Lead Created", {})


def test_unknown_project_is_not_found(stub: Any, keys: Any) -> None:
    with pytest.raises(NotFoundError, match=r"Failed to authenticate.*unknown project"):
        Paragon(stub).authenticate("other-project", _token(keys))


def test_full_user_journey(stub: Any, keys: Any, wf1: str, newsletter: int) -> None:
    paragon = Paragon(stub)
    paragon.authenticate(stub.id, _token(keys, "u"))
    credential = paragon.install_integration(
        "marketo", endpoint=ENDPOINT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    assert credential["status"] == "VALID" and CLIENT_SECRET not in str(credential)
    with pytest.raises(RuntimeStateError, match="already installed"):
        paragon.install_integration("marketo", endpoint="e", client_id="i", client_secret="s")
    paragon.update_workflow_settings("marketo", wf1, {"marketo_list": newsletter})
    with pytest.raises(ParagonRequestError, match="no user setting 'other'") as refused:
        paragon.update_workflow_settings("marketo", wf1, {"other": 1})
    assert refused.value.status_code == 400
    state = paragon.enable_workflow(wf1)
    entry = state["integrations"]["marketo"]["workflowSettings"][wf1]
    assert entry == {"enabled": True, "settings": {"marketo_list": newsletter}}
    with pytest.raises(ParagonRequestError, match="already enabled") as info:
        paragon.enable_workflow(wf1)
    assert info.value.status_code == 409
    paragon.disable_workflow(wf1)  # the event below starts no run (nothing to wait for)
    assert paragon.event("Lead Created", {"email": "a@x.com"}) == stub.events()[0].id
    assert events(stub) == [("u", "Lead Created", {"email": "a@x.com"})]
    with pytest.raises(RuntimeStateError, match="cannot be disabled"):
        paragon.disable_workflow(wf1)
    paragon.set_user_metadata({"Email": "u@x.com"})
    assert paragon.get_user()["meta"] == {"Email": "u@x.com"}
    paragon.uninstall_integration("marketo")
    assert not paragon.get_user()["integrations"]["marketo"].get("credentialId")
    with pytest.raises(NotFoundError, match="not installed"):
        paragon.uninstall_integration("marketo")
    with pytest.raises(NotFoundError, match="not installed"):
        paragon.update_workflow_settings("marketo", wf1, {})


def test_event_payload_must_be_a_dict(stub: Any, keys: Any) -> None:
    paragon = Paragon(stub)
    paragon.authenticate(stub.id, _token(keys))
    with pytest.raises(ValueError, match="must be a dict"):
        paragon.event("Lead Created", ["x"])  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="'hubspot' is not in this project"):
        paragon.install_integration("hubspot", endpoint="e", client_id="i", client_secret="s")


def test_same_code_over_loopback(stub: Any, keys: Any) -> None:
    with serve_project(stub) as handle, Paragon(base_url=handle.url) as paragon:
        paragon.authenticate(stub.id, _token(keys))
        assert paragon.event("Lead Created", {"n": 1}) == stub.events()[0].id
        with pytest.raises(NotImplementedError, match="needs a local project"):
            paragon.connect("marketo")
    assert events(stub) == [("user-1", "Lead Created", {"n": 1})]


def test_unreachable_server_is_a_clear_error(stub: Any, keys: Any) -> None:
    with serve_project(stub) as handle:
        url = handle.url
    paragon = Paragon(base_url=url)
    with pytest.raises(RuntimeStateError, match="could not reach Paragon"):
        paragon.authenticate(stub.id, _token(keys))
