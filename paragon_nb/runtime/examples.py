"""The seed tutorial's App Event and workflow, as data (for tests, demos and notebooks).

``SEED_WORKFLOW_YAML`` is the workflow of Paragon's "Building a Marketo Integration",
written in our spec format; it deploys verbatim::

    project.define_app_event("Lead Created", example=LEAD_CREATED_EXAMPLE)
    project.add_workflow(SEED_WORKFLOW_YAML)
    project.deploy(SEED_WORKFLOW_NAME)
"""

from __future__ import annotations

__all__ = ["LEAD_CREATED_EXAMPLE", "SEED_WORKFLOW_NAME", "SEED_WORKFLOW_YAML"]

# The tutorial's example App Event schema ("Lead Created").
LEAD_CREATED_EXAMPLE: dict[str, str] = {
    "first_name": "Bowie",
    "last_name": "Foo",
    "email": "bowie@useparagon.com",
    "company": "Paragon",
    "title": "Chief Dog Officer",
}

SEED_WORKFLOW_NAME = "Sync new leads to Marketo"

SEED_WORKFLOW_YAML = """\
name: Sync new leads to Marketo
trigger:
  app_event: Lead Created
user_settings:
  - id: marketo_list
    label: Marketo list
    type: marketo_list        # the "List" field: the user's Marketo static lists
    required: true
steps:
  - id: upsert_lead
    action: marketo.create_or_update_lead
    lookup_field: email
    fields:
      email: "{{event.email}}"
      firstName: "{{event.first_name}}"
      lastName: "{{event.last_name}}"
      company: "{{event.company}}"
      title: "{{event.title}}"
  - id: add_to_list
    action: marketo.add_leads_to_list
    list_id: "{{settings.marketo_list}}"
    lead_ids: ["{{steps.upsert_lead.id}}"]
"""
