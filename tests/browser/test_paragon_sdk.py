"""Paragon's published SDK (``@useparagon/connect`` 2.4.0, from the npm registry) in headless
Chromium, in a page on another origin, against ``paragon-nb serve`` (issue 15).

The browser enforces CORS (no flag relaxes it): the page's origin is allowed with
``--cors-origin``, and the same page on an origin that is not allowed cannot even
authenticate. ``.ci/run`` fetches the bundle into ``.cache/`` (git-ignored).

No sleeps: the lead's arrival is awaited on a condition the sandbox notifies after every
call it answers, bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paragon_nb._serving import BackgroundServer
from paragon_nb.runtime.examples import (
    LEAD_CREATED_EXAMPLE,
    SEED_WORKFLOW_NAME,
    SEED_WORKFLOW_YAML,
)
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.tokens import sign_user_token

from .lab import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
SDK_BUNDLE = Path(
    os.environ.get(
        "PARAGON_CONNECT_SDK",
        ROOT / ".cache" / "useparagon-connect-2.4.0" / "package" / "dist" / "src" / "index.js",
    )
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
WAIT = 30.0

PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>app</title>
<script>window.module = {exports: {}}; window.exports = window.module.exports;</script>
<script src="/connect.js"></script>
<script>window.paragon = window.module.exports.paragon;</script>
</head><body>an app's frontend</body></html>"""

# every service URL of the SDK at the one local origin (reference §2.6)
SERVICES = (
    "ZEUS_PUBLIC_URL",
    "HERMES_PUBLIC_URL",
    "CONNECT_PUBLIC_URL",
    "PASSPORT_PUBLIC_URL",
    "PASSPORT_PRODUCTION_URL",
    "CDN_PUBLIC_URL",
    "DASHBOARD_PUBLIC_URL",
    "WORKER_PROXY_PUBLIC_URL",
    "API_TRIGGER_KIT_PUBLIC_URL",
)


class Notifying:
    """The sandbox app, notifying ``changed`` after each answer (so waits need no polling)."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.changed = threading.Condition()

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        try:
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.changed.notify_all()


def _static(bundle: bytes) -> Callable:
    def app(environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO")
        body, kind = (bundle, "text/javascript") if path == "/connect.js" else (PAGE, "text/html")
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return app


@pytest.fixture
def bundle() -> bytes:
    if not SDK_BUNDLE.exists():
        reason = f"@useparagon/connect 2.4.0 not at {SDK_BUNDLE}: .ci/run fetches it from npm"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return SDK_BUNDLE.read_bytes()


@pytest.fixture
def world(tmp_path: Path, isolated_env: Path, bundle: bytes) -> Iterator[dict[str, Any]]:
    """A sandbox, a project with a connected user, ``paragon-nb serve`` and the page server."""
    sandbox = Notifying(SandboxApp(rate_limit=None))
    with (
        BackgroundServer(sandbox) as marketo,
        BackgroundServer(_static(bundle)) as pages,
    ):
        listing = sandbox.app.create_list("Newsletter")
        project = Project.create("SDK app", path=tmp_path / "proj")
        key = project.generate_signing_key()
        project.define_app_event("Lead Created", example=LEAD_CREATED_EXAMPLE)
        workflow = project.add_workflow(SEED_WORKFLOW_YAML)
        project.deploy(SEED_WORKFLOW_NAME)
        project.connect_user(
            "user-1",
            "marketo",
            endpoint=marketo.url + "/rest",
            identity=marketo.url + "/identity",
            client_id=sandbox.app.client_id,
            client_secret=sandbox.app.client_secret,
        )
        project.set_workflow_settings("user-1", SEED_WORKFLOW_NAME, {"marketo_list": listing["id"]})
        project.enable_workflow("user-1", SEED_WORKFLOW_NAME)
        project.close()
        page_origin = f"http://127.0.0.1:{pages.port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "paragon_nb.cli", "serve", str(tmp_path / "proj"),
             "--cors-origin", page_origin],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # fmt: skip
        try:
            info = json.loads(proc.stdout.readline() if proc.stdout else "{}")
            yield {
                "api": info["url"],
                "pid": info["project_id"],
                "token": sign_user_token(key.private_pem, "user-1"),
                "workflow": str(workflow.id),
                "page": page_origin,
                "other_page": f"http://localhost:{pages.port}",  # same page, origin not allowed
                "sandbox": sandbox,
                "list_id": listing["id"],
            }
        finally:
            proc.terminate()
            assert proc.wait(WAIT) == 0
            if proc.stdout:
                proc.stdout.close()


CONFIGURE = """
(w) => {
  const urls = Object.fromEntries(w.services.map((name) => [name, w.api]));
  window.paragon.configureGlobal({host: "localhost"}, urls);
}
"""

SIGN_IN_AND_SEND = """
async (w) => {
  const p = window.paragon;
  await p.authenticate(w.pid, w.token);
  const user = p.getUser();
  const updated = await p.setUserMetadata({Name: "Ada", Email: "ada@example.com"});
  await p.event("Lead Created", w.lead);
  return {user, meta: updated.meta};
}
"""

WORKFLOWS_AND_UNINSTALL = """
async (w) => {
  const p = window.paragon;
  const enabled = () => p.getUser().integrations.marketo.workflowSettings[w.workflow].enabled;
  await p.disableWorkflow(w.workflow);
  const off = enabled();
  let again = null;
  try { await p.disableWorkflow(w.workflow); } catch (e) { again = e.message; }
  await p.enableWorkflow(w.workflow);
  const on = enabled();
  const account = await p.getIntegrationAccount("marketo");
  const metadata = p.getIntegrationMetadata("marketo");
  const options = await p.getFieldOptions({integration: "marketo", action: "marketo_list"});
  const picked = options.data.find((o) => o.label === "Newsletter").value;
  await p.updateWorkflowUserSettings("marketo", w.workflow, {marketo_list: picked});
  const settings = p.getUser().integrations.marketo.workflowSettings[w.workflow].settings;
  const proxied = await p.request("marketo", "/v1/lists.json", {method: "GET"});
  let proxyError = null;
  try { await p.request("marketo", "/identity/oauth/token"); } catch (e) { proxyError = e.message; }
  const stillIn = p.getUser().authenticated;
  await p.uninstallIntegration("marketo");
  return {off, again, on, account, metadata, options, settings, proxied, proxyError, stillIn,
          after: p.getUser().integrations.marketo};
}
"""


def test_the_published_sdk_runs_the_seed_flow_against_paragon_nb_serve(
    world: dict[str, Any], chromium: str, playwright_api: Any
) -> None:
    lead = {**LEAD_CREATED_EXAMPLE, "email": "ada.browser@example.com"}
    args = {**{k: world[k] for k in ("api", "pid", "token", "workflow")}, "lead": lead}
    browser = playwright_api.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page()
        # an origin that is not allowed: the browser refuses the preflight
        page.goto(world["other_page"])
        page.evaluate(CONFIGURE, {"api": world["api"], "services": SERVICES})
        with pytest.raises(Exception, match="Failed to fetch"):
            page.evaluate(SIGN_IN_AND_SEND, args)

        page.goto(world["page"])
        page.evaluate(CONFIGURE, {"api": world["api"], "services": SERVICES})
        first = page.evaluate(SIGN_IN_AND_SEND, args)
        marketo = first["user"]["integrations"]["marketo"]
        assert first["user"]["userId"] == "user-1" and "token" not in first["user"]
        assert marketo["enabled"] is True and marketo["credentialStatus"] == "VALID"
        assert marketo["allConfigurations"][0]["workflowSettings"][world["workflow"]]["enabled"]
        assert first["meta"] == {"Name": "Ada", "Email": "ada@example.com"}

        sandbox = world["sandbox"]

        def in_list() -> bool:
            ids = {row["id"] for row in sandbox.app.leads() if row.get("email") == lead["email"]}
            return bool(ids & set(sandbox.app.list_members(world["list_id"])))

        with sandbox.changed:
            assert sandbox.changed.wait_for(in_list, timeout=WAIT)

        second = page.evaluate(WORKFLOWS_AND_UNINSTALL, args)
    finally:
        browser.close()
    assert (second["off"], second["on"]) == (False, True)
    assert "cannot be disabled" in second["again"]
    assert [c["status"] for c in second["account"]] == ["VALID"]
    assert second["metadata"]["name"] == "Marketo"
    assert {o["label"] for o in second["options"]["data"]} == {"Newsletter"}
    assert second["settings"] == {"marketo_list": world["list_id"]}  # as the project keeps it
    # the proxy: the SDK unwraps {"output": ...}; a refused path throws, the user stays in
    assert "Newsletter" in {x["name"] for x in second["proxied"]["result"]}
    assert second["proxyError"] and second["stillIn"] is True
    assert sandbox.app.client_secret not in json.dumps(second)
    assert not second["after"].get("credentialId")
    me = httpx.get(
        f"{world['api']}/projects/{world['pid']}/sdk/me",
        headers={"Authorization": f"Bearer {world['token']}"},
    ).json()
    assert me["integrations"]["marketo"]["allCredentials"] == []  # uninstalled server-side
