"""List endpoints: lead-DB lists and membership (``/rest/v1``) and asset static lists
(``/rest/asset/v1``) — reference §5. Folders live in ``folders.py``.

Unknown list ids on lead-DB list calls answer ``1013`` (U: Marketo may answer an empty
result); asset-API lookups that match nothing answer the "No assets found" warning.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from paragon_nb.sandbox.context import Context
from paragon_nb.sandbox.fields import format_datetime
from paragon_nb.sandbox.folders import WORKSPACE, find_folder, folder_ref
from paragon_nb.sandbox.leads import (
    MAX_BATCH,
    encode_page_token,
    lead_view,
    page_params,
    paged,
    requested_fields,
)
from paragon_nb.sandbox.wire import (
    ApiError,
    Request,
    asset_envelope,
    asset_params,
    asset_time,
    lead_envelope,
    offset_window,
)

__all__ = ["asset_list_item", "create_static_list", "lead_db_list_item"]

# Static lists live in "List" folders (Group Lists and its subfolders) and in programs (not
# emulated: a Program parent answers 710). (U) the exact set of folder types Marketo accepts.
LIST_FOLDER_TYPES = {"List"}


def lead_db_list_item(row: sqlite3.Row) -> dict[str, Any]:
    item: dict[str, Any] = {"id": row["id"], "name": row["name"]}
    if row["description"]:
        item["description"] = row["description"]
    item["workspaceName"] = WORKSPACE
    item["createdAt"] = format_datetime(row["created_at"])
    item["updatedAt"] = format_datetime(row["updated_at"])
    return item


def asset_list_item(row: sqlite3.Row, *, base_url: str = "http://sandbox.local") -> dict[str, Any]:
    item: dict[str, Any] = {"id": row["id"], "name": row["name"]}
    if row["description"]:
        item["description"] = row["description"]
    item.update(
        {
            "createdAt": asset_time(row["created_at"]),
            "updatedAt": asset_time(row["updated_at"]),
            "folder": {"id": row["folder_id"], "type": row["folder_type"]},
            "computedUrl": f"{base_url}/#ST{row['id']}A1",
            "workspace": WORKSPACE,
        }
    )
    return item


# ------------------------------------------------------------------------- lead-DB lists
def get_lists(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET /rest/v1/lists.json`` filtered by id/name/programName/workspaceName, paged."""
    offset, size = page_params(req)
    ids = {v for v in req.get_list("id")}
    names = set(req.get_list("name"))
    programs = set(req.get_list("programName"))
    workspaces = set(req.get_list("workspaceName"))
    rows = []
    for row in ctx.state.all_lists():
        if ids and str(row["id"]) not in ids:
            continue
        if names and row["name"] not in names:
            continue
        if programs:  # no list in the sandbox belongs to a program
            continue
        if workspaces and WORKSPACE not in workspaces:
            continue
        rows.append(lead_db_list_item(row))
    return paged(rows, offset, size)


def _list_or_1013(ctx: Context, list_id: str) -> sqlite3.Row:
    row = ctx.state.get_list(int(list_id))
    if row is None:
        # (U) Marketo may answer an empty result instead of 1013
        raise ApiError("1013", f"Static list '{list_id}' not found")
    return row


def get_list(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    return lead_envelope([lead_db_list_item(_list_or_1013(ctx, list_id))])


def _lead_ids(req: Request) -> list[tuple[Any, int | None]]:
    out = []
    for raw in req.input_ids(max_items=MAX_BATCH):
        try:
            out.append((raw, None if isinstance(raw, bool) else int(raw)))
        except (TypeError, ValueError):
            out.append((raw, None))
    return out


def _skip(raw: Any, lead_id: int | None, code: str, message: str) -> dict[str, Any]:
    return {
        "id": lead_id if lead_id is not None else raw,
        "status": "skipped",
        "reasons": [{"code": code, "message": message}],
    }


MemberOp = Callable[[int, Any, int], dict[str, Any]]


def _per_lead(
    ctx: Context,
    req: Request,
    list_id: str,
    op: MemberOp,
    finish: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One result per input id, in one transaction: skipped 1004 for an id that names no lead,
    else ``op(list row id, raw id, lead id)``; then ``finish(list row id)`` (writes the ops
    collected). 1013 when the list does not exist."""
    with ctx.state.tx():
        row = _list_or_1013(ctx, list_id)
        results = []
        ids = _lead_ids(req)
        existing = ctx.state.existing_lead_ids(i for _raw, i in ids if i is not None)
        for raw, lead_id in ids:
            if lead_id is None or lead_id not in existing:
                results.append(_skip(raw, lead_id, "1004", "Lead not found"))
            else:
                results.append(op(row["id"], raw, lead_id))
        if finish is not None:
            finish(row["id"])
    return lead_envelope(results)


def add_members(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    """Add leads: ``added`` (also for current members) or skipped 1004."""
    now = ctx.clock.time()
    added: list[int] = []

    def add(list_row: int, raw: Any, lead_id: int) -> dict[str, Any]:
        added.append(lead_id)
        return {"id": lead_id, "status": "added"}

    def write(list_row: int) -> None:
        ctx.state.add_members(list_row, added, now)

    return _per_lead(ctx, req, list_id, add, write)


def remove_members(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    """Remove leads: ``removed``, skipped 1015 (not in list) or 1004 (no such lead)."""

    def remove(list_row: int, raw: Any, lead_id: int) -> dict[str, Any]:
        if ctx.state.remove_member(list_row, lead_id):
            return {"id": lead_id, "status": "removed"}
        return _skip(raw, lead_id, "1015", "Lead not in list")

    return _per_lead(ctx, req, list_id, remove)


def is_member(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    def check(list_row: int, raw: Any, lead_id: int) -> dict[str, Any]:
        member = ctx.state.is_member(list_row, lead_id)
        return {"id": lead_id, "status": "memberof" if member else "notmemberof"}

    return _per_lead(ctx, req, list_id, check)


def members(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    """``GET /rest/v1/lists/{id}/leads.json`` (and legacy ``/list/``): lead records, paged."""
    fields = ctx.state.fields()
    names = requested_fields(req, fields)
    offset, size = page_params(req)
    with ctx.state.tx():
        row = _list_or_1013(ctx, list_id)
        ids = ctx.state.member_ids(row["id"])
        leads = ctx.state.get_leads(ids[offset : offset + size])
    views = [lead_view(lead, names, fields) for lead in leads]
    if offset + size < len(ids):
        return lead_envelope(views, moreResult=True, nextPageToken=encode_page_token(offset + size))
    return lead_envelope(views)


# ------------------------------------------------------------------------- asset static lists
def create_static_list(
    ctx: Context, name: str | None, folder: Any, description: str | None
) -> sqlite3.Row:
    """Validate and create; raises ApiError 701/709/710/711 (shared with ``SandboxApp``)."""
    if not name:
        raise ApiError("701", "name cannot be blank")
    if folder in (None, ""):
        raise ApiError("701", "folder cannot be blank")
    folder_id, folder_type = folder_ref(folder, "folder")
    row = find_folder(ctx, folder_id, folder_type)
    if row is None:
        raise ApiError("710", "Parent folder not found")
    if row["folder_type"] not in LIST_FOLDER_TYPES:
        raise ApiError("711", "Incompatible folder type")
    with ctx.state.tx():
        if ctx.state.list_by_name(name) is not None:
            # (U) duplicate-name code: 709 business rule violation
            raise ApiError("709", f"Static List with name '{name}' already exists")
        list_id = ctx.state.create_list(name, row["id"], folder_type, description, ctx.clock.time())
        created = ctx.state.get_list(list_id)
    assert created is not None
    return created


def create_list(ctx: Context, req: Request) -> dict[str, Any]:
    """``POST /rest/asset/v1/staticLists.json`` (form: name, folder JSON, description)."""
    p = asset_params(req)
    row = create_static_list(ctx, p.get("name"), p.get("folder"), p.get("description"))
    return asset_envelope([asset_list_item(row)])


def browse_lists(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET /rest/asset/v1/staticLists.json``: folder filter, offset/maxReturn (<= 200)."""
    offset, max_return = offset_window(req)
    folder_id = None
    if req.get("folder"):
        try:
            folder_id = json.loads(req.get("folder") or "")["id"]
        except (ValueError, KeyError, TypeError):
            raise ApiError("1001", "Invalid value for 'folder'") from None
    earliest = _parse_time(req.get("earliestUpdatedAt"))
    latest = _parse_time(req.get("latestUpdatedAt"))
    rows = [
        r
        for r in ctx.state.all_lists()
        if (folder_id is None or r["folder_id"] == int(folder_id))
        and (earliest is None or r["updated_at"] >= earliest)
        and (latest is None or r["updated_at"] <= latest)
    ]
    page = rows[offset : offset + max_return]
    return asset_envelope([asset_list_item(r) for r in page])


def _parse_time(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z+0000", "Z"))
    except ValueError:
        raise ApiError("704", f"Invalid date format '{raw}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def get_static_list(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    row = ctx.state.get_list(int(list_id))
    return asset_envelope(None if row is None else [asset_list_item(row)])


def static_list_by_name(ctx: Context, req: Request) -> dict[str, Any]:
    name = req.get("name")
    if not name:
        raise ApiError("701", "name cannot be blank")
    row = ctx.state.list_by_name(name)  # exact match
    return asset_envelope(None if row is None else [asset_list_item(row)])


def _asset_list_or_702(ctx: Context, list_id: str) -> sqlite3.Row:
    row = ctx.state.get_list(int(list_id))
    if row is None:
        raise ApiError("702", f"Static List '{list_id}' not found")  # (U)
    return row


def update_static_list(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    p = asset_params(req)
    with ctx.state.tx():
        row = _asset_list_or_702(ctx, list_id)
        changes = {k: p[k] for k in ("name", "description") if k in p}
        if "name" in changes:
            other = ctx.state.list_by_name(changes["name"])
            if not changes["name"]:
                raise ApiError("701", "name cannot be blank")
            if other is not None and other["id"] != row["id"]:
                raise ApiError("709", f"Static List with name '{changes['name']}' already exists")
        updated = ctx.state.update_list(row["id"], changes, ctx.clock.time())
    return asset_envelope([asset_list_item(updated)])


def delete_static_list(ctx: Context, req: Request, list_id: str) -> dict[str, Any]:
    with ctx.state.tx():
        row = _asset_list_or_702(ctx, list_id)
        if any(job["list_id"] == row["id"] for job in ctx.state.active_imports()):
            raise ApiError("709", f"Static List '{list_id}' is used by an import in progress")
        ctx.state.delete_list(row["id"])
    return asset_envelope([{"id": row["id"]}])
