"""Folders through raw HTTP (reference §5.2a): browse, by id, by name, contents, create,
delete, and static lists in list folders."""

from __future__ import annotations

import json
from pathlib import Path

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp

from .conftest import Api, make_api

GROUP_LISTS = {"id": 12, "type": "Folder"}
ASSET_KEYS = {"success", "errors", "requestId", "warnings", "result"}
FOLDER_KEYS = {
    "name", "description", "createdAt", "updatedAt", "url", "folderId", "folderType", "parent",
    "path", "isArchive", "isSystem", "accessZoneId", "workspace", "id",
}  # fmt: skip


def _create(api: Api, name: str, parent: object, **extra: str) -> dict:
    parent_text = parent if isinstance(parent, str) else json.dumps(parent)
    return api.post(
        "/rest/asset/v1/folders.json", data={"name": name, "parent": parent_text, **extra}
    )


def _paths(res: dict) -> list[str]:
    return [item["path"] for item in res.get("result", [])]


def test_browse_root_and_descendants_to_max_depth(api: Api) -> None:
    imports = _create(api, "Imports", GROUP_LISTS)["result"][0]
    _create(api, "2026", imports["folderId"])
    # root as JSON, default maxDepth 2: the root, its children, their children (depth first)
    res = api.get(
        "/rest/asset/v1/folders.json", params={"root": json.dumps({"id": 6, "type": "Folder"})}
    )
    assert set(res) == ASSET_KEYS and res["errors"] == [] and res["warnings"] == []
    assert _paths(res) == [
        "/Lead Database/Default",
        "/Lead Database/Default/Group Lists",
        "/Lead Database/Default/Group Lists/Imports",
        "/Lead Database/Default/Group Smart Lists",
    ]
    assert set(res["result"][0]) == FOLDER_KEYS
    # root as a bare id; maxDepth 0 is the root alone, 3 reaches the grandchild
    only = api.get("/rest/asset/v1/folders.json", params={"root": "6", "maxDepth": 0})
    assert _paths(only) == ["/Lead Database/Default"]
    deep = api.get("/rest/asset/v1/folders.json", params={"root": "12", "maxDepth": 3})
    assert _paths(deep)[-1] == "/Lead Database/Default/Group Lists/Imports/2026"


def test_browse_without_root_starts_at_the_top_and_pages(api: Api) -> None:
    top = api.get("/rest/asset/v1/folders.json", params={"maxDepth": 0})
    assert [i["name"] for i in top["result"]] == [
        "Marketing Activities", "Design Studio", "Lead Database",
    ]  # fmt: skip
    assert all(i["parent"] is None and i["folderType"] == "Zone" for i in top["result"])
    everything = _paths(api.get("/rest/asset/v1/folders.json", params={"maxReturn": 200}))
    assert "/Lead Database/Default/Group Lists" in everything
    assert len(api.get("/rest/asset/v1/folders.json")["result"]) == min(20, len(everything))
    pages = [
        _paths(api.get("/rest/asset/v1/folders.json", params={"offset": o, "maxReturn": 3}))
        for o in range(0, len(everything) + 3, 3)
    ]
    assert [p for page in pages for p in page] == everything
    past_end = api.get("/rest/asset/v1/folders.json", params={"offset": len(everything)})
    assert "result" not in past_end
    assert past_end["warnings"] == ["No assets found for the given search criteria."]
    assert "result" not in api.get("/rest/asset/v1/folders.json", params={"workSpace": "Other"})
    assert api.get("/rest/asset/v1/folders.json", params={"workSpace": "Default"})["result"]


def test_browse_rejects_bad_paging_and_root(api: Api) -> None:
    for params, code in (
        ({"maxReturn": 201}, "1003"),
        ({"maxReturn": 0}, "1003"),
        ({"maxDepth": "deep"}, "1001"),
        ({"root": "{not json"}, "1001"),
        ({"root": json.dumps({"id": 6, "type": "Campaign"})}, "1001"),
    ):
        res = api.get("/rest/asset/v1/folders.json", params=params)
        assert res["success"] is False and res["errors"][0]["code"] == code, params
        assert set(res) == {"success", "errors", "requestId", "warnings"}
    unknown = api.get("/rest/asset/v1/folders.json", params={"root": "99999"})
    assert unknown["success"] is True and "result" not in unknown


def test_folder_by_id_needs_type(api: Api) -> None:
    res = api.get("/rest/asset/v1/folder/12.json", params={"type": "Folder"})
    item = res["result"][0]
    assert item["folderId"] == GROUP_LISTS and item["parent"] == {"id": 6, "type": "Folder"}
    assert item["folderType"] == "List" and item["isSystem"] is True
    assert item["createdAt"].endswith("Z+0000")
    assert api.get("/rest/asset/v1/folder/12.json")["errors"][0]["code"] == "701"
    assert api.get("/rest/asset/v1/folder/12.json", params={"type": "x"})["errors"][0]["code"] == (
        "1001"
    )
    assert "result" not in api.get("/rest/asset/v1/folder/12.json", params={"type": "Program"})
    assert "result" not in api.get("/rest/asset/v1/folder/4242.json", params={"type": "Folder"})


def test_create_folder_inherits_type_and_answers_marketo_codes(app: SandboxApp, api: Api) -> None:
    clock = app.clock
    assert isinstance(clock, FakeClock)
    res = _create(api, "Imports", GROUP_LISTS, description="from notebooks")
    assert set(res) == ASSET_KEYS and res["errors"] == []
    made = res["result"][0]
    assert made["path"] == "/Lead Database/Default/Group Lists/Imports"
    assert made["folderType"] == "List" and made["isSystem"] is False
    assert made["description"] == "from notebooks" and made["parent"] == GROUP_LISTS
    assert made["url"].endswith(f"#MF{made['id']}A1")
    # the docs' form: parent in any case of type; a Marketing Activities folder
    campaign = _create(api, "Campaigns", '{"id":3,"type":"FOLDER"}')["result"][0]
    assert campaign["folderType"] == "Marketing Folder"
    relaxed = _create(api, "Relaxed", "{'id': 12, 'type': Folder}")  # marketorestpython's form
    assert relaxed["result"][0]["parent"] == GROUP_LISTS
    assert _create(api, "Y", "{'id' 12}")["errors"][0]["code"] == "1001"
    assert _create(api, "Imports", GROUP_LISTS)["errors"][0]["code"] == "709"  # sibling name
    assert _create(api, "X", {"id": 777, "type": "Folder"})["errors"][0]["code"] == "710"
    assert _create(api, "X", {"id": 12, "type": "Program"})["errors"][0]["code"] == "710"
    assert _create(api, "X", {"id": 6, "type": "Folder"})["errors"][0]["code"] == "711"
    assert _create(api, "", GROUP_LISTS)["errors"][0]["code"] == "701"
    no_parent = api.post("/rest/asset/v1/folders.json", data={"name": "X"})
    assert no_parent["errors"][0]["code"] == "701"
    assert _create(api, "X", GROUP_LISTS, description="d" * 2001)["success"] is False
    assert (
        api.get("/rest/asset/v1/folder/byName.json", params={"name": "Imports"})["result"][0]["id"]
        == made["id"]
    )


def test_static_lists_live_in_list_folders_and_show_in_contents(api: Api) -> None:
    sub = _create(api, "Imports", GROUP_LISTS)["result"][0]
    marketing = _create(api, "Campaigns", {"id": 3, "type": "Folder"})["result"][0]
    ok = api.post(
        "/rest/asset/v1/staticLists.json",
        data={"name": "In sub", "folder": json.dumps(sub["folderId"])},
    )
    assert ok["result"][0]["folder"] == sub["folderId"]
    refused = api.post(
        "/rest/asset/v1/staticLists.json",
        data={"name": "In marketing", "folder": json.dumps(marketing["folderId"])},
    )
    assert refused["errors"] == [{"code": "711", "message": "Incompatible folder type"}]
    in_group = api.create_list("In group")
    content = api.get("/rest/asset/v1/folder/12/content.json", params={"type": "Folder"})
    assert set(content) == ASSET_KEYS
    assert content["result"] == [
        {"id": sub["id"], "type": "Folder"},
        {"id": in_group, "type": "StaticList"},
    ]
    sub_content = api.get(
        f"/rest/asset/v1/folder/{sub['id']}/content.json", params={"type": "Folder"}
    )
    assert sub_content["result"] == [{"id": ok["result"][0]["id"], "type": "StaticList"}]
    page = api.get(
        "/rest/asset/v1/folder/12/content.json",
        params={"type": "Folder", "offset": 1, "maxReturn": 1},
    )
    assert page["result"] == [{"id": in_group, "type": "StaticList"}]
    empty = api.get(
        f"/rest/asset/v1/folder/{marketing['id']}/content.json", params={"type": "Folder"}
    )
    assert "result" not in empty
    assert api.get("/rest/asset/v1/folder/12/content.json")["errors"][0]["code"] == "701"


def test_delete_folder_only_when_empty_and_not_system(api: Api) -> None:
    sub = _create(api, "Imports", GROUP_LISTS)["result"][0]
    api.post(
        "/rest/asset/v1/staticLists.json",
        data={"name": "Blocker", "folder": json.dumps(sub["folderId"])},
    )
    assert api.post(f"/rest/asset/v1/folder/{sub['id']}/delete.json")["errors"][0]["code"] == "709"
    assert api.post("/rest/asset/v1/folder/12/delete.json")["errors"][0]["code"] == "709"
    blocker = api.get("/rest/asset/v1/staticList/byName.json", params={"name": "Blocker"})
    api.post(f"/rest/asset/v1/staticList/{blocker['result'][0]['id']}/delete.json")
    gone = api.post(f"/rest/asset/v1/folder/{sub['id']}/delete.json")
    assert gone["result"] == [{"id": sub["id"]}]
    assert "result" not in api.get(
        f"/rest/asset/v1/folder/{sub['id']}.json", params={"type": "Folder"}
    )


def test_folders_persist_in_a_file_state(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    first = SandboxApp(state=path, clock=clock, rate_limit=None)
    made = _create(make_api(first), "Imports", GROUP_LISTS)["result"][0]
    first.state.close()
    again = SandboxApp(state=path, clock=clock, rate_limit=None)
    try:
        res = make_api(again).get(
            f"/rest/asset/v1/folder/{made['id']}.json", params={"type": "Folder"}
        )
        assert res["result"][0] == made
    finally:
        again.state.close()


def test_handlers_need_only_a_context_not_the_app(clock: FakeClock) -> None:
    from paragon_nb.sandbox import folders
    from paragon_nb.sandbox.context import Context
    from paragon_nb.sandbox.limits import Gate, Limits, SandboxStats
    from paragon_nb.sandbox.state import SandboxState
    from paragon_nb.sandbox.wire import Request

    state = SandboxState()
    ctx = Context(state, clock, Gate(Limits.build(None, None, None), clock, SandboxStats()))
    req = Request.build("GET", "/rest/asset/v1/folders.json", "root=12&maxDepth=0", {}, b"")
    try:
        assert [f["path"] for f in folders.browse_folders(ctx, req)["result"]] == [
            "/Lead Database/Default/Group Lists"
        ]
    finally:
        state.close()


def test_update_folder_renames_moves_paths_and_archives(api: Api) -> None:
    sub = _create(api, "Imports", GROUP_LISTS)["result"][0]
    child = _create(api, "2026", sub["folderId"])["result"][0]
    _create(api, "Other", GROUP_LISTS)
    res = api.post(
        f"/rest/asset/v1/folder/{sub['id']}.json",
        data={"type": "Folder", "name": "Uploads", "description": "d2", "isArchive": "true"},
    )
    item = res["result"][0]
    assert (item["name"], item["description"], item["isArchive"]) == ("Uploads", "d2", True)
    assert item["path"] == "/Lead Database/Default/Group Lists/Uploads"
    moved = api.get(f"/rest/asset/v1/folder/{child['id']}.json", params={"type": "Folder"})
    assert moved["result"][0]["path"] == "/Lead Database/Default/Group Lists/Uploads/2026"
    other = api.get("/rest/asset/v1/folder/byName.json", params={"name": "Other"})["result"][0]
    assert other["path"] == "/Lead Database/Default/Group Lists/Other"  # a sibling keeps its path
    clash = api.post(f"/rest/asset/v1/folder/{sub['id']}.json", data={"name": "Other"})
    assert clash["errors"][0]["code"] == "709"
    assert api.post("/rest/asset/v1/folder/12.json", data={"name": "X"})["errors"][0]["code"] == (
        "709"
    )
    assert api.post("/rest/asset/v1/folder/4242.json", data={"name": "X"})["errors"][0]["code"] == (
        "702"
    )
