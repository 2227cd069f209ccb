"""The folder contract (reference §5.2a), raw and through our client, against every target:
browse finds the list folder by type, a folder made under it holds a static list, the
folder's contents show the list, and everything made is deleted again (live stays clean)."""

from __future__ import annotations

import json
import uuid

import pytest

from paragon_nb.errors import MarketoError

from .conftest import Target

FOLDER_KEYS = {"id", "name", "folderId", "folderType", "parent", "path", "isSystem", "workspace"}


def _unique(prefix: str) -> str:
    return f"pnb-contract-{prefix}-{uuid.uuid4().hex[:10]}"


def _list_folder(t: Target) -> dict:
    """The first system "List" folder browsing from the top (Group Lists)."""
    offset = 0
    while True:
        page = t.json(
            "GET", "/rest/asset/v1/folders.json", params={"offset": offset, "maxReturn": 200}
        )
        items = page.get("result") or []
        for item in items:
            if item["folderType"] == "List" and item["isSystem"]:
                return item
        if len(items) < 200:
            raise AssertionError("no system List folder found browsing from the top")
        offset += len(items)


def test_browse_by_id_and_by_name_agree(target: Target) -> None:
    group = _list_folder(target)
    assert set(group) >= FOLDER_KEYS and group["folderId"]["type"] == "Folder"
    by_id = target.json(
        "GET", f"/rest/asset/v1/folder/{group['id']}.json", params={"type": "Folder"}
    )
    assert by_id["errors"] == [] and by_id["result"][0]["path"] == group["path"]
    below = target.json(
        "GET", "/rest/asset/v1/folders.json",
        params={"root": json.dumps(group["folderId"]), "maxDepth": 0},
    )  # fmt: skip
    assert [f["id"] for f in below["result"]] == [group["id"]]  # maxDepth 0: the root alone
    named = target.json("GET", "/rest/asset/v1/folder/byName.json", params={"name": group["name"]})
    assert group["id"] in [f["id"] for f in named["result"]]


def test_folder_then_list_raw(target: Target) -> None:
    group = _list_folder(target)
    made = target.json(
        "POST", "/rest/asset/v1/folders.json",
        data={"name": _unique("folder"), "parent": json.dumps(group["folderId"])},
    )  # fmt: skip
    assert made["success"] is True and made["warnings"] == []
    folder = made["result"][0]
    list_id = None
    try:
        assert folder["parent"]["id"] == group["id"] and folder["folderType"] == "List"
        assert folder["path"] == f"{group['path']}/{folder['name']}"
        dup = target.json(
            "POST", "/rest/asset/v1/folders.json",
            data={"name": folder["name"], "parent": json.dumps(group["folderId"])},
        )  # fmt: skip
        assert dup["success"] is False
        created = target.json(
            "POST", "/rest/asset/v1/staticLists.json",
            data={"name": _unique("list"), "folder": json.dumps(folder["folderId"])},
        )  # fmt: skip
        list_id = created["result"][0]["id"]
        content = target.json(
            "GET", f"/rest/asset/v1/folder/{folder['id']}/content.json", params={"type": "Folder"}
        )
        assert {"id": list_id, "type": "StaticList"} in content["result"]
        missing_parent = target.json(
            "POST", "/rest/asset/v1/folders.json",
            data={"name": _unique("x"), "parent": json.dumps({"id": 987654321, "type": "Folder"})},
        )  # fmt: skip
        assert missing_parent["errors"][0]["code"] == "710"
    finally:
        if list_id is not None:
            target.json("POST", f"/rest/asset/v1/staticList/{list_id}/delete.json")
        gone = target.json("POST", f"/rest/asset/v1/folder/{folder['id']}/delete.json")
        assert gone["result"] == [{"id": folder["id"]}]


def test_folder_then_list_through_the_client(target: Target) -> None:
    with target.client() as client:
        default = client.default_list_folder()
        group = client.get_folder(default)
        assert group is not None and group.folder_type == "List"
        folder = client.create_folder(_unique("folder"), group.path, description="contract")
        lst = None
        try:
            assert folder.parent == group.ref and folder.description == "contract"
            assert client.get_folder(folder.path) == folder
            assert folder.id in {f.id for f in client.iter_folders(group, max_depth=1)}
            lst = client.create_list(_unique("list"), folder=folder.path)
            assert lst.folder == folder.ref
            assert (
                client.create_list(_unique("list"), folder={"id": folder.id}).folder == folder.ref
            )
            in_folder = client.iter_static_lists(folder=folder)
            assert lst.id in {x.id for x in in_folder}
            with pytest.raises(MarketoError, match="not found"):
                client.create_list(_unique("list"), folder=f"{group.path}/no-such-folder")
        finally:
            for item in client.iter_static_lists(folder=folder):
                target.json("POST", f"/rest/asset/v1/staticList/{item.id}/delete.json")
            target.json("POST", f"/rest/asset/v1/folder/{folder.id}/delete.json")
