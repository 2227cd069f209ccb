"""The REST layer's HTTP rules (auth, statuses, bodies) against the real project of
conftest.py: every refused request gets its status AND records no event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paragon_nb.runtime.server import RestApp, serve_project
from paragon_nb.tokens import SigningKey

from .conftest import CLIENT_SECRET, CREDS, DOWN, events
from .e2e import SEED_SPEC, lead

EVENT = {"name": "Lead Created", "payload": {"email": "ada@example.com"}}
WORKFLOW = "Sync new leads to Marketo"


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _rs256(key: SigningKey, claims: dict) -> str:
    private = serialization.load_pem_private_key(key.private_pem.encode(), None)
    return jwt.encode(claims, private, "RS256")


def _attack_tokens(keys: tuple[SigningKey, SigningKey]) -> dict[str, str | None]:
    mine, other = keys
    now = int(time.time())  # the projects' clocks start at the real time
    good_claims = {"sub": "user-1", "iat": now, "exp": now + 600}
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(good_claims)
    mac = hmac.new(mine.public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    hs256 = f"{header}.{body}." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    return {
        "missing header": None,
        "empty bearer": "",
        "garbage": "garbage",
        "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + body + ".",
        "hs256 with public key": hs256,
        "expired": _rs256(mine, {"sub": "user-1", "iat": now - 7200, "exp": now - 3600}),
        "wrong key": _rs256(other, good_claims),
        "missing sub": _rs256(mine, {"iat": now, "exp": now + 600}),
        "missing exp": _rs256(mine, {"sub": "user-1", "iat": now}),
        "missing iat": _rs256(mine, {"sub": "user-1", "exp": now + 600}),
        "iat in future": _rs256(mine, {"sub": "user-1", "iat": now + 3600, "exp": now + 7200}),
        "tampered": _rs256(mine, good_claims)[:-6] + "AAAAAA",
    }


def test_event_accepted_with_201_and_recorded(stub: Any, http: httpx.Client, bearer: Any) -> None:
    response = http.post("/events/trigger", json=EVENT, headers=bearer("user-1"))
    assert response.status_code == 201
    assert response.json() == {"eventId": stub.events()[0].id, "name": "Lead Created"}
    assert events(stub) == [("user-1", "Lead Created", {"email": "ada@example.com"})]


def test_v2_trigger_path_as_the_sdk_sends_it(stub: Any, bearer: Any) -> None:
    app = RestApp(stub)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        url = f"/v2/projects/{stub.id}/sdk/events/trigger"
        assert client.post(url, json=EVENT, headers=bearer()).status_code == 201
    assert len(events(stub)) == 1


@pytest.mark.parametrize(
    "attack",
    [
        "missing header",
        "empty bearer",
        "garbage",
        "alg none",
        "hs256 with public key",
        "expired",
        "wrong key",
        "missing sub",
        "missing exp",
        "missing iat",
        "iat in future",
        "tampered",
    ],
)
def test_token_attacks_get_401_and_record_nothing(
    stub: Any, http: httpx.Client, keys: Any, attack: str
) -> None:
    token = _attack_tokens(keys)[attack]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = http.post("/events/trigger", json=EVENT, headers=headers)
    assert response.status_code == 401, response.text
    message = response.json()["message"]
    assert message and (token is None or token == "" or token not in message)
    assert events(stub) == []


def test_another_projects_key_is_refused(stub: Any, bearer: Any, make_stub: Any) -> None:
    other_project = make_stub()
    other_key = other_project.generate_signing_key()
    app = RestApp(stub)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        response = client.post(
            f"/projects/{stub.id}/sdk/events/trigger", json=EVENT, headers=bearer(key=other_key)
        )
    assert response.status_code == 401 and "signature does not match" in response.json()["message"]
    assert events(stub) == [] and events(other_project) == []


def test_project_without_key_refuses_everything(bearer: Any, make_stub: Any) -> None:
    stub = make_stub()  # no generate_signing_key() yet
    with httpx.Client(
        transport=httpx.WSGITransport(app=RestApp(stub)), base_url="http://t"
    ) as client:
        response = client.get(f"/projects/{stub.id}/sdk/me", headers=bearer())
    assert response.status_code == 401 and "no signing key" in response.json()["message"]


@pytest.mark.parametrize(
    "scheme", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer", "bearer   ", "Bearer a b"]
)
def test_bad_authorization_schemes_get_401(stub: Any, http: httpx.Client, scheme: str) -> None:
    response = http.post("/events/trigger", json=EVENT, headers={"Authorization": scheme})
    assert response.status_code == 401
    assert events(stub) == []


def test_lowercase_bearer_is_accepted(stub: Any, http: httpx.Client, bearer: Any) -> None:
    token = bearer()["Authorization"].split(" ", 1)[1]
    response = http.post(
        "/events/trigger", json=EVENT, headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"", 400, "body is empty"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b'{"name": "x", "payload": {"a": ' + b"[" * 4_000 + b"]" * 4_000 + b"}}", 400, "nested"),
        (b"[1, 2]", 400, "must be a JSON object, got list"),
        (b'{"payload": {}}', 400, "missing 'name'"),
        (b'{"name": "", "payload": {}}', 400, "non-empty string"),
        (b'{"name": 7, "payload": {}}', 400, "non-empty string"),
        (b'{"name": "Lead Created"}', 400, "missing 'payload'"),
        (b'{"name": "Lead Created", "payload": [1]}', 400, "must be a JSON object, got list"),
        (b'{"name": "Lead Created", "payload": null}', 400, "got null"),
        (b'{"name": "Lead Created", "payload": "x"}', 400, "got str"),
    ],
)
def test_malformed_bodies_get_400_and_record_nothing(
    stub: Any, http: httpx.Client, bearer: Any, body: bytes, status: int, reason: str
) -> None:
    headers = {**bearer(), "Content-Type": "application/json"}
    response = http.post("/events/trigger", content=body, headers=headers)
    assert response.status_code == status
    assert reason in response.json()["message"]
    assert events(stub) == []


def test_body_over_limit_gets_413(stub: Any, http: httpx.Client, bearer: Any) -> None:
    big = {"name": "Lead Created", "payload": {"blob": "x" * 10_001}}
    response = http.post("/events/trigger", json=big, headers=bearer())
    assert response.status_code == 413
    assert "10000-byte limit" in response.json()["message"]
    assert events(stub) == []


def test_413_is_checked_after_auth(stub: Any, http: httpx.Client) -> None:
    response = http.post("/events/trigger", content=b"x" * 20_000)
    assert response.status_code == 401


def test_unknown_project_and_routes_get_404(stub: Any, bearer: Any) -> None:
    app = RestApp(stub)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        unknown = client.post("/projects/nope/sdk/events/trigger", json=EVENT, headers=bearer())
        assert unknown.status_code == 404 and "unknown project 'nope'" in unknown.json()["message"]
        assert client.get("/", headers=bearer()).status_code == 404
        assert client.get(f"/projects/{stub.id}/sdk/nothing", headers=bearer()).status_code == 404
    assert events(stub) == []


def test_wrong_verb_gets_405_with_allow(stub: Any, http: httpx.Client, bearer: Any) -> None:
    response = http.get("/events/trigger", headers=bearer())
    assert response.status_code == 405
    assert response.headers["allow"] == "OPTIONS, POST"
    assert http.put("/me", headers=bearer()).headers["allow"] == "GET, OPTIONS, PATCH"
    assert events(stub) == []


def test_me_of_a_new_user_is_authenticated_and_unconnected(http: httpx.Client, bearer: Any) -> None:
    state = http.get("/me", headers=bearer("new-user")).json()
    assert state["authenticated"] is True and state["userId"] == "new-user"
    assert state["integrations"]["marketo"]["enabled"] is False
    assert "token" not in state


def test_patch_me_sets_meta(http: httpx.Client, bearer: Any) -> None:
    response = http.patch("/me", json={"meta": {"Email": "a@x.com"}}, headers=bearer())
    assert response.status_code == 200 and response.json()["meta"] == {"Email": "a@x.com"}
    assert http.patch("/me", json={"meta": 3}, headers=bearer()).status_code == 400


def test_connect_settings_enable_disable_uninstall(
    stub: Any, http: httpx.Client, bearer: Any, wf1: str, newsletter: int
) -> None:
    auth = bearer("u")
    created = http.post("/credentials", json=CREDS, headers=auth)
    assert created.status_code == 201
    cred_id = created.json()["id"]
    assert CLIENT_SECRET not in created.text
    conn = stub.user_state("u").connection
    assert conn is not None
    assert (conn.endpoint, conn.client_id) == (CREDS["endpoint"], CREDS["clientId"])
    assert http.get("/credentials", headers=auth).json()[0]["status"] == "VALID"
    patch = {"config": {"workflowSettings": {wf1: {"settings": {"marketo_list": newsletter}}}}}
    assert http.patch(f"/credentials/{cred_id}", json=patch, headers=auth).status_code == 200
    assert http.patch("/credentials/other", json=patch, headers=auth).status_code == 404
    assert http.post(f"/workflows/{wf1}", headers=auth).status_code == 200
    again = http.post(f"/workflows/{wf1}", headers=auth)
    assert again.status_code == 409 and "already enabled" in again.json()["message"]
    wf = http.get("/me", headers=auth).json()["integrations"]["marketo"]["workflowSettings"]
    assert wf[wf1] == {"enabled": True, "settings": {"marketo_list": newsletter}}
    assert http.delete(f"/workflows/{wf1}", headers=auth).status_code == 200
    twice = http.delete(f"/workflows/{wf1}", headers=auth)
    assert twice.status_code == 409 and "cannot be disabled" in twice.json()["message"]
    assert http.post("/workflows/nope", headers=auth).status_code == 404
    assert http.delete("/integrations/marketo", headers=auth).status_code == 200
    assert http.delete("/integrations/marketo", headers=auth).status_code == 404
    assert http.get("/credentials", headers=auth).json() == []


def test_connect_errors_are_400_without_secrets(http: httpx.Client, bearer: Any) -> None:
    bad = {**CREDS, "clientSecret": "wrong"}
    response = http.post("/credentials", json=bad, headers=bearer())
    assert response.status_code == 400 and "refused" in response.json()["message"]
    missing = http.post("/credentials", json={"endpoint": "http://m"}, headers=bearer())
    assert missing.status_code == 400 and "clientId" in missing.json()["message"]
    other = http.post("/credentials", json={"integration": "hubspot"}, headers=bearer())
    assert other.status_code == 400
    down = {**CREDS, "endpoint": DOWN}
    response = http.post("/credentials", json=down, headers=bearer())
    assert response.status_code == 502 and "retry later" in response.json()["message"]


def test_enable_without_connection_is_400(http: httpx.Client, bearer: Any, wf1: str) -> None:
    response = http.post(f"/workflows/{wf1}", headers=bearer("lonely"))
    assert response.status_code == 400 and "not connected Marketo" in response.json()["message"]


def test_integrations_lists_deployed_workflows_only(
    stub: Any, http: httpx.Client, bearer: Any, wf1: str
) -> None:
    stub.add_workflow(SEED_SPEC.replace(WORKFLOW, "Draft only"))  # never deployed
    [marketo] = http.get("/integrations", headers=bearer()).json()
    assert marketo["type"] == "marketo" and marketo["hasCredential"] is False
    assert [w["id"] for w in marketo["workflows"]] == [wf1]


def test_strict_project_answers_422_with_field_errors(
    stub: Any, http: httpx.Client, bearer: Any
) -> None:
    stub.strict = True
    payload = {**lead(), "email": 7}
    response = http.post("/events/trigger", json={"name": EVENT["name"], "payload": payload},
                         headers=bearer())  # fmt: skip
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "email" and error["message"]
    assert events(stub) == []


def test_internal_errors_are_500_json_without_token(
    stub: Any, bearer: Any, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kw: Any) -> str:
        raise RuntimeError("kaput")

    monkeypatch.setattr(stub, "trigger_event", boom)
    headers = bearer()
    with httpx.Client(
        transport=httpx.WSGITransport(app=RestApp(stub)), base_url="http://t"
    ) as client:
        response = client.post(
            f"/projects/{stub.id}/sdk/events/trigger", json=EVENT, headers=headers
        )
    assert response.status_code == 500 and response.json()["message"].startswith("internal error")
    token = headers["Authorization"].split()[1]
    assert token not in caplog.text


def test_loopback_server_serves_concurrent_clients(stub: Any, bearer: Any) -> None:
    headers = bearer()
    with serve_project(stub) as handle:
        assert handle.url.startswith("http://127.0.0.1:")
        url = f"{handle.project_url}/sdk/events/trigger"

        def post(i: int) -> int:
            body = {"name": "Lead Created", "payload": {"i": i}}
            return httpx.post(url, json=body, headers=headers, timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(40)))
        big = httpx.post(url, content=b"x" * 2_000_000, headers=headers, timeout=10)
    assert statuses == [201] * 40
    assert sorted(e[2]["i"] for e in events(stub)) == list(range(40))
    assert big.status_code == 413
    assert "127.0.0.1" in repr(handle)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_bodies = _json | st.fixed_dictionaries({"name": _json | st.text(max_size=12), "payload": _json})


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies)
def test_any_json_body_is_201_or_400_never_500(
    stub: Any, http: httpx.Client, bearer: Any, body: Any
) -> None:
    before = len(events(stub))
    response = http.post("/events/trigger", json=body, headers=bearer())
    valid = (
        isinstance(body, dict)
        and isinstance(body.get("name"), str)
        and body["name"].strip() != ""
        and isinstance(body.get("payload"), dict)
    )
    assert response.status_code == (201 if valid else 400), (body, response.text)
    assert len(events(stub)) == before + (1 if valid else 0)
    assert isinstance(response.json()["eventId" if valid else "message"], str)


def test_debug_logs_never_contain_the_token(stub: Any, bearer: Any, caplog: Any) -> None:
    headers = bearer()
    token = headers["Authorization"].split()[1]
    caplog.set_level(logging.DEBUG)
    with serve_project(stub) as handle:
        url = f"{handle.project_url}/sdk/events/trigger"
        assert httpx.post(url, json=EVENT, headers=headers, timeout=10).status_code == 201
        assert httpx.post(url, content=b"{", headers=headers, timeout=10).status_code == 400
    assert "events/trigger" in caplog.text  # the request was logged ...
    assert token not in caplog.text and token[-20:] not in caplog.text  # ... without the token


def test_workflows_can_be_named_by_name(
    http: httpx.Client, bearer: Any, wf1: str, newsletter: int
) -> None:
    auth = bearer("u")
    cred_id = http.post("/credentials", json=CREDS, headers=auth).json()["id"]
    setting = {"marketo_list": newsletter}
    by_name = {WORKFLOW: {"enabled": False, "settings": setting}}
    patched = http.patch(
        f"/credentials/{cred_id}", json={"config": {"workflowSettings": by_name}}, headers=auth
    )
    assert patched.json()["config"]["workflowSettings"][wf1] == {
        "enabled": False,
        "settings": setting,
    }
    assert http.post(f"/workflows/{WORKFLOW}", headers=auth).status_code == 200
    assert http.post(f"/workflows/{wf1}", headers=auth).status_code == 409


def test_a_cut_short_event_over_the_socket_is_400_and_records_nothing(
    stub: Any, bearer: Any
) -> None:
    import socket

    body = json.dumps(EVENT).encode()
    with serve_project(stub) as handle:
        head = (
            f"POST /projects/{stub.id}/sdk/events/trigger HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: {bearer()['Authorization']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", int(handle.url.rsplit(":", 1)[1])), 10) as s:
            s.sendall(head + body[:-5])  # the client dies before its last 5 bytes
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Content-Length" in answer and events(stub) == []


def test_backpressure_is_a_429_with_retry_after_and_records_nothing(
    stub: Any, bearer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paragon_nb.errors import BackpressureError
    from paragon_nb.runtime.sdk import Paragon

    def full_queue(*args: Any, **kw: Any) -> Any:
        raise BackpressureError("the project holds 5 queued runs", retry_after=2.2)

    full = stub
    monkeypatch.setattr(full, "trigger_event", full_queue)
    app = RestApp(full)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        response = client.post(
            f"/projects/{full.id}/sdk/events/trigger", json=EVENT, headers=bearer()
        )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"  # whole seconds, rounded up
    assert response.json() == {"message": "the project holds 5 queued runs"}
    assert events(full) == []
    with Paragon(full) as paragon:
        paragon.authenticate(full.id, bearer()["Authorization"].split()[1])
        with pytest.raises(BackpressureError) as raised:
            paragon.event("Lead Created", {"email": "a@x.com"})
    assert raised.value.retry_after == 3.0 and paragon.authenticated  # not logged out
