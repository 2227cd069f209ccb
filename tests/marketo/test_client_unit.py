"""Client resources against a scripted fake (MockTransport): shapes, chunking, paging."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError, MarketoError, MarketoNotFound
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.marketo.models import ImportStatus, ListMemberStatus, RecordStatus

from .fake import BASE, FakeMarketo, fail, make_client, ok


@pytest.fixture
def fake(clock: FakeClock) -> FakeMarketo:
    return FakeMarketo(clock)


# ------------------------------------------------------------------ construction


def test_from_env_names_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETO_ENDPOINT", "https://x.mktorest.com/rest")
    with pytest.raises(ConfigurationError) as info:
        MarketoClient.from_env()
    assert "MARKETO_CLIENT_ID" in str(info.value) and "MARKETO_CLIENT_SECRET" in str(info.value)
    assert "MARKETO_ENDPOINT" not in str(info.value)


def test_from_env_derives_identity_and_repr_hides_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETO_ENDPOINT", "https://123-ABC-456.mktorest.com/rest/")
    monkeypatch.setenv("MARKETO_CLIENT_ID", "cid")
    monkeypatch.setenv("MARKETO_CLIENT_SECRET", "very-secret")
    client = MarketoClient.from_env()
    assert client.endpoint == "https://123-ABC-456.mktorest.com/rest"
    assert client.identity == "https://123-ABC-456.mktorest.com/identity"
    assert client.instance_key == "https://123-abc-456.mktorest.com/rest"
    assert "very-secret" not in repr(client)
    assert repr(client) == (
        "MarketoClient(endpoint='https://123-ABC-456.mktorest.com/rest', client_id='cid')"
    )
    monkeypatch.setenv("MARKETO_IDENTITY", "https://id.example/identity")
    assert MarketoClient.from_env().identity == "https://id.example/identity"


@pytest.mark.parametrize("endpoint", ["not a url", "ftp://x/rest"])
def test_bad_endpoint_is_a_configuration_error(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="endpoint"):
        MarketoClient(endpoint, "id", "secret")


def test_timeout_cannot_be_disabled() -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        MarketoClient("https://x/rest", "id", "secret", timeout=None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ describe + sync


def test_describe_is_typed_and_cached(fake: FakeMarketo) -> None:
    item = {
        "id": 56,
        "displayName": "Email Address",
        "dataType": "email",
        "length": 255,
        "rest": {"name": "email", "readOnly": False},
    }
    ro = {
        "id": 1,
        "displayName": "Created",
        "dataType": "datetime",
        "rest": {"name": "createdAt", "readOnly": True},
    }
    fake.route("GET", "/rest/v1/leads/describe.json")(lambda r, b: ok([item, ro]))
    client = make_client(fake)
    fields = client.describe()
    assert fields[0].name == "email" and fields[0].length == 255 and not fields[0].read_only
    assert fields[1].read_only
    client.describe()
    assert len(fake.rest_requests()) == 1
    client.check()
    assert len(fake.rest_requests()) == 2


def _sync_route(fake: FakeMarketo) -> list[dict]:
    bodies: list[dict] = []

    @fake.route("POST", "/rest/v1/leads.json")
    def sync(request: httpx.Request, body: dict) -> dict:
        bodies.append(body)
        out = []
        for rec in body["input"]:
            n = int(rec["email"].split("@")[0][1:])
            if n % 7 == 3:
                out.append(
                    {"status": "skipped", "reasons": [{"code": "1003", "message": f"bad {n}"}]}
                )
            else:
                out.append({"id": 10_000 + n, "status": "created"})
        return ok(out)

    return bodies


def test_sync_leads_any_size_in_input_order_concurrently(fake: FakeMarketo) -> None:
    bodies = _sync_route(fake)
    gate = threading.Barrier(3, timeout=10)
    fake.on_request = lambda req: gate.wait() if "leads.json" in req.url.path else None
    client = make_client(fake, limits=Limits(max_concurrency=3))
    records = [{"email": f"u{i}@x.com"} for i in range(899)]  # 3 batches: all three in flight
    done: list[int] = []
    results = client.sync_leads(records, partition="Default", progress=done.append)
    assert len(results) == 899
    for i, res in enumerate(results):
        if i % 7 == 3:
            assert res.status is RecordStatus.SKIPPED and res.id is None
            assert (res.reason_code, res.reason) == ("1003", f"bad {i}")
        else:
            assert (res.status, res.id) == (RecordStatus.CREATED, 10_000 + i)
    assert sorted(len(b["input"]) for b in bodies) == [299, 300, 300]
    assert all(b["partitionName"] == "Default" and b["lookupField"] == "email" for b in bodies)
    assert fake.max_in_flight == 3
    assert sorted(done) == [299, 300, 300]
    assert client.stats.per_path == {"POST /rest/v1/leads.json": 3}


def test_sync_leads_refuses_unknown_action_and_sends_nothing(fake: FakeMarketo) -> None:
    client = make_client(fake)
    with pytest.raises(ConfigurationError, match="createOrUpdate"):
        client.sync_leads([{"email": "a@x.com"}], action="upsert")
    assert client.sync_leads([]) == []
    assert fake.requests == []


def test_sync_leads_result_count_mismatch_raises(fake: FakeMarketo) -> None:
    fake.route("POST", "/rest/v1/leads.json")(lambda r, b: ok([{"id": 1, "status": "created"}]))
    client = make_client(fake)
    with pytest.raises(MarketoError, match="1 results for 2 records"):
        client.sync_leads([{"email": "a@x.com"}, {"email": "b@x.com"}])


def test_sync_leads_batch_failure_raise_or_skip(fake: FakeMarketo) -> None:
    _sync_route(fake)
    fake.script["/rest/v1/leads.json"] = ["1006"]
    client = make_client(fake, limits=Limits(max_concurrency=1))
    records = [{"email": f"u{i}@x.com"} for i in range(400)]
    with pytest.raises(MarketoError) as info:
        client.sync_leads(records)
    assert info.value.partial_results[0] is None  # type: ignore[attr-defined]
    fake.script["/rest/v1/leads.json"] = ["1006"]
    with pytest.raises(MarketoError) as one:  # a single batch says so too
        client.sync_leads(records[:10])
    assert one.value.partial_results == [None]  # type: ignore[attr-defined]
    fake.script["/rest/v1/leads.json"] = ["1006"]
    results = client.sync_leads(records, on_batch_error="skip")
    assert [r.reason_code for r in results[:300]] == ["1006"] * 300
    assert results[300].status is RecordStatus.CREATED


# ------------------------------------------------------------------ queries


def test_iter_leads_chunks_values_and_follows_pages(fake: FakeMarketo) -> None:
    seen: list[dict] = []

    @fake.route("GET", "/rest/v1/leads.json")
    def query(request: httpx.Request, body: object) -> dict:
        params = dict(request.url.params)
        seen.append(params)
        values = params["filterValues"].split(",")
        if "nextPageToken" not in params and len(values) > 100:
            return ok([{"id": 1}], nextPageToken="PAGE2", moreResult=True)
        return ok([{"id": 2}])

    client = make_client(fake)
    rows = client.get_leads("id", list(range(650)), fields=["email", "firstName"])
    assert len(rows) == 5  # chunks of 300 and 300 page twice, 50 once
    assert [len(p["filterValues"].split(",")) for p in seen] == [300, 300, 300, 300, 50]
    assert seen[1]["nextPageToken"] == "PAGE2"
    assert seen[0]["fields"] == "email,firstName" and seen[0]["batchSize"] == "300"


def test_long_query_goes_as_post_with_method_get(fake: FakeMarketo) -> None:
    forms: list[dict] = []

    @fake.route("POST", "/rest/v1/leads.json")
    def query(request: httpx.Request, body: dict) -> dict:
        assert request.url.params["_method"] == "GET"
        forms.append(body)
        return ok([])

    client = make_client(fake)
    emails = [f"someone.with.a.long.address{i}@example-company.com" for i in range(300)]
    assert client.get_leads("email", emails) == []
    assert len(forms) == 1
    assert forms[0]["filterValues"].split(",") == emails
    assert len(str(fake.rest_requests()[0].url)) < 8000


def test_get_lead_and_delete(fake: FakeMarketo) -> None:
    fake.route("GET", "/rest/v1/lead/5.json")(lambda r, b: ok([{"id": 5, "email": "a@x.com"}]))
    fake.route("GET", "/rest/v1/lead/6.json")(lambda r, b: ok([]))

    @fake.route("POST", "/rest/v1/leads/delete.json")
    def delete(request: httpx.Request, body: dict) -> dict:
        return ok(
            [
                {"id": x["id"], "status": "deleted"}
                if x["id"] != 9
                else {
                    "id": 9,
                    "status": "skipped",
                    "reasons": [{"code": "1004", "message": "Lead not found"}],
                }
                for x in body["input"]
            ]
        )

    client = make_client(fake)
    assert client.get_lead(5, fields=["email"]) == {"id": 5, "email": "a@x.com"}
    assert client.get_lead(6) is None
    results = client.delete_leads([5, 9])
    assert [r.status for r in results] == [RecordStatus.DELETED, RecordStatus.SKIPPED]
    assert results[1].reason_code == "1004"


# ------------------------------------------------------------------ lists


LIST = {
    "id": 77,
    "name": "Newsletter",
    "createdAt": "2026-01-01T00:00:00Z+0000",
    "folder": {"id": 12, "type": "Folder"},
}


def test_lists_lead_db_and_asset(fake: FakeMarketo) -> None:
    @fake.route("GET", "/rest/v1/lists.json")
    def lists(request: httpx.Request, body: object) -> dict:
        assert request.url.params["name"] == "Newsletter,Other"
        return ok([{"id": 77, "name": "Newsletter", "createdAt": "x", "updatedAt": "y"}])

    pages = [ok([LIST] * 200), ok([LIST] * 3)]
    fake.route("GET", "/rest/asset/v1/staticLists.json")(lambda r, b: pages.pop(0))
    fake.route("GET", "/rest/asset/v1/staticList/77.json")(lambda r, b: ok([LIST]))
    fake.route("GET", "/rest/asset/v1/staticList/78.json")(
        lambda r, b: {
            "success": True,
            "errors": [],
            "warnings": ["No assets found for the given search criteria."],
            "requestId": "1#2",
        }
    )
    fake.route("GET", "/rest/asset/v1/staticList/79.json")(
        lambda r, b: fail("1013", "Object not found")
    )
    client = make_client(fake)
    assert client.get_lists(names=["Newsletter", "Other"])[0].id == 77
    assert len(list(client.iter_static_lists(folder={"id": 12, "type": "Folder"}))) == 203
    offsets = [
        r.url.params["offset"] for r in fake.rest_requests("/rest/asset/v1/staticLists.json")
    ]
    assert offsets == ["0", "200"]
    assert client.get_list(77).name == "Newsletter"  # type: ignore[union-attr]
    assert client.get_list(78) is None
    assert client.get_list(79) is None


def _folder(fid: int, path: str, folder_type: str, *, system: bool = True) -> dict:
    return {
        "id": fid,
        "name": path.rsplit("/", 1)[-1],
        "folderId": {"id": fid, "type": "Folder"},
        "folderType": folder_type,
        "path": path,
        "isSystem": system,
    }


def test_create_list_default_folder_is_found_by_type_through_browse(fake: FakeMarketo) -> None:
    # the instance's list folder has another name and id; it sits on the second page
    tree = [_folder(i, f"/Marketing Activities/F{i}", "Marketing Folder") for i in range(200)]
    tree += [
        _folder(900, "/Lead Database/Default/Listas", "List", system=False),
        _folder(901, "/Lead Database/Default/Gruppenlisten", "List"),
    ]

    @fake.route("GET", "/rest/asset/v1/folders.json")
    def browse(request: httpx.Request, body: object) -> dict:
        offset, size = int(request.url.params["offset"]), int(request.url.params["maxReturn"])
        assert "root" not in request.url.params
        return ok(tree[offset : offset + size])

    @fake.route("POST", "/rest/asset/v1/staticLists.json")
    def create(request: httpx.Request, body: dict) -> dict:
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
        return ok([{**LIST, "name": body["name"], "folder": json.loads(body["folder"])}])

    client = make_client(fake)
    created = client.create_list("Newsletter")
    assert (created.id, created.name, created.folder) == (
        77,
        "Newsletter",
        {"id": 901, "type": "Folder"},  # the system List folder wins over the first List one
    )
    client.create_list("Second")
    # not cached: each creation browses again (two pages here), so it always costs the same
    assert len(fake.rest_requests("/rest/asset/v1/folders.json")) == 4
    assert not fake.rest_requests("/rest/asset/v1/folder/byName.json")


def test_create_list_without_default_folder_says_what_to_pass(fake: FakeMarketo) -> None:
    fake.route("GET", "/rest/asset/v1/folders.json")(
        lambda r, b: {
            "success": True,
            "errors": [],
            "warnings": ["No assets found"],
            "requestId": "1#2",
        }
    )
    with pytest.raises(MarketoNotFound, match="pass folder="):
        make_client(fake).create_list("X")


def test_create_list_after_timeout_finds_it_instead_of_duplicating(fake: FakeMarketo) -> None:
    fake.script["/rest/asset/v1/staticLists.json"] = ["604"]
    fake.route("GET", "/rest/asset/v1/staticList/byName.json")(lambda r, b: ok([LIST]))
    client = make_client(fake)
    assert client.create_list("Newsletter", folder={"id": 12, "type": "Folder"}).id == 77
    assert len(fake.rest_requests("/rest/asset/v1/staticLists.json")) == 1


def test_membership_chunks_and_statuses(fake: FakeMarketo) -> None:
    path = "/rest/v1/lists/77/leads.json"

    @fake.route("POST", path)
    def add(request: httpx.Request, body: dict) -> dict:
        return ok([{"id": x["id"], "status": "added"} for x in body["input"]])

    @fake.route("DELETE", path)
    def remove(request: httpx.Request, body: object) -> dict:
        ids = [int(i) for i in request.url.params["id"].split(",")]
        return ok(
            [
                {
                    "id": i,
                    "status": "skipped",
                    "reasons": [{"code": "1015", "message": "Lead not in list"}],
                }
                if i % 2
                else {"id": i, "status": "removed"}
                for i in ids
            ]
        )

    @fake.route("GET", "/rest/v1/lists/77/leads/ismember.json")
    def ismember(request: httpx.Request, body: object) -> dict:
        ids = [int(i) for i in request.url.params["id"].split(",")]
        return ok(
            [{"id": i, "status": "memberof" if i < 3 else "notmemberof"} for i in reversed(ids)]
        )

    client = make_client(fake)
    added = client.add_to_list(77, list(range(1, 651)))
    assert [r.id for r in added] == list(range(1, 651))
    assert {r.status for r in added} == {ListMemberStatus.ADDED}
    assert [len(json.loads(r.content)["input"]) for r in fake.rest_requests(path)] == [300, 300, 50]
    removed = client.remove_from_list(77, [1, 2])
    assert [r.status for r in removed] == [ListMemberStatus.REMOVED] * 2
    assert removed[0].reasons[0].code == "1015"
    assert client.is_member(77, [1, 2, 3, 4]) == {1: True, 2: True, 3: False, 4: False}


def test_list_members_paged(fake: FakeMarketo) -> None:
    pages = [ok([{"id": 1}], nextPageToken="N"), ok([{"id": 2}])]
    fake.route("GET", "/rest/v1/lists/5/leads.json")(lambda r, b: pages.pop(0))
    client = make_client(fake)
    assert client.list_members(5, fields=["email"]) == [{"id": 1}, {"id": 2}]
    assert fake.rest_requests()[1].url.params["nextPageToken"] == "N"


# ------------------------------------------------------------------ bulk + usage


def test_import_polls_with_clock_and_parses_failures(fake: FakeMarketo, clock: FakeClock) -> None:
    @fake.route("POST", "/bulk/v1/leads.json")
    def create(request: httpx.Request, body: bytes) -> dict:
        assert request.url.params["format"] == "csv" and request.url.params["listId"] == "77"
        assert b'name="file"' in body and b"email,firstName" in body
        return ok([{"batchId": 9, "importId": "9", "status": "Queued"}])

    states = ["Queued", "Importing", "Complete"]

    @fake.route("GET", "/bulk/v1/leads/batch/9.json")
    def status(request: httpx.Request, body: object) -> dict:
        s = states.pop(0)
        return ok(
            [
                {
                    "batchId": 9,
                    "status": s,
                    "numOfLeadsProcessed": 2,
                    "numOfRowsFailed": 1 if s == "Complete" else 0,
                }
            ]
        )

    fake.route("GET", "/bulk/v1/leads/batch/9/failures.json")(
        lambda r, b: httpx.Response(
            200, text="email,firstName,Import Failure Reason\nbad,Bo,Invalid email\n"
        )
    )
    client = make_client(fake)
    job = client.import_leads(b"email,firstName\na@x.com,Al\nbad,Bo\n", list_id=77, poll_interval=5)
    assert job.status is ImportStatus.COMPLETE and job.num_rows_failed == 1
    assert job.failures == (
        {"email": "bad", "firstName": "Bo", "Import Failure Reason": "Invalid email"},
    )
    assert clock.sleeps == [5, 5, 5]


def test_import_from_dataframe_and_timeout(fake: FakeMarketo) -> None:
    import pandas as pd

    fake.route("POST", "/bulk/v1/leads.json")(lambda r, b: ok([{"batchId": 3, "status": "Queued"}]))
    fake.route("GET", "/bulk/v1/leads/batch/3.json")(
        lambda r, b: ok([{"batchId": 3, "status": "Importing"}])
    )
    client = make_client(fake)
    df = pd.DataFrame({"email": ["a@x.com"], "firstName": ["Al"]})
    with pytest.raises(MarketoError, match=r"import_status\(3\)"):
        client.import_leads(df, timeout=30, poll_interval=10)
    body = fake.rest_requests("/bulk/v1/leads.json")[0].content
    assert b"email,firstName\na@x.com,Al\n" in body
    assert client.import_leads(df, wait=False).status is ImportStatus.QUEUED


def test_import_missing_file_is_a_configuration_error(fake: FakeMarketo) -> None:
    with pytest.raises(ConfigurationError, match=r"nope\.csv"):
        make_client(fake).import_leads("nope.csv")


def test_usage(fake: FakeMarketo) -> None:
    fake.route("GET", "/rest/v1/stats/usage.json")(
        lambda r, b: ok(
            [{"date": "2026-01-01", "total": 5, "users": [{"userId": "u", "count": 5}]}]
        )
    )
    fake.route("GET", "/rest/v1/stats/errors.json")(
        lambda r, b: ok(
            [{"date": "2026-01-01", "total": 1, "errors": [{"errorCode": "606", "count": 1}]}]
        )
    )
    client = make_client(fake)
    assert client.usage()[0].total == 5
    assert client.usage_errors()[0].errors == ({"errorCode": "606", "count": 1},)
    assert client.stats.as_dict()["calls"] == 2


def test_unknown_path_is_not_found(fake: FakeMarketo) -> None:
    client = make_client(fake)
    with pytest.raises(MarketoNotFound, match="610"):
        client.usage(last_7_days=True)
    assert BASE in client.endpoint


def test_daily_budget_stops_before_sending(fake: FakeMarketo) -> None:
    from paragon_nb.errors import QuotaExceeded

    fake.route("GET", "/rest/v1/lead/1.json")(lambda r, b: ok([{"id": 1}]))
    client = make_client(fake, daily_budget=2)
    client.get_lead(1)
    client.get_lead(1)
    with pytest.raises(QuotaExceeded, match="daily budget of 2") as info:
        client.get_lead(1)
    assert info.value.resets_at is not None
    assert len(fake.rest_requests()) == 2
    assert client.limits.daily_budget == 2


def test_quota_exceeded_raises_even_when_skipping_batches(fake: FakeMarketo) -> None:
    from paragon_nb.errors import QuotaExceeded

    _sync_route(fake)
    fake.script["/rest/v1/leads.json"] = ["607"]
    client = make_client(fake, limits=Limits(max_concurrency=1))
    with pytest.raises(QuotaExceeded):
        client.sync_leads([{"email": f"u{i}@x.com"} for i in range(10)], on_batch_error="skip")


def test_sync_may_wait_as_long_as_marketo_works_on_it(fake: FakeMarketo) -> None:
    _sync_route(fake)
    fake.route("GET", "/rest/v1/lead/1.json")(lambda r, b: ok([{"id": 1}]))
    client = make_client(fake, timeout=30.0)
    client.sync_leads([{"email": "u1@x.com"}])
    client.get_lead(1)
    sync_req, get_req = fake.rest_requests()
    assert sync_req.extensions["timeout"]["read"] == 95.0  # Marketo's 90 s + margin
    assert sync_req.extensions["timeout"]["connect"] == 30.0
    assert get_req.extensions["timeout"]["read"] == 30.0


# ------------------------------------------------------------------ credential checks


def test_check_fails_fast_when_marketo_is_unreachable(clock: FakeClock) -> None:
    attempts = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("Connection refused", request=request)

    client = MarketoClient(
        BASE, "cid", "csecret", transport=httpx.MockTransport(refuse), clock=clock
    )
    with pytest.raises(MarketoError, match="gave up after 2 attempts"):
        client.check()
    assert attempts == 2  # one retry, not the policy's six: a person is waiting
    attempts = 0
    with pytest.raises(MarketoError, match="gave up after 6 attempts"):
        client.check(max_attempts=None)
    assert attempts == 6
