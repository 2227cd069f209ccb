"""The Task History API over REST against a real project: API-key auth (and the attacks on
both doors), filters, pages of 100, one execution and its steps, DELAYED runs, replay."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from paragon_nb.errors import NotFoundError
from paragon_nb.runtime.server import RestApp

from .e2e import lead
from .sdk_parity import World, make_world

NOOP_WORKFLOW = """\
name: Tag leads
trigger:
  app_event: Lead Created
steps:
  - id: tag
    action: python
    function: tag
    input: {email: "{{event.email}}"}
"""


@pytest.fixture
def world(tmp_path: Path) -> Any:
    world = make_world(tmp_path / "proj")
    world.project.register_function("tag", lambda email: {"tag": email.upper()}, output={})
    world.connect("user-1")
    world.connect("user-2")
    yield world
    world.project.close()


@pytest.fixture
def api(world: World) -> Any:
    app = RestApp(world.project)
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=f"http://t/projects/{world.project.id}"
    ) as client:
        yield client


def _key(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.project.create_api_key('ci').key}"}


def _run_events(world: World, sub: str, n: int) -> list[str]:
    runs = []
    for i in range(n):
        receipt = world.project.trigger_event(sub, "Lead Created", lead(f"{sub}-{i}"))
        runs.extend(receipt.run_ids)
    assert world.project.wait_idle(timeout=120)
    return runs


EXECUTIONS = "/task-history/workflow-executions"


def test_api_key_is_shown_once_and_stored_hashed(world: World) -> None:
    issued = world.project.create_api_key("dashboard")
    assert issued.key.startswith("pnb_") and issued.key not in repr(issued)
    [listed] = world.project.api_keys()
    assert listed.id == issued.id and listed.name == "dashboard" and listed.active
    raw = (world.project.path / "project.sqlite3").read_bytes()
    assert issued.key.encode() not in raw and issued.key not in repr(listed)
    assert world.project.verify_api_key(issued.key) == issued.id
    with pytest.raises(NotFoundError, match="no active API key"):
        world.project.revoke_api_key("nope")


def test_user_token_is_refused_on_task_history(world: World, api: httpx.Client) -> None:
    answer = api.get(EXECUTIONS, headers={"Authorization": f"Bearer {world.token()}"})
    assert answer.status_code == 401
    assert "project API key" in answer.json()["message"]
    assert "not a user token" in answer.json()["message"]
    assert api.get(EXECUTIONS).status_code == 401  # no header
    garbage = api.get(EXECUTIONS, headers={"Authorization": "Bearer pnb_0123456789ab_" + "x" * 43})
    assert garbage.status_code == 401 and "unknown or revoked" in garbage.json()["message"]


def test_api_key_is_refused_on_sdk_routes(world: World, api: httpx.Client) -> None:
    headers = _key(world)
    for method, path in [
        ("GET", "/sdk/me"),
        ("POST", "/sdk/events/trigger"),
        ("GET", "/sdk/integrations"),
        ("GET", "/sdk/proxy/marketo/v1/leads.json"),
    ]:
        answer = api.request(method, path, headers=headers, json={"name": "x", "payload": {}})
        assert answer.status_code in (401, 404), (path, answer.text)
        if answer.status_code == 401:
            assert "API key only opens the Task History API" in answer.json()["message"]
    assert api.get("/sdk/me", headers=headers).status_code == 401
    assert world.project.events() == []  # nothing was accepted


def test_a_revoked_key_is_refused(world: World, api: httpx.Client) -> None:
    issued = world.project.create_api_key()
    headers = {"Authorization": f"Bearer {issued.key}"}
    assert api.get(EXECUTIONS, headers=headers).status_code == 200
    world.project.revoke_api_key(issued.id)
    answer = api.get(EXECUTIONS, headers=headers)
    assert answer.status_code == 401 and "revoked" in answer.json()["message"]


def test_list_filters_and_pages_of_100(world: World, api: httpx.Client) -> None:
    project = world.project
    project.add_workflow(NOOP_WORKFLOW)
    project.deploy("Tag leads")
    project.enable_workflow("user-1", "Tag leads")
    tag_id = project.workflow("Tag leads").id
    ones = _run_events(world, "user-1", 60)  # 2 runs each: seed + tag
    world.clock.advance(3600)
    cut = world.clock.time()
    twos = _run_events(world, "user-2", 5)  # the seed workflow only
    headers = _key(world)

    page = api.get(EXECUTIONS, headers=headers).json()
    assert page["total"] == len(ones) + len(twos) == 125
    assert len(page["data"]) == 100 and page["nextLink"].endswith("offset=100")
    assert page["data"][0]["id"] in twos  # newest first
    rest = api.get(page["nextLink"].removeprefix(f"/projects/{project.id}"), headers=headers)
    assert len(rest.json()["data"]) == 25 and rest.json()["nextLink"] is None
    seen = {e["id"] for e in page["data"]} | {e["id"] for e in rest.json()["data"]}
    assert seen == set(ones) | set(twos)

    def ids(**query: str) -> set[str]:
        answer = api.get(EXECUTIONS, headers=headers, params=query)
        assert answer.status_code == 200, answer.text
        return {e["id"] for e in answer.json()["data"]}

    assert ids(userId="user-2") == set(twos)
    tagged = ids(workflowId=str(tag_id), userId="user-1")
    assert len(tagged) == 60 and tagged <= set(ones)
    assert ids(afterDate=str(int(cut * 1000))) == set(twos)
    assert len(ids(beforeDate=_iso(cut))) == 100  # first page of the 120
    assert ids(status="SUCCEEDED", userId="user-2") == set(twos)
    assert ids(status="FAILED") == set() and ids(status="EXECUTING,DELAYED") == set()
    assert ids(integration="salesforce") == set()
    bad = api.get(EXECUTIONS, headers=headers, params={"status": "SUCEEDED"})
    assert bad.status_code == 400 and "did you mean 'SUCCEEDED'" in bad.json()["message"]
    bad = api.get(EXECUTIONS, headers=headers, params={"beforeDate": "yesterday"})
    assert bad.status_code == 400 and "beforeDate='yesterday'" in bad.json()["message"]


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_one_execution_its_steps_and_replay(world: World, api: httpx.Client) -> None:
    [run_id] = _run_events(world, "user-1", 1)
    headers = _key(world)
    execution = api.get(f"{EXECUTIONS}/{run_id}", headers=headers).json()
    assert execution["status"] == "SUCCEEDED" and execution["userId"] == "user-1"
    assert execution["taskCount"] == 2  # upsert + add to list
    assert execution["runDuration"] is not None and execution["dateEnded"].endswith("Z")
    steps = execution["stepExecutions"]
    assert [s["stepId"] for s in steps] == ["trigger", "upsert_lead", "add_to_list"]
    assert steps[0]["type"] == "TRIGGER/APP_EVENT" and steps[1]["type"] == "ACTION/MARKETO"
    assert steps[1]["prev"] == steps[0]["id"] and steps[1]["next"] == [steps[2]["id"]]
    listed = api.get(f"{EXECUTIONS}/{run_id}/step-executions", headers=headers).json()
    assert listed == steps
    one = api.get(f"{EXECUTIONS}/{run_id}/step-executions/{steps[1]['id']}", headers=headers)
    assert one.json()["input"]["fields"]["email"] == "ada" + "user-1-0@example.com"
    assert one.json()["output"]["status"] in ("created", "updated")
    missing = api.get(f"{EXECUTIONS}/{run_id}/step-executions/nope", headers=headers)
    assert missing.status_code == 404 and "upsert_lead" in missing.json()["message"]
    assert api.get(f"{EXECUTIONS}/nope", headers=headers).status_code == 404

    replay = api.post(f"{EXECUTIONS}/{run_id}/replay", headers=headers)
    assert replay.status_code == 201
    new_id = replay.json()["executionId"]
    assert world.project.wait_idle(timeout=60)
    again = api.get(f"{EXECUTIONS}/{new_id}", headers=headers).json()
    assert again["replayOf"] == run_id and again["status"] == "SUCCEEDED"
    user_token = {"Authorization": f"Bearer {world.token()}"}
    assert api.post(f"{EXECUTIONS}/{run_id}/replay", headers=user_token).status_code == 401


def test_failed_and_delayed_executions(world: World, api: httpx.Client) -> None:
    project = world.project
    project.register_function("tag", lambda email: 1 / 0, output={})
    project.add_workflow(NOOP_WORKFLOW)
    project.deploy("Tag leads")
    project.enable_workflow("user-2", "Tag leads")
    project.disable_workflow("user-2", "Sync new leads to Marketo")
    [failed] = _run_events(world, "user-2", 1)
    [waiting] = _run_events(world, "user-1", 1)
    headers = _key(world)
    assert api.get(f"{EXECUTIONS}/{failed}", headers=headers).json()["status"] == "FAILED"
    # a run whose Marketo write waits for a retry time (as after a 606 rate limit): put the
    # store in that state, as the engine leaves it, and read it back
    resume = world.clock.time() + 90
    conn = sqlite3.connect(project.path / "project.sqlite3")
    with conn:
        conn.execute("UPDATE runs SET status = 'running', ended = NULL WHERE id = ?", (waiting,))
        conn.execute(
            "INSERT INTO marketo_work(run_id, step_id, sub, op, call_key, payload, attempts, "
            "not_before) VALUES (?, 'add_to_list', 'user-1', 'add', '[1]', '[1]', 1, ?)",
            (waiting, resume),
        )
    conn.close()
    delayed = api.get(f"{EXECUTIONS}/{waiting}", headers=headers).json()
    assert delayed["status"] == "DELAYED" and delayed["resumeAt"] is not None
    assert delayed["resumeAt"] == _iso_ms(resume)
    listed = api.get(EXECUTIONS, headers=headers, params={"status": "DELAYED"}).json()
    assert [e["id"] for e in listed["data"]] == [waiting]
    world.clock.advance(91)  # the resume time passed: running again
    assert api.get(f"{EXECUTIONS}/{waiting}", headers=headers).json()["status"] == "EXECUTING"
    listed = api.get(EXECUTIONS, headers=headers, params={"status": "EXECUTING"}).json()
    assert [e["id"] for e in listed["data"]] == [waiting]


def _iso_ms(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_rate_limit_1000_requests_per_10_minutes(world: World, api: httpx.Client) -> None:
    history = world.project.task_history
    assert (history.limit, history.window) == (1000, 600)
    headers = _key(world)
    assert api.get(EXECUTIONS, headers=headers).status_code == 200  # request 1
    world.clock.advance(300)
    for _ in range(999):  # requests 2..1000, counted as the API counts them
        history.admit()
    refused = api.get(EXECUTIONS, headers=headers)
    assert refused.status_code == 429 and "1000 requests per 600 s" in refused.json()["message"]
    assert refused.headers["Retry-After"] == "300"  # when request 1 leaves the window
    world.clock.advance(300)
    assert api.get(EXECUTIONS, headers=headers).status_code == 200


def test_a_run_held_until_a_resume_time_is_delayed(world: World, api: httpx.Client) -> None:
    [run_id] = _run_events(world, "user-1", 1)
    resume = world.clock.time() + 3600  # e.g. a Delay step: the run waits as data
    conn = sqlite3.connect(world.project.path / "project.sqlite3")
    with conn:
        conn.execute(
            "UPDATE runs SET status = 'queued', ended = NULL, not_before = ? WHERE id = ?",
            (resume, run_id),
        )
    conn.close()
    execution = api.get(f"{EXECUTIONS}/{run_id}", headers=_key(world)).json()
    assert (execution["status"], execution["resumeAt"]) == ("DELAYED", _iso_ms(resume))
