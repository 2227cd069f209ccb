from __future__ import annotations

import pytest

from paragon_nb.errors import WorkflowSpecError
from paragon_nb.runtime.builder import Steps, WorkflowBuilder
from paragon_nb.runtime.workflows import ConditionStep, parse_spec

from .conftest import SEED_SPEC

FIELDS = {
    "email": "{{event.email}}",
    "firstName": "{{event.first_name}}",
    "lastName": "{{event.last_name}}",
    "company": "{{event.company}}",
    "title": "{{event.title}}",
}


def seed_builder() -> WorkflowBuilder:
    return (
        WorkflowBuilder("Sync new leads to Marketo", on="Lead Created")
        .setting("marketo_list", "marketo_list", label="Marketo list", required=True)
        .upsert_lead("upsert_lead", fields=FIELDS)
        .add_to_list(
            "add_to_list",
            list_id="{{settings.marketo_list}}",
            lead_ids=["{{steps.upsert_lead.id}}"],
        )
    )


def test_builder_makes_the_seed_spec() -> None:
    assert seed_builder().build() == parse_spec(SEED_SPEC)
    assert parse_spec(seed_builder().to_yaml()) == parse_spec(SEED_SPEC)


def test_builder_conditions_and_errors() -> None:
    spec = (
        WorkflowBuilder("Branchy", on="Lead Created")
        .get_leads("found", values="{{event.email}}", retry=False)
        .condition(
            "exists",
            {"left": "{{steps.found.count}}", "op": "greater_than", "right": 0},
            then=Steps().get_lead("lead", lead_id="{{steps.found.leads.0.id}}"),
            else_=Steps().python("note", "log", input={"email": "{{event.email}}"}),
        )
        .build()
    )
    cond = spec.steps[1]
    assert isinstance(cond, ConditionStep) and cond.then[0].id == "lead"
    assert spec.steps[0].retry.max_retries == 0
    with pytest.raises(WorkflowSpecError, match="unknown action"):
        WorkflowBuilder("Bad", on="X").step("a", "marketo.nope").build()
