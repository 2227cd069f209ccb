"""Bulk lead import through raw HTTP: multipart, queue limits, states, failure files."""

from __future__ import annotations

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp

from .conftest import Api


def _import(api: Api, data: bytes, *, form: bool = False, **params: str) -> dict:
    files = {"file": ("leads.csv", data, "text/csv")}
    if form:  # params as form parts, like the docs' curl example
        return api.post("/bulk/v1/leads.json", data=params, files=files)
    return api.post("/bulk/v1/leads.json", params=params, files=files)


def _status(api: Api, batch_id: int) -> dict:
    return api.get(f"/bulk/v1/leads/batch/{batch_id}.json")["result"][0]


def test_import_moves_through_states_with_failures_and_list(api: Api, clock: FakeClock) -> None:
    list_id = api.create_list("Imported")
    api.sync([{"email": "old@x.com", "firstName": "Old"}])
    data = (
        b"email,firstName,numberOfEmployees\n"
        b"old@x.com,Renamed,3\nnew@x.com,New,\nbad,Bad,1\nx@x.com,X,1.5\n"
    )
    res = _import(api, data, format="csv", lookupField="email", listId=str(list_id))
    job = res["result"][0]
    assert job == {"batchId": job["batchId"], "importId": str(job["batchId"]), "status": "Queued"}
    assert _status(api, job["batchId"])["status"] == "Importing"
    clock.advance(api.app.import_seconds)
    done = _status(api, job["batchId"])
    assert done["status"] == "Complete"
    assert (done["numOfLeadsProcessed"], done["numOfRowsFailed"], done["numOfRowsWithWarning"]) == (
        2,
        2,
        0,
    )
    assert (
        done["message"] == "Import completed with errors, 2 records imported (2 members), 2 failed"
    )
    failures = api.request("GET", f"/bulk/v1/leads/batch/{job['batchId']}/failures.json").text
    assert failures.splitlines() == [
        "email,firstName,numberOfEmployees,Import Failure Reason",
        "bad,Bad,1,Invalid value for field 'email' and value 'bad'",
        "x@x.com,X,1.5,Invalid value for field 'numberOfEmployees' and value '1.5'",
    ]
    leads = {lead["email"]: lead for lead in api.app.leads()}
    assert leads["old@x.com"]["firstName"] == "Renamed" and leads["new@x.com"]["firstName"] == "New"
    assert sorted(api.app.list_members(list_id)) == sorted(
        leads[e]["id"] for e in ("old@x.com", "new@x.com")
    )


@pytest.mark.parametrize(("fmt", "sep"), [("tsv", "\t"), ("ssv", ";")])
def test_tsv_ssv_with_params_in_form_and_warnings(
    api: Api, clock: FakeClock, fmt: str, sep: str
) -> None:
    data = f"email{sep}firstName{sep}shoeSize\na@x.com{sep}A{sep}42\n{sep}B{sep}\n".encode()
    job = _import(api, data, form=True, format=fmt)["result"][0]
    clock.advance(5)
    _status(api, job["batchId"])
    clock.advance(5)
    done = _status(api, job["batchId"])
    assert (done["numOfLeadsProcessed"], done["numOfRowsFailed"], done["numOfRowsWithWarning"]) == (
        1,
        1,
        1,
    )
    warnings = api.request("GET", f"/bulk/v1/leads/batch/{job['batchId']}/warnings.json").text
    assert warnings.splitlines()[0] == sep.join(
        ["email", "firstName", "shoeSize", "Import Warning Reason"]
    )
    failures = api.request("GET", f"/bulk/v1/leads/batch/{job['batchId']}/failures.json").text
    assert failures.splitlines()[1].endswith("Value for lookup field 'email' not found")


def test_queue_limits_two_importing_ten_queued_then_1016(api: Api, clock: FakeClock) -> None:
    ids = [_import(api, f"email\nq{i}@x.com\n".encode())["result"][0]["batchId"] for i in range(10)]
    assert _import(api, b"email\nz@x.com\n")["errors"] == [
        {"code": "1016", "message": "Too many imports"}
    ]
    statuses = [_status(api, i)["status"] for i in ids]
    assert statuses.count("Importing") == 2 and statuses.count("Queued") == 8
    for _ in range(6):
        clock.advance(api.app.import_seconds)
        api.app.process_imports()
    assert {_status(api, i)["status"] for i in ids} == {"Complete"}
    assert api.app.lead_count() == 10
    assert _import(api, b"email\nz@x.com\n")["success"] is True


def test_import_errors(api: Api) -> None:
    assert _import(api, b"")["errors"][0] == {"code": "1003", "message": "Empty File"}
    assert _import(api, b"email\na@x.com\n", format="xml")["errors"][0]["code"] == "1001"
    assert _import(api, b"email\na@x.com\n", listId="999")["errors"][0]["code"] == "1013"
    not_multipart = api.post(
        "/bulk/v1/leads.json", content=b"email\n", headers={"Content-Type": "text/csv"}
    )
    assert not_multipart["errors"][0]["code"] == "612"
    assert api.get("/bulk/v1/leads/batch/9999.json")["success"] is False
    big = b"email,address\n" + b"a@x.com," + b"y" * (10 * 1024 * 1024) + b"\n"
    r = api.request("POST", "/bulk/v1/leads.json", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413


def test_files_are_refused_before_the_job_completes(api: Api) -> None:
    job = _import(api, b"email\na@x.com\n")["result"][0]
    res = api.get(f"/bulk/v1/leads/batch/{job['batchId']}/failures.json")
    assert res["success"] is False and res["errors"][0]["code"] == "1003"


def test_zero_import_seconds_completes_on_first_poll(clock: FakeClock) -> None:
    from .conftest import make_api

    app = SandboxApp(clock=clock, import_seconds=0)
    api = make_api(app)
    job = _import(api, b"email\na@x.com\n")["result"][0]
    assert _status(api, job["batchId"])["status"] == "Complete"
    assert (
        _status(api, job["batchId"])["message"]
        == "Import succeeded, 1 records imported (1 members)"
    )


def test_unparsable_file_fails_the_job(api: Api, clock: FakeClock) -> None:
    job = _import(api, b"email\n\xff\xfe\xfa@x.com\n")["result"][0]
    _status(api, job["batchId"])
    clock.advance(api.app.import_seconds)
    done = _status(api, job["batchId"])
    assert done["status"] == "Failed" and done["message"].startswith("Import failed")


def test_any_later_call_sees_a_finished_import(api: Api, clock: FakeClock) -> None:
    _import(api, b"email\nlater@x.com\n")
    api.get("/rest/v1/leads/describe.json")  # starts the job
    clock.advance(api.app.import_seconds)
    found = api.get(
        "/rest/v1/leads.json", params={"filterType": "email", "filterValues": "later@x.com"}
    )
    assert len(found["result"]) == 1


def test_second_import_into_a_busy_list_is_1019(api: Api, clock: FakeClock) -> None:
    list_id = str(api.create_list("Busy"))
    assert _import(api, b"email\na@x.com\n", listId=list_id)["success"] is True
    assert _import(api, b"email\nb@x.com\n", listId=list_id)["errors"] == [
        {"code": "1019", "message": "Import in progress"}
    ]
    busy = api.post(f"/rest/asset/v1/staticList/{list_id}/delete.json")
    assert busy["errors"][0]["code"] == "709"  # a list used by an import cannot be deleted
    clock.advance(api.app.import_seconds)
    api.app.process_imports()
    clock.advance(api.app.import_seconds)
    assert _import(api, b"email\nb@x.com\n", listId=list_id)["success"] is True
