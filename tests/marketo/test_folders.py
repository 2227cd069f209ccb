"""Folder resources of the client: against the sandbox in process (folder references, paths,
default list folder, errors) and against the scriptable fake (paging, duplicates, retries)."""

from __future__ import annotations

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError, MarketoError, MarketoNotFound
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import Folder
from paragon_nb.sandbox.app import SandboxApp

from .fake import FakeMarketo, ok

GROUP_LISTS = "Lead Database/Default/Group Lists"


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock)


@pytest.fixture
def client(app: SandboxApp, clock: FakeClock) -> MarketoClient:
    return app.client(clock=clock)


def test_browse_folders_eager_and_lazy(client: MarketoClient) -> None:
    top = client.browse_folders(max_depth=0)
    assert [f.name for f in top] == ["Marketing Activities", "Design Studio", "Lead Database"]
    lazy = client.iter_folders(GROUP_LISTS, max_depth=0)
    first = next(lazy)
    assert isinstance(first, Folder) and first.folder_type == "List" and first.is_system
    assert first.ref == {"id": first.id, "type": "Folder"}
    all_of_them = client.browse_folders(page_size=2)  # many small pages, same answer
    assert [f.id for f in all_of_them] == [f.id for f in client.browse_folders()]


def test_folder_specs_id_ref_folder_and_path_name_the_same_folder(client: MarketoClient) -> None:
    group = client.get_folder(GROUP_LISTS)
    assert group is not None
    for spec in (group.id, group.ref, group, "/" + GROUP_LISTS + "/", "Group Lists"):
        assert client.folder_ref(spec) == group.ref, spec
    assert client.get_folder(group.id) == group
    assert client.get_folder(424242) is None
    with pytest.raises(ConfigurationError, match="not a folder id"):
        client.folder_ref(True)
    with pytest.raises(ConfigurationError, match="not a folder id"):
        client.folder_ref({"name": "Group Lists"})
    with pytest.raises(ConfigurationError, match="path is empty"):
        client.folder_ref("/")


def test_create_folder_and_list_by_path(app: SandboxApp, client: MarketoClient) -> None:
    imports = client.create_folder("Imports", GROUP_LISTS, description="notebook imports")
    assert imports.path == "/" + GROUP_LISTS + "/Imports" and imports.folder_type == "List"
    nested = client.create_folder("2026", imports)
    lst = client.create_list("Q1 webinar", folder=GROUP_LISTS + "/Imports/2026")
    assert lst.folder == nested.ref
    assert [x.id for x in client.iter_static_lists(folder=nested.path)] == [lst.id]
    default = client.create_list("Default placed")
    assert default.folder == client.folder_ref(GROUP_LISTS)
    with pytest.raises(MarketoError) as dup:
        client.create_folder("Imports", GROUP_LISTS)
    assert dup.value.code == "709"
    with pytest.raises(MarketoError) as wrong_area:
        client.create_list("Nope", folder="Marketing Activities/Default")
    assert wrong_area.value.code == "711"


def test_unknown_path_names_what_exists_and_the_next_step(client: MarketoClient) -> None:
    client.create_folder("Imports", GROUP_LISTS)
    with pytest.raises(MarketoNotFound) as missing:
        client.create_list("X", folder="Lead Database/Default/Imports")
    text = str(missing.value)
    assert "'Lead Database/Default/Imports' not found" in text
    assert "/Lead Database/Default/Group Lists/Imports" in text  # the folder of that name
    assert "create_folder('Imports', parent='Lead Database/Default')" in text
    with pytest.raises(ConfigurationError, match="ambiguous"):
        client.folder_ref("Default")  # three workspaces folders share the name


# ------------------------------------------------------------------ against the fake


def _item(fid: int, name: str) -> dict:
    return {"id": fid, "name": name, "folderId": {"id": fid, "type": "Folder"},
            "folderType": "List", "path": f"/Lead Database/{name}", "isSystem": False}  # fmt: skip


def test_a_folder_repeated_across_pages_is_yielded_once(clock: FakeClock) -> None:
    from .fake import make_client

    fake = FakeMarketo(clock)
    pages = [ok([_item(1, "a"), _item(2, "b")]), ok([_item(2, "b"), _item(3, "c")]), ok([])]
    fake.route("GET", "/rest/asset/v1/folders.json")(lambda r, b: pages.pop(0))
    client = make_client(fake)
    assert [f.id for f in client.iter_folders(max_depth=5, page_size=2)] == [1, 2, 3]
    sent = fake.rest_requests("/rest/asset/v1/folders.json")
    assert [r.url.params["offset"] for r in sent] == ["0", "2", "4"]
    assert sent[0].url.params["maxDepth"] == "5"


def test_create_folder_after_a_timeout_finds_it_instead_of_duplicating(clock: FakeClock) -> None:
    from .fake import make_client

    fake = FakeMarketo(clock)
    fake.script["/rest/asset/v1/folders.json"] = ["604"]
    made = {**_item(50, "Imports"), "parent": {"id": 12, "type": "Folder"}}
    fake.route("GET", "/rest/asset/v1/folder/byName.json")(lambda r, b: ok([made]))
    client = make_client(fake)
    assert client.create_folder("Imports", {"id": 12, "type": "Folder"}).id == 50
    posts = [r for r in fake.rest_requests("/rest/asset/v1/folders.json") if r.method == "POST"]
    assert len(posts) == 1
    assert isinstance(posts[0], httpx.Request)
