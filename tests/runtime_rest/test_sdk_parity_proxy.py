"""The SDK's proxy (``Paragon.request`` / ``/sdk/proxy/marketo/{path}``), ``subscribe`` and
the user calls (metadata, uninstall, integration metadata) against a real project and the
sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from paragon_nb.errors import ProxyRequestError
from paragon_nb.runtime.gateway import marketo_path
from paragon_nb.runtime.sdk import Paragon
from paragon_nb.runtime.server import RestApp

from .e2e import EVENT, lead
from .sdk_parity import ENDPOINT, IDENTITY, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Any:
    world = make_world(tmp_path / "proj")
    yield world
    world.project.close()


@pytest.fixture
def paragon(world: World) -> Any:
    world.connect("user-1")
    paragon = Paragon(world.project, clock=world.clock)
    paragon.authenticate(world.project.id, world.token("user-1"))
    yield paragon
    paragon.close()


def test_marketo_paths() -> None:
    assert marketo_path("leads.json") == "/rest/v1/leads.json"
    assert marketo_path("/v1/leads.json") == "/rest/v1/leads.json"
    assert marketo_path("/rest/v1/lists.json") == "/rest/v1/lists.json"
    assert marketo_path("asset/v1/folders.json") == "/rest/asset/v1/folders.json"
    assert marketo_path("/bulk/v1/leads/export.json") == "/bulk/v1/leads/export.json"
    for bad in ("/identity/oauth/token", "v1/../../identity", "https://evil.example/v1/x"):
        with pytest.raises(ValueError, match="not a Marketo REST path"):
            marketo_path(bad)


def test_request_reads_and_writes_with_the_users_credential(world: World, paragon: Paragon) -> None:
    created = paragon.request(
        "marketo",
        "leads.json",
        method="POST",
        body={"action": "createOrUpdate", "input": [{"email": "ada@example.com"}]},
    )
    assert created["success"] is True and created["result"][0]["status"] == "created"
    lead_id = created["result"][0]["id"]
    found = paragon.request(
        "marketo", "/v1/leads.json?filterType=email&filterValues=ada@example.com"
    )
    assert [r["id"] for r in found["result"]] == [lead_id]
    assert [r["email"] for r in world.sandbox.leads()] == ["ada@example.com"]


def test_proxy_over_rest_output_and_raw_mode(world: World) -> None:
    world.connect("user-1")
    world.sandbox.create_list("Webinar")
    app = RestApp(world.project)
    auth = {"Authorization": f"Bearer {world.token('user-1')}"}
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as http:
        url = f"/projects/{world.project.id}/sdk/proxy/marketo/rest/asset/v1/staticLists.json"
        wrapped = http.get(url, headers=auth)
        assert wrapped.status_code == 200
        names = {x["name"] for x in wrapped.json()["output"]["result"]}
        assert {"Newsletter", "Webinar"} <= names
        raw = http.get(url, headers={**auth, "X-Paragon-Use-Raw-Response": "1"})
        assert raw.status_code == 200 and "output" not in raw.json()
        assert raw.json()["result"] == wrapped.json()["output"]["result"]
        # nobody else's token, no token, an unconnected user
        assert http.get(url).status_code == 401
        other = {"Authorization": f"Bearer {world.token('user-2')}"}
        missing = http.get(url, headers=other)
        assert missing.status_code == 404 and "not installed" in missing.json()["message"]
        unknown = http.get(f"/projects/{world.project.id}/sdk/proxy/salesforce/x", headers=auth)
        assert unknown.status_code == 404 and "'marketo'" in unknown.json()["message"]


def test_proxy_failures_raise_proxy_request_error_without_logging_out(
    paragon: Paragon,
) -> None:
    with pytest.raises(ProxyRequestError) as caught:
        paragon.request("marketo", "v1/no-such-thing.json")
    assert caught.value.status_code in (400, 404)
    assert isinstance(caught.value.response, dict) and caught.value.response["message"]
    assert paragon.authenticated  # unlike other calls, a proxy failure keeps the session
    with pytest.raises(ProxyRequestError, match="not a Marketo REST path"):
        paragon.request("marketo", "/identity/oauth/token")


def test_proxy_spends_the_same_marketo_budget_as_the_workflow(tmp_path: Path) -> None:
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.sandbox.app import SandboxApp

    sandbox = SandboxApp(rate_limit=None)
    budget = 8

    def factory(creds: Any) -> MarketoClient:
        return MarketoClient(
            creds.endpoint, creds.client_id, creds.client_secret, identity=creds.identity,
            transport=sandbox.transport(), daily_budget=budget,
        )  # fmt: skip

    world = make_world(tmp_path / "budget")
    world.project.close()
    from paragon_nb.runtime.project import Project

    project = Project.open(tmp_path / "budget", clock=world.clock, client_factory=factory)
    world.seeded.project = project
    world.sandbox = sandbox
    world.list_id = int(sandbox.create_list("Newsletter")["id"])
    try:
        world.connect("user-1")
        project.trigger_event("user-1", EVENT, lead(1))
        assert project.wait_idle(timeout=60)
        client = project.marketo_client("user-1")
        used = client.stats.calls  # the connect check + the workflow's upsert and list add
        assert used >= 3
        paragon = Paragon(project, clock=world.clock)
        paragon.authenticate(project.id, world.token("user-1"))
        answers = []
        for _ in range(budget + 2):
            try:
                answers.append(paragon.request("marketo", "v1/lists.json")["success"])
            except ProxyRequestError as exc:
                answers.append(exc.status_code)
        assert answers[: budget - used] == [True] * (budget - used)
        assert set(answers[budget - used :]) == {429}
        assert client.stats.calls == budget  # every call, the proxy's too, on one budget
    finally:
        project.close()


def test_subscribe_hears_install_workflow_changes_and_uninstall(world: World) -> None:
    heard: list[tuple[str, dict, dict]] = []
    paragon = Paragon(world.project, clock=world.clock)
    paragon.authenticate(world.project.id, world.token("user-9"))
    for name in ("onIntegrationInstall", "onIntegrationUninstall", "onWorkflowChange"):
        paragon.subscribe(name, lambda event, user, name=name: heard.append((name, event, user)))
    off = paragon.subscribe("onWorkflowChange", lambda e, u: heard.append(("extra", e, u)))
    assert off() is True and off() is False
    with pytest.raises(ValueError, match="did you mean 'onWorkflowChange'"):
        paragon.subscribe("onWorkflowChanged", print)

    paragon.install_integration(
        "marketo",
        endpoint=ENDPOINT,
        identity=IDENTITY,
        client_id=world.sandbox.client_id,
        client_secret=world.sandbox.client_secret,
    )
    [integration] = paragon.get_integrations()
    [workflow] = integration["workflows"]
    paragon.update_workflow_settings("marketo", workflow["id"], {"marketo_list": world.list_id})
    paragon.enable_workflow(workflow["id"])
    paragon.disable_workflow(workflow["id"])
    paragon.uninstall_integration("marketo")

    names = [h[0] for h in heard]
    assert names == [
        "onIntegrationInstall",
        "onWorkflowChange",
        "onWorkflowChange",
        "onWorkflowChange",
        "onIntegrationUninstall",
    ]
    install, settings, enabled, disabled, uninstall = (h[1] for h in heard)
    assert install["integrationType"] == "marketo"
    assert install["integrationId"] == integration["id"] and install["credentialId"]
    assert uninstall["credentialId"] == install["credentialId"]
    assert settings["workflowStateChange"] == {"settings": {"marketo_list": world.list_id}}
    assert enabled["workflowStateChange"] == {"enabled": True}
    assert disabled["workflowStateChange"] == {"enabled": False}
    assert enabled["workflowId"] == workflow["id"]
    assert heard[0][2]["userId"] == "user-9" and "token" not in heard[0][2]


def test_user_metadata_uninstall_and_integration_metadata(world: World, paragon: Paragon) -> None:
    state = paragon.set_user_metadata({"Name": "Ada", "Email": "ada@example.com"})
    assert state["meta"] == {"Name": "Ada", "Email": "ada@example.com"}
    assert world.project.user_state("user-1").meta["Name"] == "Ada"
    app = RestApp(world.project)
    auth = {"Authorization": f"Bearer {world.token('user-1')}"}
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as http:
        meta = http.get(f"/projects/{world.project.id}/sdk/metadata", headers=auth).json()
        assert meta == [{"type": "marketo", "name": "Marketo", "brandColor": meta[0]["brandColor"],
                         "icon": meta[0]["icon"]}]  # fmt: skip
    paragon.uninstall_integration("marketo")
    state = world.project.user_state("user-1")
    assert state.connection is None and state.workflows == {}


def test_the_proxy_host_follows_paragons_cloud_or_the_given_server() -> None:
    from paragon_nb.runtime.sdk import DEFAULT_BASE_URL

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/sdk/me"):
            return httpx.Response(200, json={"userId": "u", "meta": {}, "integrations": {}})
        if request.url.path.endswith("/sdk/integrations"):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"output": {"success": True}})

    from paragon_nb.tokens import SigningKey, sign_user_token

    token = sign_user_token(SigningKey.generate().private_pem, "u")
    for base, proxy in [
        (DEFAULT_BASE_URL, "https://proxy.useparagon.com"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ]:
        seen.clear()
        with Paragon(base_url=base, transport=httpx.MockTransport(handler)) as paragon:
            paragon.authenticate("pid", token)
            assert paragon.request("marketo", "v1/lists.json") == {"success": True}
        assert seen[-1] == f"{proxy}/projects/pid/sdk/proxy/marketo/v1/lists.json"
        assert all(url.startswith(base) for url in seen[:-1])
