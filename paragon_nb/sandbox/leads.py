"""Lead endpoints: sync (createOrUpdate/createOnly/updateOnly/createDuplicate), queries by
filter and id, delete, describe/describe2, list membership of a lead (reference §4).

Each handler takes the context (``context.py``) and the parsed request and returns a payload
dict (or raises ``ApiError``); per-record problems become ``skipped`` results with Marketo's
reason codes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from paragon_nb.sandbox.context import Context
from paragon_nb.sandbox.fields import (
    FieldDef,
    InvalidValue,
    describe2_result,
    describe_item,
    format_datetime,
    is_searchable,
    validate,
)
from paragon_nb.sandbox.state import email_key
from paragon_nb.sandbox.wire import ApiError, Request, lead_envelope

__all__ = [
    "ACTIONS",
    "DEFAULT_FIELDS",
    "Known",
    "apply_record",
    "decode_page_token",
    "encode_page_token",
    "lead_view",
    "page_params",
    "requested_fields",
]

ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")
DEFAULT_FIELDS = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")
MAX_BATCH = 300
MAX_FILTER_MATCHES = 1000


def _reason(code: str, message: str) -> dict[str, Any]:
    return {"status": "skipped", "reasons": [{"code": code, "message": message}]}


# ------------------------------------------------------------------------- paging helpers
def encode_page_token(offset: int) -> str:
    """An opaque cursor (base32, like Marketo's) holding the next offset."""
    return base64.b32encode(f"pnb:{offset}".encode()).decode().rstrip("=")


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 8)
        text = base64.b32decode(padded.encode()).decode()
        prefix, offset = text.split(":", 1)
        if prefix != "pnb" or int(offset) < 0:
            raise ValueError(token)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        message = f"Invalid value '{token}'. Required of type 'nextPageToken'"
        raise ApiError("1001", message) from None


def page_params(req: Request, *, max_size: int = MAX_BATCH) -> tuple[int, int]:
    """(offset, batchSize) from ``nextPageToken`` and ``batchSize`` (default/max 300)."""
    raw = req.get("batchSize")
    size = max_size
    if raw not in (None, ""):
        try:
            size = int(raw)
        except ValueError:
            raise ApiError("1001", f"Invalid value '{raw}'. Required of type 'Integer'") from None
        if not 1 <= size <= max_size:
            # (U) Marketo's exact answer to batchSize > 300 is not recorded
            raise ApiError("1003", f"batchSize must be between 1 and {max_size}, got {size}")
    return decode_page_token(req.get("nextPageToken")), size


def paged(items: Sequence[Any], offset: int, size: int) -> dict[str, Any]:
    """Lead-DB envelope for one page: nextPageToken/moreResult only while rows remain."""
    page = list(items[offset : offset + size])
    if offset + size < len(items):
        return lead_envelope(page, moreResult=True, nextPageToken=encode_page_token(offset + size))
    return lead_envelope(page)


# ------------------------------------------------------------------------- lead views
def requested_fields(req: Request, fields: dict[str, FieldDef]) -> list[str]:
    names = req.get_list("fields") or list(DEFAULT_FIELDS)
    for name in names:
        if name not in fields:
            raise ApiError("1006", f"Field '{name}' not found")
    return names


def lead_view(lead: dict[str, Any], names: Sequence[str], fields: dict[str, FieldDef]) -> dict:
    """A lead as Marketo returns it: ``id`` always, requested fields, empty ones as null."""
    out: dict[str, Any] = {"id": lead["id"]}
    for name in names:
        if name in ("createdAt", "updatedAt"):
            out[name] = format_datetime(lead[name])
        elif name == "mktoName":
            full = " ".join(str(lead[k]) for k in ("firstName", "lastName") if lead.get(k))
            out[name] = full or None
        elif name in lead:
            out[name] = lead[name]
        else:
            # (U) an unset boolean reads back false, like a cleared one
            out[name] = False if fields[name].data_type == "boolean" else None
    return out


# ------------------------------------------------------------------------- sync
def sync_leads(ctx: Context, req: Request) -> dict[str, Any]:
    """``POST /rest/v1/leads.json``: one result per input record, in input order."""
    if req.content_type != "application/json":
        raise ApiError("612", "Invalid Content Type")
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError("609", "Invalid JSON")
    action = body.get("action") or "createOrUpdate"
    if action not in ACTIONS:
        raise ApiError("1001", f"Invalid value '{action}'. Required of type 'action'")
    fields = ctx.state.fields()
    lookup = body.get("lookupField") or "email"
    if lookup not in fields:
        raise ApiError("1006", f"Field '{lookup}' not found")
    if lookup == "id" and action != "updateOnly":
        raise ApiError("1003", "lookupField 'id' is only allowed with action 'updateOnly'")
    if lookup != "id" and not is_searchable(fields[lookup]):
        raise ApiError("1011", f"Field '{lookup}' not supported")
    partition = body.get("partitionName")
    if partition not in (None, "", "Default"):
        # (U) the sandbox has one partition, "Default"
        raise ApiError("1008", f"Access denied to partition '{partition}'")
    records = body.get("input")
    if records is None:
        raise ApiError("1002", "Missing value for required parameter 'input'")
    if not isinstance(records, list):
        raise ApiError("1001", "Invalid value for 'input'. Required of type 'array'")
    if not records:
        raise ApiError("1003", "Input cannot be empty")  # (U)
    if len(records) > MAX_BATCH:
        # (U) Marketo refuses the whole call; code and text are a guess.
        raise ApiError("1003", f"Batch size exceeds the limit of {MAX_BATCH}, got {len(records)}")
    now = ctx.clock.time()
    # (U) asyncProcessing:true is processed synchronously with the normal response.
    with ctx.state.tx():
        known = Known.read(ctx, lookup, records)
        results = [apply_record(ctx, rec, action, lookup, fields, now, known) for rec in records]
    return lead_envelope(results)


class Known:
    """The leads one sync call (or import job) matches by email, read in one query before
    its records apply (not one per record) and kept current as they do: a later record of
    the same call sees the lead an earlier one created or changed. Other lookup fields are
    read per record. Use inside the call's transaction."""

    def __init__(self, ctx: Context, ids: dict[str, list[int]] | None) -> None:
        self._state = ctx.state
        self._ids = ids  # email key -> lead ids, ascending; None: not by email
        self._data: dict[int, dict[str, Any]] = {}
        matched = [i for found in (ids or {}).values() for i in found]
        self._stored = ctx.state.stored_values(matched) if matched else {}  # id -> JSON

    @classmethod
    def read(cls, ctx: Context, lookup: str, records: Sequence[Any]) -> Known:
        if lookup != "email":
            return cls(ctx, None)
        emails = {
            r["email"].lower()
            for r in records
            if isinstance(r, dict) and isinstance(r.get("email"), str)
        }
        return cls(ctx, {e: [] for e in emails} | ctx.state.lead_ids_by_email(emails))

    def find(self, lookup: str, value: Any) -> list[int]:
        if self._ids is None or lookup != "email":
            return self._state.find_lead_ids(lookup, value)
        key = str(value).lower()
        if key not in self._ids:  # not among the emails read up front
            self._ids[key] = self._state.find_lead_ids("email", value)
        return self._ids[key]

    def values(self, lead_id: int) -> dict[str, Any]:
        """The lead's stored values (no id, createdAt, updatedAt)."""
        data = self._data.get(lead_id)
        if data is None:
            stored = self._stored.get(lead_id)
            if stored is None:
                stored = self._state.stored_values([lead_id]).get(lead_id, "{}")
            data = self._data[lead_id] = json.loads(stored)
        return data

    def insert(self, data: dict[str, Any], now: float) -> int:
        lead_id = self._state.insert_lead(data, now)
        self._note(lead_id, None, data)
        return lead_id

    def update(self, lead_id: int, data: dict[str, Any], now: float) -> None:
        before = self._data.get(lead_id)
        self._state.update_lead(lead_id, data, now)
        self._note(lead_id, before, data)

    def _note(self, lead_id: int, before: dict[str, Any] | None, data: dict[str, Any]) -> None:
        self._data[lead_id] = data
        if self._ids is None:
            return
        old, new = email_key(before), email_key(data)
        if old == new and before is not None:
            return
        if old is not None and lead_id in self._ids.get(old, ()):
            self._ids[old].remove(lead_id)
        if new is not None:
            self._ids[new] = sorted({*self._ids.get(new, ()), lead_id})


def apply_record(
    ctx: Context,
    record: Any,
    action: str,
    lookup: str,
    fields: dict[str, FieldDef],
    now: float,
    known: Known,
) -> dict[str, Any]:
    """Apply one sync record; returns its result entry (shared with bulk import)."""
    if not isinstance(record, dict):
        return _reason("1003", "Invalid input record")
    values: dict[str, Any] = {}
    for key, value in record.items():
        field = fields.get(key)
        if field is None:
            return _reason("1006", f"Field '{key}' not found")
        if key == "id":
            if action != "updateOnly":
                return _reason("1003", f"Field 'id' not allowed for action '{action}'")  # (U) text
            continue
        if field.read_only:
            return _reason("1003", f"Field '{key}' is read only")  # (U) Marketo may ignore it
        try:
            values[key] = validate(field, value)
        except InvalidValue as exc:
            return _reason("1003", str(exc))
    if action == "createDuplicate":
        return {"id": known.insert(_clean(values), now), "status": "created"}
    key_value = record.get("id") if lookup == "id" else values.get(lookup)
    if key_value in (None, ""):
        if action == "createOnly":  # (U) nothing to dedupe on: created
            return {"id": known.insert(_clean(values), now), "status": "created"}
        return _reason("1003", f"Value for lookup field '{lookup}' not found")  # (U) code/text
    matches = known.find(lookup, key_value)
    if len(matches) > 1:
        return _reason("1007", "Multiple lead match lookup criteria")
    if not matches:
        if action == "updateOnly":
            return _reason("1004", "Lead not found")
        return {"id": known.insert(_clean(values), now), "status": "created"}
    if action == "createOnly":
        return _reason("1005", "Lead already exists")
    lead_id = matches[0]
    data = dict(known.values(lead_id))
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    known.update(lead_id, data, now)
    return {"id": lead_id, "status": "updated"}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# ------------------------------------------------------------------------- queries
def query_leads(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET /rest/v1/leads.json?filterType=&filterValues=`` (or POST ``_method=GET``)."""
    filter_type = req.get("filterType")
    if not filter_type:
        raise ApiError("1002", "Missing value for required parameter 'filterType'")
    values = req.get_list("filterValues")
    if not values:
        raise ApiError("1002", "Missing value for required parameter 'filterValues'")
    if len(values) > MAX_BATCH:
        raise ApiError("1003", f"Cannot process more than {MAX_BATCH} filter values")  # (U)
    fields = ctx.state.fields()
    field = fields.get(filter_type)
    if field is None:
        raise ApiError("1006", f"Field '{filter_type}' not found")
    if not is_searchable(field):
        raise ApiError("1011", f"Field '{filter_type}' not supported")
    names = requested_fields(req, fields)
    offset, size = page_params(req)
    ids: set[int] = set()
    with ctx.state.tx():
        for raw in values:
            try:
                value = int(raw) if filter_type == "id" else validate(field, raw)
            except (InvalidValue, ValueError):
                continue
            ids.update(ctx.state.find_lead_ids(filter_type, value))
        if len(ids) > MAX_FILTER_MATCHES:
            raise ApiError("1003", "Too many results match the filter")
        # (U) result order: by lead id, not by filterValues order
        leads = ctx.state.get_leads(sorted(ids))
    return paged([lead_view(lead, names, fields) for lead in leads], offset, size)


def get_lead(ctx: Context, req: Request, lead_id: str) -> dict[str, Any]:
    """``GET /rest/v1/lead/{id}.json``: 0 or 1 lead."""
    fields = ctx.state.fields()
    names = requested_fields(req, fields)
    lead = ctx.state.get_lead(int(lead_id))
    return lead_envelope([] if lead is None else [lead_view(lead, names, fields)])


def delete_leads(ctx: Context, req: Request) -> dict[str, Any]:
    """All three delete forms (§4.4): ``{"id":..,"status":"deleted"}`` or skipped 1004."""
    ids = req.input_ids(max_items=MAX_BATCH)
    results: list[dict[str, Any]] = []
    with ctx.state.tx():
        for raw in ids:
            lead_id = _as_int(raw)
            if lead_id is not None and ctx.state.delete_lead(lead_id):
                results.append({"id": lead_id, "status": "deleted"})
            else:
                # (U) unknown id on delete: skipped 1004
                shown = lead_id if lead_id is not None else raw
                results.append({"id": shown, **_reason("1004", "Lead not found")})
    return lead_envelope(results)


def lead_list_membership(ctx: Context, req: Request, lead_id: str) -> dict[str, Any]:
    """``GET /rest/v1/leads/{id}/listMembership.json``."""
    offset, size = page_params(req)
    rows = ctx.state.lead_memberships(int(lead_id))
    items = [
        {
            "listId": r["list_id"],
            "createdAt": format_datetime(r["created_at"]),
            "updatedAt": format_datetime(r["updated_at"]),
        }
        for r in rows
    ]
    return paged(items, offset, size)


def partitions(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET /rest/v1/leads/partitions.json``: the sandbox has one partition (U)."""
    return lead_envelope(
        [{"id": 1, "name": "Default", "description": "Initial system lead partition"}]
    )


def _schema_item(field: FieldDef) -> dict[str, Any]:
    item: dict[str, Any] = {
        "displayName": field.display_name,
        "name": field.name,
        "description": None,
        "dataType": field.data_type,
    }
    if field.length is not None:
        item["length"] = field.length
    item.update(
        {"isHidden": False, "isHtmlEncodingInEmail": True, "isSensitive": False,
         "isCustom": field.custom}
    )  # fmt: skip
    return item


def schema_fields(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET /rest/v1/leads/schema/fields.json`` (batchSize <= 300, nextPageToken)."""
    offset, size = page_params(req)
    return paged([_schema_item(f) for f in ctx.state.fields().values()], offset, size)


def schema_field(ctx: Context, req: Request, name: str) -> dict[str, Any]:
    """``GET /rest/v1/leads/schema/fields/{fieldApiName}.json``."""
    field = ctx.state.fields().get(name)
    if field is None:
        raise ApiError("1006", f"Field '{name}' not found")  # (U) code for an unknown field
    return lead_envelope([_schema_item(field)])


def describe(ctx: Context, req: Request) -> dict[str, Any]:
    return lead_envelope([describe_item(f) for f in ctx.state.fields().values()])


def describe2(ctx: Context, req: Request) -> dict[str, Any]:
    return lead_envelope(describe2_result(ctx.state.fields().values()))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
