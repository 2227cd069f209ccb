"""Folder endpoints of the asset API (``/rest/asset/v1``) — reference §5.2a: browse, by id, by
name, contents, create and delete, over the folder tree kept in the state DB.

The tree starts as a fresh instance's system folders (``schema.DEFAULT_FOLDERS``: the three
app-area "Zone" roots, their "Default" workspace, Lead Database > Group Lists); folders made
through the API persist with the rest of the state. Programs are not emulated: a ``Program``
id or parent finds nothing. Choices Marketo does not document are marked (U).

    GET  /rest/asset/v1/folders.json?root={"id":12,"type":"Folder"}&maxDepth=1
    POST /rest/asset/v1/folders.json   name=Imports&parent={"id":12,"type":"Folder"}
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from paragon_nb.sandbox.context import Context
from paragon_nb.sandbox.wire import (
    ApiError,
    Request,
    asset_envelope,
    asset_params,
    asset_time,
    json_param,
    offset_window,
)

__all__ = [
    "browse_folders",
    "create_folder",
    "delete_folder",
    "folder_by_name",
    "folder_content",
    "folder_item",
    "find_folder",
    "folder_ref",
    "get_folder",
    "update_folder",
]

WORKSPACE = "Default"
FOLDER_TYPES = ("Folder", "Program")
DEFAULT_MAX_DEPTH = 2
MAX_DESCRIPTION = 2000
# The folderType a new folder gets under a root area's workspace "Zone" (elsewhere it takes its
# parent's folderType: a folder in Group Lists is a "List" folder). (U) Lead Database zones hold
# only the system list folders in the UI, so creating a folder there answers 711.
_ZONE_CHILD_TYPES = {"Marketing Activities": "Marketing Folder", "Design Studio": "Folder"}


def folder_item(row: sqlite3.Row, *, base_url: str = "http://sandbox.local") -> dict[str, Any]:
    """A folder as Marketo returns it (key set of the documented by-id answer)."""
    parent = {"id": row["parent_id"], "type": "Folder"} if row["parent_id"] else None
    return {
        "name": row["name"],
        "description": row["description"],
        "createdAt": asset_time(row["created_at"]),
        "updatedAt": asset_time(row["updated_at"]),
        "url": None if row["is_system"] else f"{base_url}/#MF{row['id']}A1",
        "folderId": {"id": row["id"], "type": row["type"]},
        "folderType": row["folder_type"],
        "parent": parent,
        "path": row["path"],
        "isArchive": bool(row["is_archive"]),
        "isSystem": bool(row["is_system"]),
        "accessZoneId": 1,
        "workspace": WORKSPACE,
        "id": row["id"],
    }


class _Tree:
    """The folder rows of one request, indexed by id and by parent (children in id order)."""

    def __init__(self, rows: list[sqlite3.Row]) -> None:
        self.by_id = {r["id"]: r for r in rows}
        self.children: dict[int | None, list[sqlite3.Row]] = {}
        for row in rows:
            self.children.setdefault(row["parent_id"], []).append(row)

    def walk(self, row: sqlite3.Row, max_depth: int, depth: int = 0) -> Iterator[sqlite3.Row]:
        """``row`` then its descendants down to ``max_depth`` levels, depth first (the order
        of Marketo's browse example: a folder, then its subfolders)."""
        yield row
        if depth < max_depth:
            for child in self.children.get(row["id"], []):
                yield from self.walk(child, max_depth, depth + 1)


def folder_ref(raw: Any, name: str) -> tuple[int, str]:
    """``(id, type)`` from a folder id (``12``) or embedded JSON ``{"id":12,"type":"Folder"}``
    (``type`` in any case: Marketo's own answers sometimes say ``FOLDER``). 1001 otherwise."""
    value = json_param(raw, name)
    if isinstance(value, dict):
        fid, ftype = value.get("id"), str(value.get("type") or "Folder").capitalize()
    else:
        fid, ftype = value, "Folder"  # (U) a bare id is taken as a Folder id
    if isinstance(fid, bool) or ftype not in FOLDER_TYPES:
        raise ApiError("1001", f"Invalid value '{raw}'. Required of type '{name}'")
    try:
        return int(fid), ftype
    except (TypeError, ValueError):
        raise ApiError("1001", f"Invalid value '{raw}'. Required of type '{name}'") from None


def _required_type(req: Request) -> str:
    ftype = req.get("type")
    if not ftype:
        raise ApiError("701", "type cannot be blank")  # documented as required; (U) the code
    if ftype not in FOLDER_TYPES:
        raise ApiError("1001", f"Invalid value '{ftype}'. Required of type 'Folder|Program'")
    return ftype


def find_folder(ctx: Context, folder_id: int, ftype: str) -> sqlite3.Row | None:
    """The folder row, or None (always for ``Program``: programs are not emulated)."""
    return ctx.state.get_folder(folder_id) if ftype == "Folder" else None


def browse_folders(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET folders.json``: the root and its descendants to ``maxDepth`` (default 2; 0 is the
    root alone); without ``root``, every top-level folder and theirs (U: depth counted from
    each top-level folder). ``workSpace`` filters; offset/maxReturn page the flat list."""
    offset, max_return = offset_window(req)
    try:
        max_depth = int(req.get("maxDepth") or DEFAULT_MAX_DEPTH)
    except ValueError:
        raise ApiError("1001", f"Invalid value '{req.get('maxDepth')}' for maxDepth") from None
    if max_depth < 0:
        raise ApiError("1001", f"Invalid value '{max_depth}' for maxDepth")
    workspace = req.get("workSpace")
    if workspace and workspace != WORKSPACE:
        return asset_envelope(None)  # (U) an unknown workspace matches nothing
    with ctx.state.tx():
        tree = _Tree(ctx.state.all_folders())
    if req.get("root"):
        root = find_folder(ctx, *folder_ref(req.get("root"), "root"))
        tops = [] if root is None else [root]  # (U) an unknown root: the "No assets" warning
    else:
        tops = tree.children.get(None, [])
    rows = [row for top in tops for row in tree.walk(top, max_depth)]
    return asset_envelope([folder_item(r) for r in rows[offset : offset + max_return]])


def get_folder(ctx: Context, req: Request, folder_id: str) -> dict[str, Any]:
    """``GET folder/{id}.json?type=Folder|Program`` (``type`` required): one item."""
    row = find_folder(ctx, int(folder_id), _required_type(req))
    return asset_envelope(None if row is None else [folder_item(row)])


def folder_by_name(ctx: Context, req: Request) -> dict[str, Any]:
    """``GET folder/byName.json?name=``: every folder with that exact name; optional ``type``,
    ``root`` (within that folder's subtree) and ``workSpace``."""
    name = req.get("name")
    if not name:
        raise ApiError("701", "name cannot be blank")
    wanted_type = req.get("type")
    workspace = req.get("workSpace") or req.get("workspace")
    rows = ctx.state.folders_by_name(name)
    if req.get("root"):
        root = find_folder(ctx, *folder_ref(req.get("root"), "root"))
        with ctx.state.tx():
            tree = _Tree(ctx.state.all_folders())
        inside = {r["id"] for r in tree.walk(root, 10**6)} if root is not None else set()
        rows = [r for r in rows if r["id"] in inside]
    rows = [
        r
        for r in rows
        if (not wanted_type or r["type"] == wanted_type)
        and (not workspace or workspace == WORKSPACE)
    ]
    return asset_envelope([folder_item(r) for r in rows])


def folder_content(ctx: Context, req: Request, folder_id: str) -> dict[str, Any]:
    """``GET folder/{id}/content.json``: the folder's assets as ``{"id", "type"}`` — its
    subfolders (``Folder``, U: Marketo may leave them out) then static lists
    (``StaticList``), paged by offset/maxReturn."""
    offset, max_return = offset_window(req)
    with ctx.state.tx():
        row = find_folder(ctx, int(folder_id), _required_type(req))
        if row is None:
            return asset_envelope(None)
        subfolders = [r for r in ctx.state.all_folders() if r["parent_id"] == row["id"]]
        lists = ctx.state.lists_in_folder(row["id"])
    items = [{"id": r["id"], "type": "Folder"} for r in subfolders]
    items += [{"id": r["id"], "type": "StaticList"} for r in lists]
    return asset_envelope(items[offset : offset + max_return])


def _child_type(parent: sqlite3.Row) -> str:
    if parent["folder_type"] != "Zone":
        return str(parent["folder_type"])
    area = str(parent["path"]).strip("/").split("/", 1)[0]
    if area not in _ZONE_CHILD_TYPES:
        raise ApiError("711", "Incompatible folder type")
    return _ZONE_CHILD_TYPES[area]


def create_folder(ctx: Context, req: Request) -> dict[str, Any]:
    """``POST folders.json`` (form: ``name``, ``parent`` JSON, ``description``): 701 blank
    name/parent, 710 unknown parent, 711 a parent that cannot hold folders, 709 a sibling of
    the same name (U: Marketo's exact answer to a duplicate name)."""
    p = asset_params(req)
    name, description = p.get("name"), p.get("description")
    if not name:
        raise ApiError("701", "name cannot be blank")
    if p.get("parent") in (None, ""):
        raise ApiError("701", "parent cannot be blank")
    if description is not None and len(str(description)) > MAX_DESCRIPTION:
        raise ApiError("1003", f"description is longer than {MAX_DESCRIPTION} characters")  # (U)
    with ctx.state.tx():
        parent = find_folder(ctx, *folder_ref(p["parent"], "parent"))
        if parent is None:
            raise ApiError("710", "Parent folder not found")
        folder_type = _child_type(parent)
        siblings = [r for r in ctx.state.all_folders() if r["parent_id"] == parent["id"]]
        if any(r["name"] == name for r in siblings):
            raise ApiError("709", f"Folder with name '{name}' already exists in '{parent['path']}'")
        folder_id = ctx.state.create_folder(
            name, parent, folder_type, description, ctx.clock.time()
        )
        created = ctx.state.get_folder(folder_id)
    assert created is not None
    return asset_envelope([folder_item(created)])


def _user_folder(row: sqlite3.Row | None, folder_id: str) -> sqlite3.Row:
    """A folder the API may change or delete: 702 when there is none, 709 for a system one."""
    if row is None:
        raise ApiError("702", f"Folder '{folder_id}' not found")  # (U) as for lists
    if row["is_system"]:
        raise ApiError("709", f"Folder '{row['path']}' is a system folder")
    return row


def update_folder(ctx: Context, req: Request, folder_id: str) -> dict[str, Any]:
    """``POST folder/{id}.json`` (form: ``type``, ``name``, ``description``, ``isArchive``):
    709 for a system folder or a sibling's name (U: codes), 702 for an unknown folder."""
    p = asset_params(req)
    changes: dict[str, Any] = {}
    if "name" in p:
        if not p["name"]:
            raise ApiError("701", "name cannot be blank")
        changes["name"] = p["name"]
    if "description" in p:
        if len(str(p["description"])) > MAX_DESCRIPTION:
            raise ApiError("1003", f"description is longer than {MAX_DESCRIPTION} characters")
        changes["description"] = p["description"]
    if "isArchive" in p:
        flag = str(p["isArchive"]).lower()
        if flag not in ("true", "false"):
            raise ApiError("1001", f"Invalid value '{p['isArchive']}' for isArchive")
        changes["is_archive"] = int(flag == "true")
    with ctx.state.tx():
        ftype = str(p.get("type") or "Folder").capitalize()
        row = _user_folder(find_folder(ctx, int(folder_id), ftype), folder_id)
        siblings = [r for r in ctx.state.all_folders() if r["parent_id"] == row["parent_id"]]
        if any(r["name"] == changes.get("name") and r["id"] != row["id"] for r in siblings):
            raise ApiError("709", f"Folder with name '{changes['name']}' already exists")
        updated = ctx.state.update_folder(row["id"], changes, ctx.clock.time())
    return asset_envelope([folder_item(updated)])


def delete_folder(ctx: Context, req: Request, folder_id: str) -> dict[str, Any]:
    """``POST folder/{id}/delete.json``: only an empty, non-system folder (else 709, U)."""
    with ctx.state.tx():
        row = _user_folder(ctx.state.get_folder(int(folder_id)), folder_id)
        has_folders = any(r["parent_id"] == row["id"] for r in ctx.state.all_folders())
        if has_folders or ctx.state.lists_in_folder(row["id"]):
            raise ApiError("709", f"Folder '{row['path']}' is not empty")
        ctx.state.delete_folder(row["id"])
    return asset_envelope([{"id": row["id"]}])
