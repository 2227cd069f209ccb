"""Request steps (any URL, auth, bodies, pagination, the outbound allow-list) on an
httpx.MockTransport; Integration Request steps against the sandbox, through the limiter;
Paragon's condition operators."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import StepError, WorkflowSpecError
from paragon_nb.runtime.conditions import evaluate_condition
from paragon_nb.runtime.outbound import OutboundPolicy
from paragon_nb.runtime.workflows import parse_spec
from paragon_nb.sandbox.app import SandboxApp

from .test_batched_runs import open_project
from .test_flow_steps import setup_project

SEEN: list[httpx.Request] = []


def _api(request: httpx.Request) -> httpx.Response:
    SEEN.append(request)
    if request.url.path == "/missing":
        return httpx.Response(404, json={"message": "no such thing"})
    if request.url.path == "/pages":
        page = int(request.url.params.get("cursor", "0"))
        nxt = None if page == 2 else str(page + 1)
        return httpx.Response(200, json={"data": [page * 10, page * 10 + 1], "next": nxt})
    body = request.content.decode() or None
    return httpx.Response(
        200,
        json={"method": request.method, "query": dict(request.url.params), "body": body,
              "auth": request.headers.get("authorization"),
              "type": request.headers.get("content-type")},
    )  # fmt: skip


REQUESTS = """\
name: Call APIs
trigger: {app_event: Go}
steps:
  - id: post
    action: request
    method: post
    url: "http://127.0.0.1:8080/things"
    params: {q: "{{event.q}}"}
    body: {email: "{{event.email}}"}
    auth: {type: bearer, token: "tok-123456"}
  - id: form
    action: request
    method: PUT
    url: "http://localhost:8080/form"
    form: {a: "1"}
    auth: {type: basic, username: ada, password: "pw-secret"}
  - id: pages
    action: request
    url: "http://127.0.0.1:8080/pages"
    pagination: {items: data, next: next, param: cursor}
  - id: missing
    action: request
    url: "http://127.0.0.1:8080/missing"
    retry: false
    continue_on_failure: true
  - id: branch
    action: condition
    if: {left: "{{steps.missing.error.code}}", op: "=", right: 404}
    then:
      - {id: lookup, action: marketo.request, path: /v1/leads.json,
         params: {filterType: email, filterValues: "{{event.email}}"}}
"""


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)


def test_request_steps_send_methods_bodies_auth_and_follow_pages(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    SEEN.clear()
    path = tmp_path / "p"
    setup_project(path, clock, app, REQUESTS, {"q": "x", "email": "a@x.com"})
    transport = httpx.MockTransport(_api)
    with open_project(path, clock, app, http_transport=transport) as project:
        client = project.marketo_client("user-1")
        client.sync_leads([{"email": "ada@x.com", "firstName": "Ada"}])
        run_id = project.trigger_event("user-1", "Go", {"q": "x", "email": "ada@x.com"}).run_ids[0]
        assert project.wait_idle(20)
        detail = project.run(run_id)
    assert detail.status == "succeeded", detail.error
    out = {s.step_id: s for s in detail.steps}
    post = out["post"].output["response"]
    assert post["statusCode"] == 200 and post["body"]["method"] == "POST"
    assert post["body"]["query"] == {"q": "x"}
    assert json.loads(post["body"]["body"]) == {"email": "ada@x.com"}
    sent = {r.url.path: r for r in SEEN}
    assert sent["/things"].headers["authorization"] == "Bearer tok-123456"
    assert post["body"]["auth"] == "Bearer ***"  # what the run record keeps
    form = out["form"].output["response"]["body"]
    assert form["body"] == "a=1" and form["type"] == "application/x-www-form-urlencoded"
    basic = "Basic " + base64.b64encode(b"ada:pw-secret").decode()
    assert sent["/form"].headers["authorization"] == basic
    assert out["pages"].output["items"] == [0, 1, 10, 11, 20, 21]
    assert out["pages"].output["pages"] == 3
    assert out["missing"].status == "failed"
    assert out["missing"].output["error"]["code"] == 404
    lookup = out["lookup"].output["response"]["body"]
    assert [lead["email"] for lead in lookup["result"]] == ["ada@x.com"]
    assert app.stats.calls_by_route["GET /rest/v1/leads.json"] == 1
    stored = repr(detail.steps)
    assert "tok-123456" not in stored and "pw-secret" not in stored  # masked in records


def test_the_allow_list_is_loopback_only_until_the_project_allows_a_host() -> None:
    policy = OutboundPolicy()
    for url in ("http://127.0.0.1:1/x", "http://localhost/x", "http://[::1]:8/x"):
        assert policy.check(url) == url
    with pytest.raises(StepError, match=r"'api\.example\.com' is not allowed"):
        policy.check("https://api.example.com/v1")
    with pytest.raises(StepError, match="http"):
        policy.check("file:///etc/passwd")
    allowed = OutboundPolicy(["api.example.com", "*.corp.example"])
    assert allowed.check("https://api.example.com/v1")
    assert allowed.check("https://a.b.corp.example/")
    with pytest.raises(StepError):
        allowed.check("https://corp.example.evil.org/")


def test_a_request_step_to_a_host_not_allowed_fails_and_allow_outbound_opens_it(
    tmp_path: Path, clock: FakeClock, app: SandboxApp
) -> None:
    spec = """\
name: Out
trigger: {app_event: Go}
steps:
  - {id: call, action: request, url: "https://api.example.com/things", retry: false}
"""
    path = tmp_path / "p"
    setup_project(path, clock, app, spec, {})
    with open_project(path, clock, app, http_transport=httpx.MockTransport(_api)) as project:
        first = project.trigger_event("user-1", "Go", {}).run_ids[0]
        assert project.wait_idle(10)
        assert "allow_outbound" in project.run(first).error
        assert project.allow_outbound(["API.example.com"]) == ["api.example.com"]
        second = project.trigger_event("user-1", "Go", {}).run_ids[0]
        assert project.wait_idle(10)
        assert project.run(second).status == "succeeded"


CTX = {"event": {"email": "ada@acme.com", "score": "72", "tags": ["vip"], "when": "2026-03-01",
                 "blank": "", "none": None}}  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"left": "{{event.email}}", "op": "contains", "right": "@acme"}, True),
        ({"left": "{{event.email}}", "op": "does_not_contain", "right": "@acme"}, False),
        ({"left": "{{event.email}}", "op": "starts_with", "right": "ada"}, True),
        ({"left": "{{event.email}}", "op": "ends_with", "right": ".org"}, False),
        ({"left": "{{event.email}}", "op": "is_in", "right": ["x", "ada@acme.com"]}, True),
        ({"left": "{{event.score}}", "op": ">", "right": 50}, True),
        ({"left": "{{event.score}}", "op": "<=", "right": 72}, True),
        ({"left": "{{event.score}}", "op": "number_equals", "right": "72.0"}, True),
        ({"left": "{{event.when}}", "op": "date_before", "right": "2026-03-02T00:00:00Z"}, True),
        ({"left": "{{event.when}}", "op": "date_after", "right": 1_800_000_000}, False),
        ({"left": "{{event.missing}}", "op": "exists"}, False),
        ({"left": "{{event.none}}", "op": "does_not_exist"}, True),
        ({"left": "{{event.blank}}", "op": "is_empty"}, True),
        ({"left": "{{event.tags}}", "op": "is_not_empty"}, True),
        # disjunctive normal form: (a and b) or (c)
        ({"or": [[{"left": "{{event.score}}", "op": ">", "right": 90},
                  {"left": "{{event.tags}}", "op": "contains", "right": "vip"}],
                 [{"left": "{{event.email}}", "op": "ends_with", "right": "acme.com"}]]}, True),
        ({"or": [[{"left": "{{event.score}}", "op": ">", "right": 90}],
                 [{"left": "{{event.blank}}", "op": "is_not_empty"}]]}, False),
    ],
)  # fmt: skip
def test_condition_operators_as_paragon_names_them(rule: dict, expected: bool) -> None:
    spec = {"name": "c", "trigger": {"app_event": "E"},
            "steps": [{"id": "c", "action": "condition", "if": rule}]}  # fmt: skip
    parse_spec(spec)  # the spec accepts it
    assert evaluate_condition(rule, CTX) is expected


def test_typed_comparisons_of_the_wrong_type_fail_naming_the_value() -> None:
    with pytest.raises(StepError, match=r"'ada@acme\.com' is not a number"):
        evaluate_condition({"left": "{{event.email}}", "op": ">", "right": 1}, CTX)
    with pytest.raises(StepError, match="'72' is not a date"):
        evaluate_condition({"left": "{{event.score}}", "op": "date_after", "right": 1}, CTX)
    bad = {"name": "c", "trigger": {"app_event": "E"},
           "steps": [{"id": "c", "action": "condition",
                      "if": {"left": "x", "op": "start_with", "right": "y"}}]}  # fmt: skip
    with pytest.raises(WorkflowSpecError, match="did you mean 'starts_with'"):
        parse_spec(bad)
