"""Third-party compatibility: marketorestpython 0.5.25, pointed at the sandbox over a real
loopback socket by overwriting its ``host`` attribute (reference §9.1), runs its lead, list,
membership, describe, delete and bulk-import flows unchanged.

Its built-in limiter (0.2 s between calls per verb) and the backoff library sleep for real;
the ``no_library_sleeps`` fixture swaps their ``time`` module for one whose ``sleep`` only
records, so the suite runs in milliseconds. Nothing in the client's HTTP path is touched.
"""

from __future__ import annotations

import gc
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import Fault, MarketoSandbox

mrp_client = pytest.importorskip("marketorestpython.client")
http_lib = pytest.importorskip("marketorestpython.helper.http_lib")
backoff_sync = pytest.importorskip("backoff._sync")


@pytest.fixture
def no_library_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    shim = types.SimpleNamespace(time=time.time, monotonic=time.monotonic, sleep=slept.append)
    monkeypatch.setattr(http_lib, "time", shim)
    monkeypatch.setattr(backoff_sync, "time", shim)
    return slept


@pytest.fixture
def sandbox(clock: FakeClock, no_library_sleeps: list[float]) -> Iterator[MarketoSandbox]:
    with MarketoSandbox(clock=clock) as sb:
        yield sb


@pytest.fixture
def mc(sandbox: MarketoSandbox):
    client = mrp_client.MarketoClient(
        "000-AAA-000",
        sandbox.client_id,
        sandbox.client_secret,
        max_retry_time=5,
        requests_timeout=(3, 30),
    )
    client.host = sandbox.base_url  # before the first call; identity goes there too
    return client


def test_create_update_leads_and_filter_query(mc, sandbox: MarketoSandbox) -> None:
    batch = [{"email": f"mrp{i}@x.com", "firstName": f"F{i}"} for i in range(300)]
    res = mc.execute(
        method="create_update_leads", leads=batch, action="createOrUpdate", lookupField="email"
    )
    assert len(res) == 300 and {r["status"] for r in res} == {"created"}
    res = mc.execute(
        method="create_update_leads",
        leads=[*batch[:2], {"email": "nope"}],
        action="createOrUpdate",
        lookupField="email",
    )
    assert [r["status"] for r in res] == ["updated", "updated", "skipped"]
    found = mc.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=[b["email"] for b in batch],
        fields=["email", "firstName"],
        batchSize=100,
    )
    assert len(found) == 300 and found[0]["firstName"] == "F0"
    assert sandbox.stats.calls_by_route["POST /rest/v1/leads.json"] == 5  # 2 syncs + 3 pages
    one = mc.execute(method="get_lead_by_id", id=found[0]["id"], fields=["email"])
    assert one == [{"id": found[0]["id"], "email": "mrp0@x.com"}]


def test_list_and_membership_flows(mc, sandbox: MarketoSandbox) -> None:
    ids = [
        r["id"]
        for r in mc.execute(
            method="create_update_leads", leads=[{"email": f"l{i}@x.com"} for i in range(5)]
        )
    ]
    created = mc.execute(method="create_list", name="MRP list", folderId=12, folderType="Folder")
    list_id = created[0]["id"]
    assert mc.execute(method="get_list_by_name", name="MRP list")[0]["id"] == list_id
    assert mc.execute(method="get_list_by_id", id=list_id)[0]["name"] == "MRP list"
    for i in range(24):
        sandbox.create_list(f"extra {i}")
    browsed = mc.execute(method="browse_lists", folderId=12, folderType="Folder")
    assert len(browsed) == 25  # two pages of 20
    assert [x["name"] for x in mc.execute(method="get_multiple_lists", name=["MRP list"])] == [
        "MRP list"
    ]
    added = mc.execute(method="add_leads_to_list", listId=list_id, id=ids)
    assert [a["status"] for a in added] == ["added"] * 5
    member = mc.execute(method="member_of_list", listId=list_id, id=[ids[0], 999999])
    assert [m["status"] for m in member] == ["memberof", "skipped"]
    members = mc.execute(
        method="get_multiple_leads_by_list_id", listId=list_id, fields=["email"], batchSize=2
    )
    assert [m["id"] for m in members] == ids and members[0]["email"] == "l0@x.com"
    removed = mc.execute(method="remove_leads_from_list", listId=list_id, id=ids[:2])
    assert [r["status"] for r in removed] == ["removed", "removed"]
    assert sandbox.list_members(list_id) == ids[2:]
    renamed = mc.execute(method="update_list", id=list_id, name="MRP renamed")
    assert renamed[0]["name"] == "MRP renamed"
    assert mc.execute(method="delete_list", id=list_id) == [{"id": list_id}]


def test_describe_and_delete(mc, sandbox: MarketoSandbox) -> None:
    fields = {f["rest"]["name"] for f in mc.execute(method="describe") if "rest" in f}
    assert {"email", "firstName", "lastName", "company"} <= fields
    assert mc.execute(method="describe2")[0]["name"] == "API Lead"
    ids = [
        r["id"] for r in mc.execute(method="create_update_leads", leads=[{"email": "del@x.com"}])
    ]
    assert mc.execute(method="delete_lead", id=ids) == [{"id": ids[0], "status": "deleted"}]
    assert sandbox.lead_count() == 0


# marketorestpython opens the file it uploads and never closes it (its bug, not ours)
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_import_lead_status_and_failure_file(
    mc, sandbox: MarketoSandbox, clock: FakeClock, tmp_path: Path
) -> None:
    list_id = sandbox.create_list("Imported by mrp")["id"]
    path = tmp_path / "leads.csv"
    path.write_text("email,firstName\nimp1@x.com,One\nbad-email,Two\nimp3@x.com,Three\n")
    job = mc.execute(
        method="import_lead", format="csv", file=str(path), lookupField="email", listId=list_id
    )
    gc.collect()  # let its leaked file handle be reported inside this test
    batch_id = job[0]["batchId"]
    assert job[0]["status"] == "Queued"
    statuses = []
    for _ in range(5):
        status = mc.execute(method="get_import_lead_status", id=batch_id)[0]
        statuses.append(status["status"])
        if status["status"] == "Complete":
            break
        clock.advance(5)  # what a poller would wait
    assert statuses[0] == "Importing" and statuses[-1] == "Complete"
    assert status["numOfLeadsProcessed"] == 2 and status["numOfRowsFailed"] == 1
    failures = mc.execute(method="get_import_failure_file", id=batch_id)
    assert failures.splitlines() == [
        "email,firstName,Import Failure Reason",
        "bad-email,Two,Invalid value for field 'email' and value 'bad-email'",
    ]
    assert len(sandbox.list_members(list_id)) == 2
    assert mc.execute(method="get_import_warning_file", id=batch_id).splitlines() == [
        "email,firstName,Import Warning Reason"
    ]


def test_usage_stats(mc) -> None:
    mc.execute(method="describe")
    usage = mc.execute(method="get_daily_usage")
    assert usage[0]["total"] >= 1


def test_backoff_retry_without_token_meets_600_as_on_live_marketo(
    mc, sandbox: MarketoSandbox, no_library_sleeps: list[float]
) -> None:
    """Reference §9.3: marketorestpython drops the token on its backoff retries; Marketo
    answers a missing token with 600, which the library treats as final."""
    mc.execute(method="describe")  # authenticate first
    sandbox.set_faults([Fault(route="leads", sequence=("606",))])
    with pytest.raises(Exception) as info:
        mc.execute(method="create_update_leads", leads=[{"email": "r@x.com"}])
    assert info.value.args[0]["code"] == "600"
    assert no_library_sleeps  # it did back off once
    assert sandbox.stats.errors_by_code["606"] == 1 and sandbox.stats.errors_by_code["600"] == 1
    assert sandbox.lead_count() == 0


def test_bad_credentials_raise_the_oauth_description(sandbox: MarketoSandbox) -> None:
    client = mrp_client.MarketoClient(
        "000-AAA-000", sandbox.client_id, "wrong-secret", requests_timeout=(3, 30)
    )
    client.host = sandbox.base_url
    with pytest.raises(Exception, match="Bad client credentials"):
        client.execute(method="describe")


def test_browse_folders_then_create_a_list_in_a_new_subfolder(mc, sandbox: MarketoSandbox) -> None:
    """The usual "find a folder, then create a list in it" flow (reference §5.2a)."""
    folders = mc.execute(method="browse_folders", maxReturn=5)  # from the top, 5 a page
    list_folder = next(f for f in folders if f["folderType"] == "List")
    assert list_folder["path"] == "/Lead Database/Default/Group Lists"
    assert len(folders) == len(mc.execute(method="browse_folders", maxReturn=200))
    below = mc.execute(method="browse_folders", root=list_folder["id"], maxDepth=0)
    assert [f["id"] for f in below] == [list_folder["id"]]
    assert mc.execute(method="get_folder_by_id", id=list_folder["id"], type="Folder") == below
    # its create_folder sends parent={'id': N, 'type': Folder} (not strict JSON)
    made = mc.execute(
        method="create_folder", name="Imports", parentId=list_folder["id"], parentType="Folder"
    )
    sub = made[0]
    assert sub["path"] == "/Lead Database/Default/Group Lists/Imports"
    created = mc.execute(
        method="create_list", name="Webinar", folderId=sub["id"], folderType="Folder"
    )
    assert created[0]["folder"] == {"id": sub["id"], "type": "Folder"}
    contents = mc.execute(method="get_folder_contents", id=sub["id"], type="Folder")
    assert contents == [{"id": created[0]["id"], "type": "StaticList"}]
    by_name = mc.execute(method="get_folder_by_name", name="Imports")
    assert [f["id"] for f in by_name] == [sub["id"]]
    renamed = mc.execute(
        method="update_folder", id=sub["id"], name="Uploads", description="d", isArchive=False
    )
    assert renamed[0]["path"].endswith("/Group Lists/Uploads") and renamed[0]["isArchive"] is False
    assert sandbox.stats.errors_by_code == {}
    mc.execute(method="delete_list", id=created[0]["id"])
    assert mc.execute(method="delete_folder", id=sub["id"]) == [{"id": sub["id"]}]
