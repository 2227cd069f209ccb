"""Lead endpoints through raw HTTP: sync semantics, validation, queries, delete, describe."""

from __future__ import annotations

import pytest

from paragon_nb.sandbox import SandboxApp

from .conftest import Api


def _reasons(res: dict) -> list[tuple[str, str]]:
    return [(r["reasons"][0]["code"], r["reasons"][0]["message"]) for r in res["result"]]


def test_sync_results_in_input_order_with_created_updated_skipped(api: Api) -> None:
    res = api.sync(
        [
            {"email": "a@x.com", "firstName": "Ada"},
            {"email": "bademail"},
            {"email": "A@X.COM", "lastName": "Lovelace"},  # same lead, other case
        ]
    )
    assert set(res) == {"requestId", "result", "success"}
    first, bad, again = res["result"]
    assert first == {"id": first["id"], "status": "created"}
    assert bad == {
        "status": "skipped",
        "reasons": [
            {"code": "1003", "message": "Invalid value for field 'email' and value 'bademail'"}
        ],
    }
    assert again == {"id": first["id"], "status": "updated"}
    lead = api.app.leads()[0]
    assert (lead["firstName"], lead["lastName"], lead["email"]) == ("Ada", "Lovelace", "A@X.COM")
    assert api.app.lead_count() == 1


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("unsubscribed", "other", "other"),
        ("email", "bademail", "bademail"),
        ("numberOfEmployees", 14.1, "14.1"),
        ("annualRevenue", "14c", "14c"),
        ("dateOfBirth", "yesterday", "yesterday"),
        ("dateOfBirth", "2021-13-45", "2021-13-45"),
        ("leadScore", True, "true"),
        ("sicCode", "x" * 41, "x" * 41),
    ],
)
def test_type_errors_use_marketos_1003_message(api: Api, field: str, value, shown: str) -> None:
    res = api.sync([{"email": "t@x.com", field: value}])
    assert _reasons(res) == [("1003", f"Invalid value for field '{field}' and value '{shown}'")]
    assert api.app.lead_count() == 0


def test_custom_field_types_are_validated(app: SandboxApp, api: Api) -> None:
    app.add_field("lastSeen", "datetime")
    app.add_field("discount", "percent")
    res = api.sync(
        [{"email": "c@x.com", "lastSeen": "yesterday"}, {"email": "d@x.com", "discount": "100%"}]
    )
    assert [r[1] for r in _reasons(res)] == [
        "Invalid value for field 'lastSeen' and value 'yesterday'",
        "Invalid value for field 'discount' and value '100%'",
    ]
    res = api.sync([{"email": "c@x.com", "lastSeen": "2021-11-23T23:57:08+01:00", "discount": 15}])
    assert res["result"][0]["status"] == "created"
    lead = api.get(
        "/rest/v1/leads.json",
        params={"filterType": "email", "filterValues": "c@x.com", "fields": "lastSeen,discount"},
    )["result"][0]
    assert lead["lastSeen"] == "2021-11-23T22:57:08Z" and lead["discount"] == 15


def test_null_clears_fields_and_booleans_read_false(api: Api) -> None:
    api.sync([{"email": "n@x.com", "firstName": "N", "unsubscribed": True}])
    api.sync([{"email": "n@x.com", "firstName": None, "unsubscribed": None}])
    lead = api.get(
        "/rest/v1/leads.json",
        params={
            "filterType": "email",
            "filterValues": "n@x.com",
            "fields": "firstName,unsubscribed",
        },
    )["result"][0]
    assert lead["firstName"] is None and lead["unsubscribed"] is False


def test_actions_and_their_reason_codes(api: Api) -> None:
    created = api.sync([{"email": "o@x.com"}], action="createOnly")["result"][0]
    assert created["status"] == "created"
    assert _reasons(api.sync([{"email": "o@x.com"}], action="createOnly")) == [
        ("1005", "Lead already exists")
    ]
    assert _reasons(api.sync([{"email": "none@x.com"}], action="updateOnly")) == [
        ("1004", "Lead not found")
    ]
    dup = api.sync([{"email": "o@x.com"}], action="createDuplicate")["result"][0]
    assert dup["status"] == "created" and dup["id"] != created["id"]
    assert _reasons(api.sync([{"email": "o@x.com", "title": "x"}])) == [
        ("1007", "Multiple lead match lookup criteria")
    ]
    by_id = api.sync([{"id": created["id"], "title": "CTO"}], action="updateOnly", lookupField="id")
    assert by_id["result"] == [{"id": created["id"], "status": "updated"}]
    assert _reasons(api.sync([{"email": "p@x.com", "nope": 1}]))[0] == (
        "1006",
        "Field 'nope' not found",
    )
    assert _reasons(api.sync([{"id": 5, "email": "q@x.com"}], action="createOnly"))[0][0] == "1003"


def test_more_than_300_records_are_refused_whole(api: Api) -> None:
    res = api.sync([{"email": f"u{i}@x.com"} for i in range(301)])
    assert res["success"] is False and res["errors"][0]["code"] == "1003"
    assert api.app.lead_count() == 0


def test_request_level_errors(api: Api) -> None:
    r = api.request(
        "POST",
        "/rest/v1/leads.json",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert r.json()["errors"][0]["code"] == "609"
    # nested past Python's recursion limit: still a bad body (609), not a retryable 611
    deep = b'{"input": [{"email": "a@x.com", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}]}"
    r = api.request(
        "POST", "/rest/v1/leads.json", content=deep, headers={"Content-Type": "application/json"}
    )
    assert r.json()["errors"][0]["code"] == "609"
    r = api.request(
        "POST", "/rest/v1/leads.json", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert r.json()["errors"][0]["code"] == "612"
    assert api.sync([], action="upsert")["errors"][0]["code"] == "1001"
    assert api.sync([{"email": "a@x.com"}], lookupField="firstName")["errors"][0]["code"] == "1011"
    assert api.request("PUT", "/rest/v1/leads.json").json()["errors"][0]["code"] == "605"
    assert api.get("/rest/v1/nothing.json")["errors"][0]["code"] == "610"


def test_body_over_1mb_is_413_and_uri_over_8kb_is_414(api: Api) -> None:
    big = [{"email": f"b{i}@x.com", "address": "y" * 4000} for i in range(300)]
    r = api.request("POST", "/rest/v1/leads.json", json={"input": big})
    assert r.status_code == 413 and "<html>" in r.text
    r = api.request(
        "GET", "/rest/v1/leads.json", params={"filterType": "email", "filterValues": "a" * 9000}
    )
    assert r.status_code == 414
    assert api.app.stats.errors_by_code["413"] == 1 and api.app.stats.errors_by_code["414"] == 1


def test_queries_get_and_post_method_override_with_paging(api: Api) -> None:
    ids = [
        r["id"]
        for r in api.sync([{"email": f"p{i}@x.com", "firstName": f"P{i}"} for i in range(5)])[
            "result"
        ]
    ]
    emails = ",".join(f"P{i}@X.com" for i in range(5))
    page1 = api.get(
        "/rest/v1/leads.json",
        params=[("filterType", "email"), ("filterValues", emails), ("batchSize", "2"),
                ("fields", "email"), ("fields", "firstName")],
    )  # fmt: skip
    assert [r["id"] for r in page1["result"]] == ids[:2]
    assert set(page1["result"][0]) == {"id", "email", "firstName"}
    assert page1["moreResult"] is True and page1["nextPageToken"]
    seen = list(page1["result"])
    token = page1["nextPageToken"]
    while token:  # continue as marketorestpython does: POST + _method=GET in the form
        page = api.post(
            "/rest/v1/leads.json",
            data={"_method": "GET", "filterType": "email", "filterValues": emails,
                  "batchSize": "2", "nextPageToken": token},
        )  # fmt: skip
        seen += page["result"]
        token = page.get("nextPageToken")
    assert [r["id"] for r in seen] == ids
    assert "nextPageToken" not in page and "moreResult" not in page
    default = api.get(
        "/rest/v1/leads.json", params={"filterType": "id", "filterValues": str(ids[0])}
    )
    assert set(default["result"][0]) == {
        "id",
        "email",
        "updatedAt",
        "createdAt",
        "firstName",
        "lastName",
    }
    assert default["result"][0]["lastName"] is None


def test_query_errors(api: Api) -> None:
    assert (
        api.get("/rest/v1/leads.json", params={"filterType": "firstName", "filterValues": "a"})[
            "errors"
        ][0]["code"]
        == "1011"
    )
    assert (
        api.get(
            "/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": "a@x.com", "fields": "bogus"},
        )["errors"][0]["code"]
        == "1006"
    )
    assert (
        api.get("/rest/v1/leads.json", params={"filterType": "email"})["errors"][0]["code"]
        == "1002"
    )
    assert (
        api.get(
            "/rest/v1/leads.json",
            params={"filterType": "email", "filterValues": "a", "nextPageToken": "zz"},
        )["errors"][0]["code"]
        == "1001"
    )


def test_too_many_filter_matches(app: SandboxApp, api: Api) -> None:
    app.add_field("segment", "string")
    for start in range(0, 1200, 300):
        api.sync([{"email": f"m{i}@x.com", "segment": "all"} for i in range(start, start + 300)])
    res = api.get("/rest/v1/leads.json", params={"filterType": "segment", "filterValues": "all"})
    assert res["errors"] == [{"code": "1003", "message": "Too many results match the filter"}]


def test_lead_by_id_and_delete_in_all_three_forms(api: Api) -> None:
    ids = [r["id"] for r in api.sync([{"email": f"d{i}@x.com"} for i in range(4)])["result"]]
    one = api.get(f"/rest/v1/lead/{ids[0]}.json", params={"fields": "email"})
    assert one["result"] == [{"id": ids[0], "email": "d0@x.com"}]
    assert api.get("/rest/v1/lead/999.json")["result"] == []
    res = api.post("/rest/v1/leads/delete.json", json={"input": [{"id": ids[0]}, {"id": 999}]})
    assert res["result"] == [
        {"id": ids[0], "status": "deleted"},
        {
            "id": 999,
            "status": "skipped",
            "reasons": [{"code": "1004", "message": "Lead not found"}],
        },
    ]
    assert (
        api.post("/rest/v1/leads.json?_method=DELETE", json={"input": [{"id": ids[1]}]})["result"][
            0
        ]["status"]
        == "deleted"
    )
    assert (
        api.delete(
            "/rest/v1/leads.json",
            content=f'{{"input":[{{"id":{ids[2]}}}]}}',
            headers={"Content-Type": "application/json"},
        )["result"][0]["status"]
        == "deleted"
    )
    assert (
        api.post("/rest/v1/leads/delete.json", params={"id": str(ids[3])})["result"][0]["status"]
        == "deleted"
    )
    assert api.app.lead_count() == 0
    assert api.app.stats.write_calls == 5


def test_describe_and_describe2(app: SandboxApp, api: Api) -> None:
    app.add_field("favoriteColor", "string", length=80, display_name="Favorite Color")
    items = {i["rest"]["name"]: i for i in api.get("/rest/v1/leads/describe.json")["result"]}
    assert items["email"] == {
        "id": 56,
        "displayName": "Email Address",
        "dataType": "email",
        "length": 255,
        "rest": {"name": "email", "readOnly": False},
        "soap": {"name": "Email", "readOnly": False},
    }
    assert items["createdAt"]["rest"]["readOnly"] is True and "length" not in items["createdAt"]
    assert items["favoriteColor"]["length"] == 80
    d2 = api.get("/rest/v1/leads/describe2.json")["result"][0]
    assert d2["name"] == "API Lead" and ["email"] in d2["searchableFields"]
    assert ["favoriteColor"] in d2["searchableFields"]
    assert {"name": "updatedAt"}.items() <= next(
        f for f in d2["fields"] if f["name"] == "updatedAt"
    ).items()


def test_gzip_when_asked(api: Api) -> None:
    r = api.request("GET", "/rest/v1/leads/describe.json", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.json()["success"] is True


def test_partitions_and_unknown_partition(api: Api) -> None:
    res = api.get("/rest/v1/leads/partitions.json")
    assert [p["name"] for p in res["result"]] == ["Default"]
    assert api.sync([{"email": "p@x.com"}], partitionName="Default")["success"] is True
    assert api.sync([{"email": "p@x.com"}], partitionName="Europe")["errors"][0]["code"] == "1008"


def test_schema_field_endpoints(app: SandboxApp, api: Api) -> None:
    app.add_field("tier", "integer")
    page = api.get("/rest/v1/leads/schema/fields.json", params={"batchSize": 10})
    assert len(page["result"]) == 10 and page["nextPageToken"]
    one = api.get("/rest/v1/leads/schema/fields/tier.json")["result"][0]
    assert one["dataType"] == "integer" and one["isCustom"] is True and "length" not in one
    assert api.get("/rest/v1/leads/schema/fields/email.json")["result"][0]["length"] == 255
    assert api.get("/rest/v1/leads/schema/fields/nope.json")["errors"][0]["code"] == "1006"


def test_rest_prefixed_identity_path_is_a_600(api: Api) -> None:
    """Reference §1.1: putting /rest in front of /identity is a classic cause of 600."""
    app = api.app
    res = api.get(
        "/rest/identity/oauth/token",
        auth=False,
        params={"grant_type": "client_credentials", "client_id": app.client_id,
                "client_secret": app.client_secret},
    )  # fmt: skip
    assert res["errors"][0]["code"] == "600"


def test_an_oversized_body_is_drained_but_only_its_head_kept() -> None:
    import io

    from paragon_nb.sandbox.app import _read_body

    stream = io.BytesIO(b"x" * 3_000_000)
    body = _read_body({"CONTENT_LENGTH": "3000000", "wsgi.input": stream}, keep=1_000_001)
    assert len(body) == 1_000_001  # enough to see it is over the 1 MB limit
    assert stream.tell() == 3_000_000  # all read, so the client gets its 413, not a reset


def test_email_dot_atom_rule_gives_1003(api) -> None:
    res = api.sync(
        [{"email": "dot..dot@example.com"}, {"email": ".lead@example.com"},
         {"email": "trail.@example.com"}, {"email": "ok.dot@example.com"}]
    )  # fmt: skip
    statuses = [r["status"] for r in res["result"]]
    assert statuses == ["skipped", "skipped", "skipped", "created"]
    assert res["result"][0]["reasons"] == [
        {
            "code": "1003",
            "message": "Invalid value for field 'email' and value 'dot..dot@example.com'",
        }
    ]


def test_records_of_one_call_see_what_earlier_records_of_it_did(api: Api) -> None:
    """The call reads its leads once up front (one query, not one per record) and keeps
    them current: a lead created, duplicated or changed by one record is what the next
    record of the same call matches."""
    before = api.sync([{"email": "old@x.com", "firstName": "Old", "title": "CEO"}])["result"][0]
    res = api.sync(
        [
            {"email": "OLD@x.com", "firstName": "Renamed"},  # the lead from before the call
            {"email": "old@x.com", "lastName": "Again"},  # sees the rename
            {"email": "new@x.com", "firstName": "New"},  # created here...
            {"email": "NEW@x.com", "title": "CTO"},  # ...and matched right after
        ]
    )["result"]
    assert [r["status"] for r in res] == ["updated", "updated", "created", "updated"]
    assert res[0]["id"] == res[1]["id"] == before["id"] and res[2]["id"] == res[3]["id"]
    leads = {lead["email"].lower(): lead for lead in api.app.leads()}
    old, new = leads["old@x.com"], leads["new@x.com"]
    assert (old["firstName"], old["lastName"], old["title"]) == ("Renamed", "Again", "CEO")
    assert (new["firstName"], new["title"]) == ("New", "CTO")
    dup = api.sync(
        [{"email": "new@x.com"}, {"email": "new@x.com", "title": "x"}], action="createDuplicate"
    )["result"]
    assert [r["status"] for r in dup] == ["created", "created"]
    assert _reasons(api.sync([{"email": "new@x.com", "title": "y"}])) == [
        ("1007", "Multiple lead match lookup criteria")
    ]
    assert api.app.lead_count() == 4
