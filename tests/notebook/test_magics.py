"""The magics in a headless shell: parsing, routing, $name, {{ }} left alone, UsageErrors.

The runtime is a recording stand-in here (the magics' job is parsing and routing); the
real Project is exercised by tests/notebook/test_magics_runtime.py."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from paragon_nb.display import EventSchema, RunHistory, WorkflowDiagram
from paragon_nb.errors import NotFoundError
from paragon_nb.magics import ParagonMagics, expand_dollar_names
from paragon_nb.runtime.api import EventReceipt


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.strict = False

    def define_app_event(self, name: str, *, example: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("define_app_event", (name, example)))
        return {
            "name": name,
            "schema": {"type": "object", "properties": {k: {"type": "string"} for k in example}},
        }

    def workflows(self) -> list[dict[str, Any]]:
        return [{"name": "Existing"}]

    def update_workflow(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("update_workflow", (name, spec)))
        return {"name": spec["name"]}

    def add_workflow(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("add_workflow", spec))
        return {"name": spec["name"]}

    def deploy(self, name: str) -> str:
        if name == "missing":
            raise NotFoundError("no workflow 'missing'; workflows: ['A']")
        self.calls.append(("deploy", name))
        return f"deployed {name}"

    def trigger_event(self, sub: str, name: str, payload: dict[str, Any]) -> EventReceipt:
        self.calls.append(("trigger_event", (sub, name, payload)))
        return EventReceipt("evt-1", name, run_ids=("run-1",))

    idle = True

    def wait_idle(self, timeout: float | None = None) -> bool:
        self.calls.append(("wait_idle", timeout))
        return self.idle

    def runs(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "run_id": "r1",
                    "workflow": "A",
                    "user": "u",
                    "event": "e",
                    "status": "failed",
                    "started": "2026-01-01T00:00:00",
                    "duration": 0.1,
                    "error": "boom",
                },
                {
                    "run_id": "r2",
                    "workflow": "A",
                    "user": "u",
                    "event": "e",
                    "status": "succeeded",
                    "started": "2026-01-02T00:00:00",
                    "duration": 0.1,
                    "error": None,
                },
            ]
        )

    def run(self, run_id: str) -> dict[str, Any]:
        return {
            "steps": [
                {
                    "step_id": "upsert_lead",
                    "status": "succeeded",
                    "attempts": 1,
                    "output": {"id": 7},
                }
            ]
        }

    def users(self) -> pd.DataFrame:
        return pd.DataFrame([{"user_id": "u"}])

    def close(self) -> None:
        self.calls.append(("close", None))


@pytest.fixture
def rec(ip) -> Recorder:
    recorder = Recorder()
    ip.magics_manager.registry["ParagonMagics"]._project = recorder
    return recorder


def test_app_event_defines_and_shows_schema(ip, rec) -> None:
    ip.user_ns["company"] = "Acme"
    out = ip.run_cell_magic(
        "app_event", "Lead Created", '{"email": "ada@example.com", "company": $company}'
    )
    assert rec.calls[0] == (
        "define_app_event",
        ("Lead Created", {"email": "ada@example.com", "company": "Acme"}),
    )
    assert isinstance(out, EventSchema)
    assert "event.email: string" in repr(out) and "{{event.company}}" in out._repr_html_()


def test_app_event_bad_json_is_one_line_usage_error(ip, rec) -> None:
    with pytest.raises(UsageError, match=r"not valid JSON: .*line 1"):
        ip.run_cell_magic("app_event", "Lead Created", "{'single': 'quotes'}")
    with pytest.raises(UsageError, match="needs a name"):
        ip.run_cell_magic("app_event", "  ", "{}")


SPEC = """\
name: Sync new leads
trigger:
  app_event: Lead Created
user_settings:
  - id: marketo_list
    type: marketo_list
    required: true
steps:
  - id: upsert_lead
    action: marketo.create_or_update_lead
    fields:
      email: "{{event.email}}"
      leadSource: $source
"""


def test_workflow_keeps_templates_and_expands_only_dollar_names(ip, rec) -> None:
    ip.user_ns["source"] = "Webinar"
    ip.user_ns["event"] = {"email": "WRONG"}  # must never leak into {{event.email}}
    out = ip.run_cell("%%workflow --deploy\n" + SPEC).result
    spec = rec.calls[0][1]
    assert spec["steps"][0]["fields"] == {"email": "{{event.email}}", "leadSource": "Webinar"}
    assert rec.calls[1] == ("deploy", "Sync new leads")
    assert isinstance(out, WorkflowDiagram) and out.status == "deployed"
    text = repr(out)
    assert "trigger: App Event: Lead Created" in text and "1. upsert_lead" in text
    assert "<svg" in out._repr_html_()


def test_workflow_cell_rerun_updates_the_draft(ip, rec) -> None:
    ip.run_cell_magic("workflow", "", "name: Existing\ntrigger: {app_event: X}\nsteps: []")
    assert rec.calls[0][0] == "update_workflow" and rec.calls[0][1][0] == "Existing"


def test_workflow_errors(ip, rec) -> None:
    with pytest.raises(UsageError, match=r"\$nope is not defined"):
        ip.run_cell_magic("workflow", "", "name: $nope")
    with pytest.raises(UsageError, match="YAML mapping"):
        ip.run_cell_magic("workflow", "", "- a\n- b")
    with pytest.raises(UsageError, match="unrecognized arguments: --deplo"):
        ip.run_cell_magic("workflow", "--deplo", "name: x")


def test_paragon_event_with_variable_and_json(ip, rec) -> None:
    ip.user_ns["lead"] = {"email": "ada@example.com"}
    assert ip.run_line_magic("paragon", "event Lead Created $lead --user u7") == "evt-1"
    assert ("trigger_event", ("u7", "Lead Created", {"email": "ada@example.com"})) in rec.calls
    ip.run_line_magic("paragon", """event "Lead Created" '{"email": "b@x.com"}'""")
    assert ("trigger_event", ("user-1", "Lead Created", {"email": "b@x.com"})) in rec.calls
    assert ("wait_idle", 60) in rec.calls
    with pytest.raises(UsageError, match="must be a dict"):
        ip.run_line_magic("paragon", "event X '[1, 2]'")
    with pytest.raises(UsageError, match=r"\$ghost is not defined"):
        ip.run_line_magic("paragon", "event X $ghost")


def test_paragon_routing_and_errors(ip, rec) -> None:
    assert ip.run_line_magic("paragon", "deploy Sync new leads") == "deployed Sync new leads"
    with pytest.raises(UsageError, match=r"^NotFoundError: no workflow 'missing'"):
        ip.run_line_magic("paragon", "deploy missing")
    with pytest.raises(UsageError, match="unknown subcommand 'bogus'"):
        ip.run_line_magic("paragon", "bogus")
    with pytest.raises(UsageError, match="needs a subcommand"):
        ip.run_line_magic("paragon", "")
    with pytest.raises(UsageError, match="invalid choice"):
        ip.run_line_magic("paragon", "sandbox explode")
    runs = ip.run_line_magic("paragon", "runs --last 1")
    assert isinstance(runs, RunHistory) and len(runs.runs) == 1
    assert runs.runs[0]["run_id"] == "r2"  # newest first
    assert list(ip.run_line_magic("paragon", "users")["user_id"]) == ["u"]


def test_short_errors_off_shows_the_real_exception(ip, rec) -> None:
    ip.run_line_magic("config", "ParagonMagics.short_errors = False")
    with pytest.raises(NotFoundError):
        ip.run_line_magic("paragon", "deploy missing")


def test_strict_option_reaches_the_project(ip, rec) -> None:
    ip.run_line_magic("config", "ParagonMagics.strict_events = True")
    assert rec.strict is True


def test_options_have_help() -> None:
    for name, trait in ParagonMagics.class_traits(config=True).items():
        assert trait.help, name


def test_run_history_html_has_colours_and_drill_down(rec) -> None:
    hist = RunHistory.of(rec, last=None)
    page = hist._repr_html_()
    assert "#b00020" in page and "#1b7f3b" in page and "<details>" in page and "upsert_lead" in page
    assert repr(hist).splitlines() == ["A · succeeded", "A · failed error=boom"]


def test_expand_dollar_names_escape() -> None:
    assert expand_dollar_names(r"cost: \$price {{x}}", {}) == "cost: $price {{x}}"
    assert expand_dollar_names("n: $n", {"n": [1, "a"]}) == 'n: [1, "a"]'


def test_diagram_shows_condition_branches() -> None:
    spec = {
        "name": "Route",
        "trigger": {"app_event": "Signup"},
        "steps": [
            {
                "id": "is_vip",
                "action": "condition",
                "if": {},
                "then": [{"id": "add_vip", "action": "marketo.add_leads_to_list"}],
                "else": [{"id": "log", "action": "python"}],
            },
        ],
    }
    diagram = WorkflowDiagram(spec)
    assert repr(diagram).splitlines()[2:] == [
        "  1. is_vip (condition)",
        "  2. add_vip (marketo.add_leads_to_list) [is_vip.then]",
        "  3. log (python) [is_vip.else]",
    ]
    assert diagram._repr_html_().count("<rect") == 4  # trigger + 3 steps


def test_event_schema_lists_nested_paths() -> None:
    from paragon_nb.runtime.events import infer_schema

    example = {"email": "a@b.c", "address": {"city": "Paris"}, "tags": [{"name": "x"}]}
    lines = repr(EventSchema("Lead Created", infer_schema(example))).splitlines()
    assert "  event.address.city: string" in lines
    assert "  event.tags[].name: string" in lines


def test_event_says_when_runs_are_still_going(ip, rec, capsys) -> None:
    rec.idle = False
    ip.run_line_magic("config", "ParagonMagics.wait_timeout = 5")
    assert ip.run_line_magic("paragon", """event X '{"a": 1}'""") == "evt-1"
    assert ("wait_idle", 5) in rec.calls
    assert "runs of event evt-1 still going after 5 s" in capsys.readouterr().out


@given(st.text(alphabet=st.characters(blacklist_characters="$\\\\"), max_size=80))
def test_text_without_dollars_is_untouched(text: str) -> None:
    assert expand_dollar_names(text, {"x": 1}) == text


# too_slow: on a loaded 2-core machine the first draw alone has taken 6 s (the data is tiny)
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "n1"]), st.integers() | st.text(max_size=5)))
def test_dollar_names_become_json_and_templates_stay(values: dict) -> None:
    import json

    body = " ".join(f"{{{{event.{k}}}}} ${k}" for k in values)
    out = expand_dollar_names(body, values)
    expected = " ".join(f"{{{{event.{k}}}}} {json.dumps(v)}" for k, v in values.items())
    assert out == expected
