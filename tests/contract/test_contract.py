"""The contract: what a Marketo instance does, asserted the same way against every target.
Only facts the reference marks as documented or recorded live belong here; names are
unique per run and everything created is deleted again (live runs stay non-destructive)."""

from __future__ import annotations

import json
import re
import uuid

from .conftest import Target

REQUEST_ID = re.compile(r"[0-9a-f]+#[0-9a-f]+")


def _unique(prefix: str) -> str:
    return f"pnb-contract-{prefix}-{uuid.uuid4().hex[:10]}"


def _delete_leads(t: Target, ids: list[int]) -> None:
    if ids:
        t.json("POST", "/rest/v1/leads/delete.json", json={"input": [{"id": i} for i in ids]})


def test_identity_token_shape_and_reuse(target: Target) -> None:
    first = target.http.get(
        target.identity + "/oauth/token",
        params={"grant_type": "client_credentials", "client_id": target.client_id,
                "client_secret": target.client_secret},
    )  # fmt: skip
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 3600
    assert isinstance(body["access_token"], str) and "scope" in body
    second = target.http.get(
        target.identity + "/oauth/token",
        params={"grant_type": "client_credentials", "client_id": target.client_id,
                "client_secret": target.client_secret},
    ).json()  # fmt: skip
    assert second["access_token"] == body["access_token"]
    assert second["expires_in"] <= body["expires_in"]


def test_bad_secret_is_http_401_with_oauth_error(target: Target) -> None:
    r = target.http.get(
        target.identity + "/oauth/token",
        params={"grant_type": "client_credentials", "client_id": target.client_id,
                "client_secret": "definitely-wrong"},
    )  # fmt: skip
    assert r.status_code == 401 and "error" in r.json()


def test_auth_errors_inside_http_200(target: Target) -> None:
    missing = target.json("GET", "/rest/v1/leads/describe.json", auth=False)
    assert missing["success"] is False and missing["errors"][0]["code"] == "600"
    bad = target.json(
        "GET", "/rest/v1/leads/describe.json", auth=False,
        headers={"Authorization": "Bearer 00000000-0000-0000-0000-000000000000:ab"},
    )  # fmt: skip
    assert bad["errors"][0]["code"] == "601"
    assert REQUEST_ID.fullmatch(bad["requestId"])


def test_describe_lists_standard_fields(target: Target) -> None:
    res = target.json("GET", "/rest/v1/leads/describe.json")
    assert set(res) == {"requestId", "result", "success"} and res["success"] is True
    by_name = {f["rest"]["name"]: f for f in res["result"] if "rest" in f}
    assert by_name["email"]["dataType"] == "email" and by_name["email"]["length"] == 255
    assert by_name["firstName"]["dataType"] == "string"
    assert by_name["updatedAt"]["rest"]["readOnly"] is True


def test_sync_query_and_delete(target: Target) -> None:
    tag = _unique("sync")
    emails = [f"{tag}-{i}@example.com" for i in range(3)]
    ids: list[int] = []
    try:
        res = target.json(
            "POST", "/rest/v1/leads.json",
            json={"action": "createOrUpdate", "lookupField": "email",
                  "input": [{"email": emails[0], "firstName": "A"}, {"email": "not-an-email"},
                            {"email": emails[1], "numberOfEmployees": 14.1}]},
        )  # fmt: skip
        assert set(res) == {"requestId", "result", "success"}
        created, bad_email, bad_int = res["result"]
        assert created["status"] == "created"
        ids.append(created["id"])
        assert "id" not in bad_email and bad_email["reasons"][0] == {
            "code": "1003",
            "message": "Invalid value for field 'email' and value 'not-an-email'",
        }
        assert bad_int["reasons"][0]["code"] == "1003"
        again = target.json(
            "POST", "/rest/v1/leads.json",
            json={"input": [{"email": emails[0], "lastName": "B"}]},
        )  # fmt: skip
        assert again["result"] == [{"id": created["id"], "status": "updated"}]
        only_update = target.json(
            "POST", "/rest/v1/leads.json",
            json={"action": "updateOnly", "input": [{"email": emails[2]}]},
        )  # fmt: skip
        assert only_update["result"][0]["reasons"][0]["code"] == "1004"
        found = target.json(
            "GET", "/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": f"{emails[0]},{emails[2]}",
                    "fields": "email,firstName,lastName,title"},
        )  # fmt: skip
        assert "nextPageToken" not in found
        assert found["result"] == [
            {"id": created["id"], "email": emails[0], "firstName": "A", "lastName": "B",
             "title": None}
        ]  # fmt: skip
        via_post = target.json(
            "POST", "/rest/v1/leads.json",
            data={"_method": "GET", "filterType": "email", "filterValues": emails[0]},
        )  # fmt: skip
        assert [r["id"] for r in via_post["result"]] == [created["id"]]
    finally:
        _delete_leads(target, ids)
    assert ids, "no lead was created"
    gone = target.json("GET", f"/rest/v1/lead/{ids[0]}.json")
    assert gone["result"] == []


def test_static_list_lifecycle_and_membership(target: Target) -> None:
    name = _unique("list")
    folder = target.json("GET", "/rest/asset/v1/folder/byName.json", params={"name": "Group Lists"})
    folder_id = folder["result"][0]["folderId"]
    created = target.json(
        "POST", "/rest/asset/v1/staticLists.json",
        data={"name": name, "folder": json.dumps(folder_id)},
    )  # fmt: skip
    assert created["errors"] == [] and created["warnings"] == []
    list_id = created["result"][0]["id"]
    lead_ids: list[int] = []
    try:
        assert created["result"][0]["folder"]["id"] == folder_id["id"]
        by_name = target.json("GET", "/rest/asset/v1/staticList/byName.json", params={"name": name})
        assert by_name["result"][0]["id"] == list_id
        none = target.json(
            "GET", "/rest/asset/v1/staticList/byName.json", params={"name": name + "-missing"}
        )
        assert "result" not in none and none["warnings"] == [
            "No assets found for the given search criteria."
        ]
        sync = target.json(
            "POST", "/rest/v1/leads.json",
            json={"input": [{"email": f"{name}-{i}@example.com"} for i in range(2)]},
        )  # fmt: skip
        lead_ids = [r["id"] for r in sync["result"]]
        added = target.json(
            "POST", f"/rest/v1/lists/{list_id}/leads.json",
            json={"input": [{"id": i} for i in lead_ids]},
        )  # fmt: skip
        assert added["result"] == [{"id": i, "status": "added"} for i in lead_ids]
        members = target.json("GET", f"/rest/v1/lists/{list_id}/leads.json")
        assert sorted(m["id"] for m in members["result"]) == sorted(lead_ids)
        check = target.json(
            "GET", f"/rest/v1/lists/{list_id}/leads/ismember.json",
            params={"id": ",".join(map(str, lead_ids))},
        )  # fmt: skip
        assert {r["status"] for r in check["result"]} == {"memberof"}
        removed = target.json(
            "DELETE", f"/rest/v1/lists/{list_id}/leads.json", params={"id": str(lead_ids[0])}
        )
        assert removed["result"] == [{"id": lead_ids[0], "status": "removed"}]
        again = target.json(
            "DELETE", f"/rest/v1/lists/{list_id}/leads.json", params={"id": str(lead_ids[0])}
        )
        assert again["result"][0]["reasons"][0]["code"] == "1015"
    finally:
        _delete_leads(target, lead_ids)
        deleted = target.json("POST", f"/rest/asset/v1/staticList/{list_id}/delete.json")
        assert deleted["result"] == [{"id": list_id}]


def test_bulk_import_to_complete_with_failures(target: Target) -> None:
    tag = _unique("bulk")
    csv = f"email,firstName\n{tag}-1@example.com,One\nnot-an-email,Two\n".encode()
    job = target.json(
        "POST", "/bulk/v1/leads.json", params={"format": "csv", "lookupField": "email"},
        files={"file": ("leads.csv", csv, "text/csv")},
    )  # fmt: skip
    batch_id = job["result"][0]["batchId"]
    assert job["result"][0]["status"] == "Queued"
    status: dict = {}
    for _ in range(60):
        status = target.json("GET", f"/bulk/v1/leads/batch/{batch_id}.json")["result"][0]
        if status["status"] in ("Complete", "Failed"):
            break
        target.wait(10)
    assert status["status"] == "Complete"
    assert status["numOfLeadsProcessed"] == 1 and status["numOfRowsFailed"] == 1
    failures = target.call("GET", f"/bulk/v1/leads/batch/{batch_id}/failures.json").text
    assert failures.splitlines()[0] == "email,firstName,Import Failure Reason"
    found = target.json(
        "GET", "/rest/v1/leads.json",
        params={"filterType": "email", "filterValues": f"{tag}-1@example.com"},
    )  # fmt: skip
    _delete_leads(target, [r["id"] for r in found["result"]])


def test_unknown_path_and_wrong_verb(target: Target) -> None:
    wrong_verb = target.json("GET", "/rest/v1/leads/delete.json")
    assert wrong_verb["success"] is False and wrong_verb["errors"][0]["code"] in ("605", "610")
