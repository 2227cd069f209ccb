"""CORS as a browser sees it, and the Connect API shapes the published SDK reads (issue 15)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from paragon_nb.runtime.cors import CorsPolicy
from paragon_nb.runtime.server import RestApp

from .conftest import CLIENT_SECRET, CREDS, events

PAGE = "http://127.0.0.1:5173"  # an app's dev frontend: another origin on this machine


def _client(project: Any, **kw: Any) -> httpx.Client:
    app = RestApp(project, **kw)
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"http://t/projects/{project.id}/sdk"
    )


def _preflight(client: httpx.Client, path: str, origin: str, method: str = "GET") -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,x-paragon-sdk-version",
        },
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/me", "PATCH"),
        ("/integrations", "GET"),
        ("/metadata", "GET"),
        ("/credentials", "GET"),
        ("/credentials/c-1", "PATCH"),
        ("/workflows/wf-1", "DELETE"),
        ("/integrations/i-1", "DELETE"),
        ("/actions", "POST"),
        ("/events/trigger", "POST"),
    ],
)
def test_every_route_answers_the_preflight_of_an_allowed_origin(
    stub: Any, path: str, method: str
) -> None:
    with _client(stub) as client:
        answer = _preflight(client, path, PAGE, method)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert method in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-paragon-sdk-version"} <= set(allowed.split(", "))
    assert answer.headers["access-control-max-age"] == "600"
    assert "Origin" in answer.headers["vary"]


def test_the_v2_event_path_and_selection_headers_pass_the_preflight(stub: Any) -> None:
    with _client(stub) as client:
        answer = client.options(
            f"http://t/v2/projects/{stub.id}/sdk/events/trigger",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,idempotency-key,"
                "x-paragon-credential,x-paragon-configuration-id,x-evil",
            },
        )
    assert answer.status_code == 204
    allowed = answer.headers["access-control-allow-headers"].lower().split(", ")
    assert allowed == [
        "authorization",
        "idempotency-key",
        "x-paragon-credential",
        "x-paragon-configuration-id",
    ]  # x-evil is left out, so the browser refuses that request


def test_answers_carry_the_origin_and_expose_retry_after(stub: Any, bearer: Any) -> None:
    with _client(stub) as client:
        answer = client.get("/me", headers={**bearer(), "Origin": PAGE})
        refused = client.get("/me", headers={"Origin": PAGE})  # no token: still readable
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == PAGE
    assert answer.headers["access-control-expose-headers"] == "Retry-After"
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == PAGE
    assert "access-control-allow-credentials" not in answer.headers  # no cookies, ever


def test_an_origin_not_allowed_gets_no_cors_headers(stub: Any, bearer: Any) -> None:
    with _client(stub) as client:
        preflight = _preflight(client, "/me", "https://evil.example")
        direct = client.get("/me", headers={**bearer(), "Origin": "https://evil.example"})
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert "--cors-origin https://evil.example" in preflight.json()["message"]
    assert "access-control-allow-origin" not in direct.headers  # the browser hides the body


def test_configured_origins_replace_the_loopback_default(stub: Any) -> None:
    with _client(stub, cors_origins=["https://app.example.com"]) as client:
        assert _preflight(client, "/me", "https://app.example.com").status_code == 204
        assert _preflight(client, "/me", PAGE).status_code == 403
    with _client(stub, cors_origins="*") as client:
        answer = _preflight(client, "/me", "https://anywhere.example")
    assert answer.headers["access-control-allow-origin"] == "*"
    with _client(stub) as client:
        assert _preflight(client, "/nope", PAGE).status_code == 404
    with pytest.raises(ValueError, match="scheme://host"):
        CorsPolicy(["app.example.com/path"])


def test_me_has_the_shape_the_sdk_reads(stub: Any, bearer: Any, wf1: str, newsletter: int) -> None:
    auth = bearer("u")
    with _client(stub) as client:
        empty = client.get("/me", headers=auth).json()
        assert empty["integrations"]["marketo"]["allCredentials"] == []
        cred_id = client.post("/credentials", json=CREDS, headers=auth).json()["id"]
        stub.set_workflow_settings("u", wf1, {"marketo_list": newsletter})
        assert client.post(f"/workflows/{wf1}", headers=auth).status_code == 200
        me = client.get("/me", headers=auth).json()
        integrations = client.get("/integrations", headers=auth).json()
        metadata = client.get("/metadata", headers=auth).json()
        listed = client.get(
            "/credentials?integration=marketo&includeAccountAuth=true", headers=auth
        )
        other = client.get("/credentials?integration=hubspot", headers=auth).json()
    assert me["authenticated"] is True and me["userId"] == "u" and me["resources"] == []
    assert "headless-cp" in me["project"]["accessibleFeatures"]
    marketo = me["integrations"]["marketo"]
    [credential] = marketo["allCredentials"]
    [config] = credential["configurations"]
    assert credential["id"] == cred_id == marketo["credentialId"]
    assert uuid.UUID(cred_id) and uuid.UUID(config["id"])  # the SDK takes non-UUIDs for ext ids
    assert config["isDefault"] is True and config["connectCredentialId"] == cred_id
    assert config["workflowSettings"][wf1]["enabled"] is True
    assert marketo["allConfigurations"] == [config]
    assert marketo["credentialConfigId"] == config["id"]
    assert marketo["configuredWorkflows"] == marketo["workflowSettings"]
    [integration] = integrations
    assert integration["type"] == "marketo" and integration["isActive"] is True
    assert list(integration["configs"][0]["values"]["workflowMeta"]) == [wf1]
    assert [(m["type"], m["name"]) for m in metadata] == [("marketo", "Marketo")]
    assert [c["id"] for c in listed.json()] == [cred_id] and CLIENT_SECRET not in listed.text
    assert other == []


def test_selection_headers_must_name_the_users_own_credential(
    stub: Any, bearer: Any, wf1: str, newsletter: int
) -> None:
    auth = bearer("u")
    with _client(stub) as client:
        cred_id = client.post("/credentials", json=CREDS, headers=auth).json()["id"]
        stub.set_workflow_settings("u", wf1, {"marketo_list": newsletter})
        config_id = client.get("/me", headers=auth).json()["integrations"]["marketo"][
            "credentialConfigId"
        ]
        mine = {**auth, "X-Paragon-Credential": cred_id, "X-Paragon-Configuration-Id": config_id}
        assert client.post(f"/workflows/{wf1}", headers=mine).status_code == 200
        wrong = client.delete(f"/workflows/{wf1}", headers={**mine, "X-Paragon-Credential": "c-2"})
        wrong_config = client.delete(
            f"/workflows/{wf1}", headers={**mine, "X-Paragon-Configuration-Id": "cfg-2"}
        )
        assert client.delete(f"/workflows/{wf1}", headers=mine).status_code == 200
    assert wrong.status_code == 404 and "X-Paragon-Credential" in wrong.json()["message"]
    assert wrong_config.status_code == 404


def test_the_sdk_portal_iframe_gets_a_page_saying_where_to_connect(stub: Any) -> None:
    with _client(stub) as client:
        answer = client.get(f"http://t/ui?projectId={stub.id}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "Paragon(project).connect('marketo')" in answer.text


def test_an_event_with_a_foreign_credential_header_is_refused(stub: Any, bearer: Any) -> None:
    event = {"name": "Lead Created", "payload": {"email": "a@x.com"}}
    with _client(stub) as client:
        wrong = client.post(
            "/events/trigger", json=event, headers={**bearer(), "X-Paragon-Credential": "c-9"}
        )
        plain = client.post("/events/trigger", json=event, headers=bearer())
    assert (wrong.status_code, plain.status_code) == (404, 201)
    assert len(events(stub)) == 1
