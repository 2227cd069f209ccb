from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from paragon_nb.errors import WorkflowSpecError
from paragon_nb.runtime.events import infer_schema
from paragon_nb.runtime.refcheck import check_references
from paragon_nb.runtime.workflows import (
    ActionStep,
    ConditionStep,
    iter_steps,
    parse_spec,
)

from .conftest import LEAD_EXAMPLE, SEED_SPEC

SCHEMA = infer_schema(LEAD_EXAMPLE)


def spec_with(steps: list[dict], **extra: object) -> dict:
    return {"name": "wf", "trigger": {"app_event": "Lead Created"}, "steps": steps, **extra}


def test_seed_spec_parses_verbatim_and_round_trips() -> None:
    spec = parse_spec(SEED_SPEC)
    assert spec.name == "Sync new leads to Marketo"
    assert spec.trigger.app_event == "Lead Created"
    assert spec.user_settings[0].type == "marketo_list" and spec.user_settings[0].required
    upsert, add = spec.steps
    assert isinstance(upsert, ActionStep) and upsert.params["lookup_field"] == "email"
    assert add.params == {
        "list_id": "{{settings.marketo_list}}",
        "lead_ids": ["{{steps.upsert_lead.id}}"],
    }
    assert upsert.retry.max_retries == 5 and upsert.retry.delays == [10, 20, 30, 50, 80]
    assert parse_spec(spec.to_dict()) == spec
    assert parse_spec(yaml.safe_load(SEED_SPEC)) == spec
    check_references(spec, event_schema=SCHEMA)  # deploys


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "a workflow spec is a mapping"),
        (
            spec_with([{"id": "a", "action": "marketo.add_lead_to_list"}]),
            "did you mean 'marketo.add_leads_to_list'",
        ),
        (
            spec_with([{"id": "a", "action": "marketo.get_lead_by_id", "lead": 1}]),
            "unknown parameter.*lead.*allowed: fields, lead_id",
        ),
        (
            spec_with([{"id": "a", "action": "marketo.add_leads_to_list", "list_id": 1}]),
            "missing parameter.*lead_ids",
        ),
        (spec_with([{"id": "a", "action": "python", "function": "f"}] * 2), "used twice"),
        (spec_with([{"id": "a.b", "action": "python", "function": "f"}]), "no dots"),
        (spec_with([]), "at least 1 item"),
        (
            spec_with(
                [{"id": "c", "action": "condition", "if": {"left": 1, "op": "eq", "right": 1}}]
            ),
            "unknown condition op 'eq'",
        ),
        (
            spec_with([{"id": "c", "action": "condition", "if": {"left": 1, "op": "equals"}}]),
            "needs a 'right'",
        ),
        (
            spec_with(
                [{"id": "a", "action": "python", "function": "f"}],
                user_settings=[{"id": "d", "type": "dropdown"}],
            ),
            "needs a non-empty options",
        ),
        (
            spec_with(
                [{"id": "a", "action": "python", "function": "f"}],
                user_settings=[{"id": "d", "type": "colour"}],
            ),
            "user_settings.0.type",
        ),
    ],
)
def test_invalid_specs_are_explained(spec: object, needle: str) -> None:
    with pytest.raises(WorkflowSpecError, match=needle):
        parse_spec(spec)


def test_retry_and_continue_options() -> None:
    spec = parse_spec(
        spec_with(
            [
                {"id": "a", "action": "python", "function": "f", "retry": False},
                {
                    "id": "b",
                    "action": "python",
                    "function": "f",
                    "retry": {"max_retries": 2, "delays": [1]},
                    "continue_on_failure": True,
                },
            ]
        )
    )
    a, b = spec.steps
    assert a.retry.max_retries == 0
    assert b.retry.max_retries == 2 and b.retry.delay(1) == 1 and b.retry.delay(2) == 1
    assert b.continue_on_failure


def test_condition_steps_nest() -> None:
    spec = parse_spec(
        spec_with(
            [
                {
                    "id": "c",
                    "action": "condition",
                    "if": {
                        "any": [
                            {"left": "{{event.company}}", "op": "equals", "right": "Acme"},
                            {"left": "{{event.title}}", "op": "is_empty"},
                        ]
                    },
                    "then": [{"id": "t", "action": "python", "function": "f"}],
                    "else": [{"id": "e", "action": "python", "function": "g"}],
                },
            ]
        )
    )
    cond = spec.steps[0]
    assert isinstance(cond, ConditionStep)
    assert [s.id for s in iter_steps(spec.steps)] == ["c", "t", "e"]
    assert parse_spec(spec.to_dict()) == spec


def test_deploy_check_names_each_bad_reference_with_what_exists() -> None:
    spec = parse_spec(
        SEED_SPEC.replace("{{event.email}}", "{{event.emial}}")
        .replace("{{settings.marketo_list}}", "{{settings.marketo_lst}}")
        .replace("{{steps.upsert_lead.id}}", "{{steps.upsert_lead.lead_id}}")
    )
    with pytest.raises(WorkflowSpecError) as info:
        check_references(spec, event_schema=SCHEMA)
    text = str(info.value)
    assert "{{event.emial}}: event.emial does not exist" in text
    assert "available: company, email, first_name, last_name, title" in text
    assert "did you mean event.email?" in text
    assert "settings.marketo_lst is not a declared user setting; declared: marketo_list" in text
    assert "steps.upsert_lead.lead_id does not exist; available: id, status" in text


def test_deploy_check_rejects_later_steps_and_unknown_namespaces() -> None:
    spec = parse_spec(
        spec_with(
            [
                {
                    "id": "a",
                    "action": "python",
                    "function": "f",
                    "input": {"x": "{{steps.b.result}}"},
                },
                {
                    "id": "b",
                    "action": "python",
                    "function": "f",
                    "input": {
                        "y": "{{evnt.email}}",
                        "z": "{{user.name}}",
                        "m": "{{user.meta.Plan}}",
                    },
                },
            ]
        )
    )
    with pytest.raises(WorkflowSpecError) as info:
        check_references(spec, event_schema=SCHEMA, function_outputs={"f": None})
    text = str(info.value)
    assert "steps.b is a later step; earlier steps: none" in text
    assert "unknown namespace 'evnt'" in text and "did you mean event?" in text
    assert "user.name does not exist; available: user.id, user.meta" in text
    assert "user.meta" not in text.split("user.name")[0]  # user.meta.* is open


def test_deploy_check_knows_function_outputs_and_registration() -> None:
    spec = parse_spec(
        spec_with(
            [
                {"id": "a", "action": "python", "function": "score"},
                {
                    "id": "b",
                    "action": "python",
                    "function": "missing",
                    "input": {"v": "{{steps.a.result.points}}", "w": "{{steps.a.result.nope}}"},
                },
            ]
        )
    )
    with pytest.raises(WorkflowSpecError) as info:
        check_references(spec, event_schema=SCHEMA, function_outputs={"score": {"points": 3}})
    text = str(info.value)
    assert "python function 'missing' is not registered; registered: score" in text
    assert "steps.a.result.nope does not exist; available: points" in text
    assert "result.points" not in text


def test_continue_on_failure_steps_expose_their_error() -> None:
    spec = parse_spec(
        spec_with(
            [
                {
                    "id": "a",
                    "action": "marketo.get_lead_by_id",
                    "lead_id": 1,
                    "continue_on_failure": True,
                },
                {
                    "id": "c",
                    "action": "condition",
                    "if": {"left": "{{steps.a.error.message}}", "op": "is_empty"},
                },
            ]
        )
    )
    check_references(spec, event_schema=SCHEMA)


def test_yaml_booleans_get_a_hint() -> None:
    text = SEED_SPEC.replace(
        "  - id: marketo_list", "  - id: on\n    type: boolean\n  - id: marketo_list"
    )
    with pytest.raises(WorkflowSpecError, match="YAML reads yes/no/on/off"):
        parse_spec(text)


_keys = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
_examples = st.recursive(
    st.one_of(st.text(max_size=3), st.integers(), st.booleans()),
    lambda inner: st.dictionaries(_keys, inner, min_size=1, max_size=3),
    max_leaves=8,
).filter(lambda v: isinstance(v, dict))


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    return out


@settings(deadline=None)
@given(_examples, st.data())
def test_deploy_check_accepts_exactly_the_paths_of_the_example(example: dict, data) -> None:
    path = data.draw(st.sampled_from(_paths(example)))
    ref = "{{event." + ".".join(path) + "}}"
    good = parse_spec(
        spec_with([{"id": "a", "action": "python", "function": "f", "input": {"v": ref}}])
    )
    check_references(good, event_schema=infer_schema(example), function_outputs={"f": None})
    parent = example
    for key in path[:-1]:
        parent = parent[key]
    assume(path[-1] + "_x" not in parent)
    missing = "{{event." + ".".join((*path[:-1], path[-1] + "_x")) + "}}"
    bad = parse_spec(
        spec_with([{"id": "a", "action": "python", "function": "f", "input": {"v": missing}}])
    )
    with pytest.raises(WorkflowSpecError, match=re.escape(missing)):
        check_references(bad, event_schema=infer_schema(example), function_outputs={"f": None})
