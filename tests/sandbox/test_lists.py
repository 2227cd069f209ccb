"""Lists through raw HTTP: asset static lists, folders, lead-DB lists and membership."""

from __future__ import annotations

import json

from paragon_nb.sandbox import SandboxApp

from .conftest import Api


def test_create_static_list_in_default_folder_tree(api: Api) -> None:
    folder = api.get("/rest/asset/v1/folder/byName.json", params={"name": "Group Lists"})
    assert set(folder) == {"success", "errors", "requestId", "warnings", "result"}
    item = folder["result"][0]
    assert item["folderId"] == {"id": 12, "type": "Folder"} and item["folderType"] == "List"
    res = api.post(
        "/rest/asset/v1/staticLists.json",
        data={"name": "Newsletter", "folder": json.dumps(item["folderId"]), "description": "d"},
    )
    created = res["result"][0]
    assert res["errors"] == [] and res["warnings"] == []
    assert created["name"] == "Newsletter" and created["folder"] == {"id": 12, "type": "Folder"}
    assert created["createdAt"].endswith("Z+0000") and created["description"] == "d"
    assert created["computedUrl"].endswith(f"#ST{created['id']}A1")
    by_name = api.get("/rest/asset/v1/staticList/byName.json", params={"name": "Newsletter"})
    assert by_name["result"][0]["id"] == created["id"]
    assert api.get(f"/rest/asset/v1/staticList/{created['id']}.json")["result"][0] == created


def test_static_list_errors_and_no_assets_warning(api: Api) -> None:
    def create(name: str, folder: dict | None) -> dict:
        data = {"name": name} | ({"folder": json.dumps(folder)} if folder else {})
        return api.post("/rest/asset/v1/staticLists.json", data=data)

    api.create_list("Dup")
    assert create("Dup", {"id": 12, "type": "Folder"})["errors"][0]["code"] == "709"
    assert create("X", {"id": 999, "type": "Folder"})["errors"][0]["code"] == "710"
    assert create("X", {"id": 2, "type": "Folder"})["errors"][0]["code"] == "711"
    assert create("X", None)["errors"][0]["code"] == "701"
    failed = create("X", {"id": 999, "type": "Folder"})
    assert set(failed) == {"success", "errors", "requestId", "warnings"}
    missing = api.get("/rest/asset/v1/staticList/byName.json", params={"name": "nope"})
    assert missing == {
        "success": True,
        "errors": [],
        "requestId": missing["requestId"],
        "warnings": ["No assets found for the given search criteria."],
    }


def test_browse_update_delete(api: Api) -> None:
    ids = [api.create_list(f"L{i}") for i in range(5)]
    page = api.get("/rest/asset/v1/staticLists.json", params={"offset": 2, "maxReturn": 2})
    assert [r["id"] for r in page["result"]] == ids[2:4]
    folder = json.dumps({"id": 12, "type": "Folder"})
    assert len(api.get("/rest/asset/v1/staticLists.json", params={"folder": folder})["result"]) == 5
    assert "result" not in api.get("/rest/asset/v1/staticLists.json", params={"offset": 5})
    assert api.get("/rest/asset/v1/staticLists.json", params={"maxReturn": 201})["success"] is False
    upd = api.post(f"/rest/asset/v1/staticList/{ids[0]}.json", data={"name": "Renamed"})
    assert upd["result"][0]["name"] == "Renamed"
    assert (
        api.post(f"/rest/asset/v1/staticList/{ids[1]}.json", data={"name": "L2"})["errors"][0][
            "code"
        ]
        == "709"
    )
    assert api.post(f"/rest/asset/v1/staticList/{ids[0]}/delete.json")["result"] == [{"id": ids[0]}]
    assert api.post(f"/rest/asset/v1/staticList/{ids[0]}/delete.json")["errors"][0]["code"] == "702"


def test_lead_db_lists(api: Api) -> None:
    a, b = api.create_list("Alpha"), api.create_list("Beta")
    res = api.get("/rest/v1/lists.json", params=[("name", "Alpha"), ("name", "Beta")])
    assert [r["id"] for r in res["result"]] == [a, b]
    assert set(res["result"][0]) == {"id", "name", "workspaceName", "createdAt", "updatedAt"}
    assert [r["name"] for r in api.get("/rest/v1/lists.json", params={"id": f"{b}"})["result"]] == [
        "Beta"
    ]
    page = api.get("/rest/v1/lists.json", params={"batchSize": 1})
    assert len(page["result"]) == 1 and page["nextPageToken"]
    assert api.get(f"/rest/v1/lists/{a}.json")["result"][0]["name"] == "Alpha"
    assert api.get("/rest/v1/lists/42.json")["errors"][0]["code"] == "1013"


def test_membership_add_remove_ismember_members(app: SandboxApp, api: Api) -> None:
    list_id = api.create_list("Members")
    ids = [r["id"] for r in api.sync([{"email": f"m{i}@x.com"} for i in range(3)])["result"]]
    add = api.post(
        f"/rest/v1/lists/{list_id}/leads.json",
        json={"input": [{"id": i} for i in ids[:2]] + [{"id": 999}]},
    )
    assert add["result"] == [
        {"id": ids[0], "status": "added"},
        {"id": ids[1], "status": "added"},
        {
            "id": 999,
            "status": "skipped",
            "reasons": [{"code": "1004", "message": "Lead not found"}],
        },
    ]
    # ids in the query: comma list and repeated keys; re-adding a member says "added" again
    again = api.post(f"/rest/v1/lists/{list_id}/leads.json", params=[("id", f"{ids[0]},{ids[2]}")])
    assert [r["status"] for r in again["result"]] == ["added", "added"]
    assert app.list_members(list_id) == ids
    check = api.post(
        f"/rest/v1/lists/{list_id}/leads/ismember.json?_method=GET",
        json={"input": [{"id": ids[0]}, {"id": 999}]},
    )
    assert [r["status"] for r in check["result"]] == ["memberof", "skipped"]
    gone = api.delete(
        f"/rest/v1/lists/{list_id}/leads.json", params=[("id", str(ids[0])), ("id", str(ids[0]))]
    )
    assert gone["result"][0] == {"id": ids[0], "status": "removed"}
    assert gone["result"][1]["reasons"] == [{"code": "1015", "message": "Lead not in list"}]
    assert (
        api.get(f"/rest/v1/lists/{list_id}/leads/ismember.json", params={"id": ids[0]})["result"][
            0
        ]["status"]
        == "notmemberof"
    )
    page1 = api.get(
        f"/rest/v1/lists/{list_id}/leads.json", params={"batchSize": 1, "fields": "email"}
    )
    assert page1["result"] == [{"id": ids[1], "email": "m1@x.com"}] and page1["moreResult"] is True
    # legacy path, POST with _method=GET in the form body, continuing the paging
    page2 = api.post(
        f"/rest/v1/list/{list_id}/leads.json",
        data={"_method": "GET", "batchSize": "1", "nextPageToken": page1["nextPageToken"]},
    )
    assert [r["id"] for r in page2["result"]] == [ids[2]] and "nextPageToken" not in page2
    membership = api.get(f"/rest/v1/leads/{ids[1]}/listMembership.json")
    assert [m["listId"] for m in membership["result"]] == [list_id]
    assert (
        api.post("/rest/v1/lists/4242/leads.json", json={"input": [{"id": ids[0]}]})["errors"][0][
            "code"
        ]
        == "1013"
    )


def test_app_helpers_create_list(app: SandboxApp, api: Api) -> None:
    item = app.create_list("Helper", description="made in a test")
    assert item["folder"] == {"id": 12, "type": "Folder"}
    assert (
        api.get("/rest/asset/v1/staticList/byName.json", params={"name": "Helper"})["result"][0][
            "id"
        ]
        == item["id"]
    )
