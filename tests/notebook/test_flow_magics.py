"""``%%workflow`` takes every trigger and step kind of issue 14, and its diagram draws
branches, fan-outs and delays (over a real Project)."""

from __future__ import annotations

from pathlib import Path

import pytest

TRIGGERS = {
    "request": "request: {example: {email: a@x.com}}",
    "schedule": 'schedule: {cron: "0 9 * * 1-5", timezone: Europe/Paris}',
    "integration_enabled": "integration_enabled: true",
    "lead_added_to_list": 'lead_added_to_list: {list_id: "{{settings.marketo_list}}"}',
}

LABELS = {
    "request": "Request (POST /sdk/triggers/{workflowId})",
    "schedule": "Scheduler: cron 0 9 * * 1-5 (Europe/Paris)",
    "integration_enabled": "Integration Enabled",
    "lead_added_to_list": "Lead Added to List: {{settings.marketo_list}}",
}

BODY = """\
name: {name}
trigger:
  {trigger}
user_settings:
  - {{id: marketo_list, type: marketo_list}}
steps:
  - id: wait
    action: delay
    value: 3
    unit: HOURS
  - id: each
    action: fan_out
    over: [1, 2, 3]
    steps:
      - id: big
        action: condition
        if: {{or: [[{{left: "{{{{steps.each.instance}}}}", op: ">", right: 1}}]]}}
        then:
          - {{id: call, action: request, url: "http://127.0.0.1:9/x"}}
  - {{id: lookup, action: marketo.request, path: /v1/leads.json}}
  - {{id: reply, action: response, status_code: 201, body: {{ok: true}}}}
"""


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
def test_workflow_magic_deploys_every_trigger_and_draws_the_nesting(
    ip, tmp_path: Path, kind: str
) -> None:
    ip.user_ns["where"] = str(tmp_path / "proj")
    ip.run_line_magic("paragon", "project $where")
    project = ip.magics_manager.registry["ParagonMagics"].project
    name = f"Flow {kind}"
    diagram = ip.run_cell_magic(
        "workflow", "--deploy", BODY.format(name=name, trigger=TRIGGERS[kind])
    )
    assert diagram.status == "deployed"
    assert project.workflow(name).deployed_spec.trigger.kind == kind
    text = repr(diagram)
    assert f"trigger: {LABELS[kind]}" in text
    assert "1. wait (delay 3 hours)" in text
    assert "2. each (fan out over [1, 2, 3])" in text
    assert "3. big (condition) [each.each]" in text
    assert "4. call (request) [big.then]" in text
    svg = diagram._repr_html_()
    assert "for each in each" in svg and "if big.then" in svg
    assert "x='58'" in svg  # the request inside the condition inside the fan-out: 2 levels in
