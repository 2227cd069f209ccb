"""The Marketo steps: Create or Update Lead, Add/Remove Leads to/from a List (batched
writes: each declares a :class:`~paragon_nb.runtime.step_defs.BatchOp`, the dispatcher sends
several runs' records in one call and ``finish`` turns this run's answer into its output),
Get Leads and Get Lead by Id (reads, straight through the user's gateway). Their parameter
models, output schemas and rows of :data:`paragon_nb.runtime.steps.ACTIONS`
(:data:`MARKETO_ACTIONS`).

    - id: upsert_lead
      action: marketo.create_or_update_lead
      params: {fields: {email: "{{event.email}}"}, lookup_field: email}
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from paragon_nb.errors import StepError
from paragon_nb.marketo.models import ListMemberResult, RecordResult
from paragon_nb.runtime.events import OPEN_OBJECT
from paragon_nb.runtime.field_mapping import apply_field_mapping
from paragon_nb.runtime.step_defs import INT, STR, ActionDef, BatchOp, Params, StepEnv, as_list

__all__ = [
    "CreateOrUpdateLeadParams",
    "FieldsFrom",
    "GetLeadByIdParams",
    "GetLeadsParams",
    "ListLeadsParams",
    "MARKETO_ACTIONS",
]


class FieldsFrom(Params):
    """Lead fields taken through a Field Mapping setting: ``mapping`` is the setting
    (``"{{settings.lead_fields}}"``), ``record`` the app object it maps (``"{{event}}"``)."""

    mapping: Any
    record: Any


class CreateOrUpdateLeadParams(Params):
    fields: dict[str, Any] = Field(default_factory=dict)
    fields_from: FieldsFrom | None = None
    lookup_field: str = "email"
    partition: str | None = None

    @model_validator(mode="after")
    def _map_fields(self) -> CreateOrUpdateLeadParams:
        """``fields_from`` (a user's Field Mapping) first; ``fields`` given alongside win."""
        if self.fields_from is not None:
            mapped = apply_field_mapping(self.fields_from.mapping, self.fields_from.record)
            self.fields = {**mapped, **self.fields}
            self.fields_from = None
        if not self.fields:
            raise ValueError("no lead fields: give 'fields' or 'fields_from' (a field mapping)")
        return self


class ListLeadsParams(Params):
    list_id: int
    lead_ids: Annotated[list[int], BeforeValidator(partial(as_list, split=True))]


class GetLeadsParams(Params):
    filter_type: str = "email"
    values: Annotated[list[Any], BeforeValidator(as_list)]
    fields: list[str] | None = None


class GetLeadByIdParams(Params):
    lead_id: int
    fields: list[str] | None = None


_MEMBER = {
    "type": "object",
    "properties": {"id": INT, "status": STR, "reasons": {"type": "array", "items": OPEN_OBJECT}},
    "required": ["id", "status", "reasons"],
}


def _list_output(count_key: str) -> dict[str, Any]:
    props = {
        "list_id": INT,
        "lead_ids": {"type": "array", "items": INT},
        "results": {"type": "array", "items": _MEMBER},
        count_key: INT,
        "skipped": INT,
    }
    return {"type": "object", "properties": props, "required": list(props)}


def _reasons(result: RecordResult | ListMemberResult) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in result.reasons]


def _upsert_key(params: CreateOrUpdateLeadParams) -> tuple[Any, ...]:
    if not params.fields:
        raise StepError("marketo.create_or_update_lead needs at least one field")
    return (params.lookup_field, params.partition)


def _finish_upsert(_key: tuple[Any, ...], _record: Any, result: RecordResult) -> dict[str, Any]:
    status = str(result.status)
    if result.id is None or status == "skipped":
        reasons = "; ".join(f"[{r['code']}] {r['message']}" for r in _reasons(result)) or "none"
        raise StepError(f"Marketo skipped the lead (reasons: {reasons})")
    return {"id": result.id, "status": status}


def _list_key(params: ListLeadsParams) -> tuple[Any, ...]:
    if not params.lead_ids:
        raise StepError("no lead ids to change: lead_ids rendered to an empty list")
    return (params.list_id,)


def _finish_list_change(
    key: tuple[Any, ...],
    lead_ids: list[int],
    answers: list[ListMemberResult],
    *,
    done_status: str,
) -> dict[str, Any]:
    (list_id,) = key
    results = [{"id": a.id, "status": str(a.status), "reasons": _reasons(a)} for a in answers]
    done = sum(1 for r in results if r["status"] == done_status)
    skipped = len(results) - done
    # (U) Paragon's output shape is unknown; we fail only when nothing changed and Marketo
    # gave reasons, so an already-member lead (idempotent replays) is not an error.
    if done == 0 and any(r["reasons"] for r in results):
        reasons = "; ".join(
            f"lead {r['id']}: [{x['code']}] {x['message']}" for r in results for x in r["reasons"]
        )
        raise StepError(f"Marketo skipped every lead for list {list_id}: {reasons}")
    return {
        "list_id": list_id,
        "lead_ids": lead_ids,
        "results": results,
        done_status: done,
        "skipped": skipped,
    }


def _run_get_leads(params: GetLeadsParams, env: StepEnv) -> dict[str, Any]:
    leads = env.gateway().get_leads(params.filter_type, params.values, fields=params.fields)
    return {"leads": leads, "count": len(leads)}


def _run_get_lead(params: GetLeadByIdParams, env: StepEnv) -> dict[str, Any]:
    lead = env.gateway().get_lead(params.lead_id, fields=params.fields)
    return {"lead": lead, "found": lead is not None}


def _list_action(name: str, op: str, done_status: str) -> ActionDef:
    """A static-list membership change (``op`` "add"/"remove"), batched per list."""
    return ActionDef(
        name,
        ListLeadsParams,
        _list_output(done_status),
        batch=BatchOp(
            op,
            _list_key,
            lambda p: list(p.lead_ids),
            lambda k, ids, a: _finish_list_change(k, ids, a, done_status=done_status),
        ),
    )


MARKETO_ACTIONS = (
    ActionDef(
        "marketo.create_or_update_lead",
        CreateOrUpdateLeadParams,
        {"type": "object", "properties": {"id": INT, "status": STR}, "required": ["id"]},
        batch=BatchOp("upsert", _upsert_key, lambda p: dict(p.fields), _finish_upsert),
    ),
    _list_action("marketo.add_leads_to_list", "add", "added"),
    _list_action("marketo.remove_leads_from_list", "remove", "removed"),
    ActionDef(
        "marketo.get_leads",
        GetLeadsParams,
        {
            "type": "object",
            "properties": {"leads": {"type": "array", "items": OPEN_OBJECT}, "count": INT},
            "required": ["leads", "count"],
        },
        _run_get_leads,
    ),
    ActionDef(
        "marketo.get_lead_by_id",
        GetLeadByIdParams,
        {
            "type": "object",
            "properties": {"lead": OPEN_OBJECT, "found": {"type": "boolean"}},
            "required": ["lead", "found"],
        },
        _run_get_lead,
    ),
)
