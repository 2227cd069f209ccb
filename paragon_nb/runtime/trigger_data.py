"""What each trigger hands its run, as data and as a schema for the deploy-time check.

Every run sees its trigger's data as ``event`` (an App Event's payload, a Scheduler tick,
a lead added to a list...). A Request-triggered run also sees it as ``request``
(``request.body``, ``request.query``, ``request.headers``: Paragon's names).

| trigger              | ``event``                                                         |
|----------------------|-------------------------------------------------------------------|
| app_event            | the event payload                                                 |
| request              | ``{body, query, headers}``                                        |
| schedule             | ``{scheduled_at, fired_at, timezone}`` (ISO 8601 in that zone)    |
| integration_enabled  | ``{integration, credential_id}`` (U: Paragon: "no usable output") |
| lead_added_to_list   | ``{list_id, lead: {id, email, ...}}`` (U: Paragon's shape unknown) |

Events the runtime records for non-App-Event triggers are named after the trigger
(:data:`EVENT_NAMES`), as Paragon's Event Logs list "Request" or "Scheduler".
"""

from __future__ import annotations

from typing import Any

from paragon_nb.runtime.events import OPEN_OBJECT, infer_schema

__all__ = ["EVENT_NAMES", "trigger_schema"]

_STR = {"type": "string"}

#: the event name recorded for each kind of trigger (App Events keep their own name)
EVENT_NAMES = {
    "request": "Request",
    "schedule": "Scheduler",
    "integration_enabled": "Integration Enabled",
    "lead_added_to_list": "Lead Added to List",
}


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props)}


def trigger_schema(trigger: Any) -> dict[str, Any]:
    """The schema of ``event`` for a non-App-Event ``trigger`` (runtime.workflows.Trigger)."""
    kind = trigger.kind
    if kind == "request":
        example = trigger.request.example
        body = infer_schema(example) if example else OPEN_OBJECT
        return _object(body=body, query=OPEN_OBJECT, headers=OPEN_OBJECT)
    if kind == "schedule":
        return _object(scheduled_at=_STR, fired_at=_STR, timezone=_STR)
    if kind == "integration_enabled":
        return _object(integration=_STR, credential_id=_STR)
    if kind == "lead_added_to_list":
        # the lead as Marketo lists it (id, email, firstName, ...): open, since the fields
        # returned depend on the instance
        return _object(list_id={"type": "integer"}, lead=OPEN_OBJECT)
    raise ValueError(f"no trigger data schema for {kind!r}")
