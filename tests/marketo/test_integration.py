"""The client against the real sandbox: in-process (WSGITransport) and over loopback."""

from __future__ import annotations

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import MarketoAuthError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.limits import Limits
from paragon_nb.marketo.models import ImportStatus, ListMemberStatus, RecordStatus
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.sandbox.server import MarketoSandbox


@pytest.fixture
def app(clock: FakeClock) -> SandboxApp:
    return SandboxApp(clock=clock, import_seconds=1.0)


@pytest.fixture
def client(app: SandboxApp, clock: FakeClock) -> MarketoClient:
    return app.client(clock=clock)


def _records(n: int, start: int = 0) -> list[dict]:
    return [
        {"email": f"user{i}@example.com", "firstName": f"F{i}"} for i in range(start, start + n)
    ]


def test_describe_lists_standard_fields(client: MarketoClient) -> None:
    fields = {f.name: f for f in client.describe() if f.name}
    assert fields["email"].data_type == "email"
    assert fields["createdAt"].read_only
    assert not fields["firstName"].read_only


def test_sync_any_size_results_in_input_order(app: SandboxApp, client: MarketoClient) -> None:
    records = _records(700)
    records.insert(350, {"email": "not-an-email", "firstName": "X"})
    results = client.sync_leads(records)
    assert len(results) == 701
    assert results[350].status is RecordStatus.SKIPPED and results[350].reason_code == "1003"
    good = [r for i, r in enumerate(results) if i != 350]
    assert all(r.status is RecordStatus.CREATED and r.id for r in good)
    assert len({r.id for r in good}) == 700
    assert app.lead_count() == 700
    # ids map back by position: lead for record i carries record i's email
    by_id = {lead["id"]: lead["email"] for lead in app.leads()}
    assert by_id[results[0].id] == "user0@example.com"
    assert by_id[results[700].id] == "user699@example.com"
    again = client.sync_leads(records[:3])
    assert [r.status for r in again] == [RecordStatus.UPDATED] * 3


def test_create_only_and_update_only_reasons(client: MarketoClient) -> None:
    client.sync_leads(_records(2))
    dup = client.sync_leads(_records(1), action="createOnly")
    assert dup[0].reason_code == "1005"
    missing = client.sync_leads([{"email": "nobody@example.com"}], action="updateOnly")
    assert missing[0].reason_code == "1004"


def test_queries_lists_membership_and_delete(app: SandboxApp, client: MarketoClient) -> None:
    ids = [r.id for r in client.sync_leads(_records(650))]
    emails = [f"user{i}@example.com" for i in range(650)]
    found = client.get_leads("email", emails, fields=["email", "firstName"])
    assert sorted(x["email"] for x in found) == sorted(emails)
    assert client.get_lead(ids[0], fields=["firstName"])["firstName"] == "F0"  # type: ignore[index]
    assert client.get_lead(10**9) is None

    newsletter = client.create_list("Newsletter", description="weekly")
    assert client.get_list_by_name("Newsletter") == newsletter
    assert client.get_list(newsletter.id).name == "Newsletter"  # type: ignore[union-attr]
    assert client.get_list_by_name("Nope") is None
    assert [x.id for x in client.get_lists(names=["Newsletter"])] == [newsletter.id]
    assert newsletter.id in {x.id for x in client.iter_static_lists()}

    added = client.add_to_list(newsletter.id, [*ids, 10**9])
    assert [r.status for r in added[:650]] == [ListMemberStatus.ADDED] * 650
    assert added[650].status is ListMemberStatus.SKIPPED
    assert sorted(app.list_members(newsletter.id)) == sorted(ids)
    assert len(client.list_members(newsletter.id)) == 650
    removed = client.remove_from_list(newsletter.id, ids[:2])
    removed_again = client.remove_from_list(newsletter.id, ids[:2])
    assert [r.status for r in removed + removed_again] == [ListMemberStatus.REMOVED] * 4
    assert client.is_member(newsletter.id, ids[:3]) == {ids[0]: False, ids[1]: False, ids[2]: True}

    deleted = client.delete_leads(ids[:5])
    assert [r.status for r in deleted] == [RecordStatus.DELETED] * 5
    assert app.lead_count() == 645


def test_bulk_import_polls_on_the_fake_clock(app: SandboxApp, client: MarketoClient) -> None:
    lst = client.create_list("Imported")
    csv_bytes = b"email,firstName\na@example.com,A\nbroken,B\nc@example.com,C\n"
    job = client.import_leads(csv_bytes, list_id=lst.id, poll_interval=2.0)
    assert job.status is ImportStatus.COMPLETE
    assert job.num_leads_processed == 2 and job.num_rows_failed == 1
    assert job.failures[0]["email"] == "broken"
    assert len(app.list_members(lst.id)) == 2


def test_usage_counts_what_marketo_counts(client: MarketoClient) -> None:
    client.sync_leads(_records(3))
    day = client.usage()[0]
    assert day.total >= 1


def test_expired_token_is_renewed_transparently(app: SandboxApp, client: MarketoClient) -> None:
    client.sync_leads(_records(1))
    app.expire_tokens()
    assert client.sync_leads(_records(1, start=1))[0].status is RecordStatus.CREATED
    assert client.stats.auth_renewals == 1
    assert client.stats.tokens_fetched == 2


def test_bad_secret_is_an_auth_error(app: SandboxApp, clock: FakeClock) -> None:
    bad = MarketoClient(
        "http://sandbox.local/rest", app.client_id, "wrong", transport=app.transport(), clock=clock
    )
    with pytest.raises(MarketoAuthError, match=app.client_id):
        bad.describe()


def test_over_loopback_socket(clock: FakeClock) -> None:
    with MarketoSandbox(clock=clock, latency=0.005) as sandbox:
        client = sandbox.client(clock=clock, limits=Limits(max_concurrency=4))
        assert client.endpoint == sandbox.endpoint
        results = client.sync_leads(_records(1200))
        assert {r.status for r in results} == {RecordStatus.CREATED}
        lst = client.create_list("Loopback")
        client.add_to_list(lst.id, [r.id for r in results])  # type: ignore[misc]
        assert len(sandbox.list_members(lst.id)) == 1200
        stats = sandbox.stats
        assert 1 <= stats.max_in_flight <= 4
        assert stats.errors_by_code == {}
        client.close()


def test_big_records_split_under_the_body_limit(app: SandboxApp, client: MarketoClient) -> None:
    records = [
        {"email": f"big{i}@example.com", "address": "x" * 25_000} for i in range(100)
    ]  # 2.5 MB in all: at least 3 bodies, none refused with 413
    results = client.sync_leads(records)
    assert {r.status for r in results} == {RecordStatus.CREATED}
    assert client.stats.per_path["POST /rest/v1/leads.json"] >= 3
    assert app.stats.errors_by_code == {}


def test_long_filter_query_goes_as_post_and_sandbox_answers(client: MarketoClient) -> None:
    emails = [
        f"a.rather.long.mailbox.name.number{i}@subdomain.example-company.com" for i in range(300)
    ]
    client.sync_leads([{"email": e} for e in emails])
    found = client.get_leads("email", emails, fields=["email"])
    assert sorted(f["email"] for f in found) == sorted(emails)
    assert client.stats.per_path["POST /rest/v1/leads.json"] == 2  # the sync + the query


def test_lists_by_id_folder_and_dataframe_import(app: SandboxApp, client: MarketoClient) -> None:
    import pandas as pd

    a = client.create_list("A")
    b = client.create_list("B", folder={"id": 12, "type": "Folder"})
    assert {x.name for x in client.get_lists(ids=[a.id, b.id])} == {"A", "B"}
    in_folder = {x.id for x in client.iter_static_lists(folder={"id": 12, "type": "Folder"})}
    assert {a.id, b.id} <= in_folder
    df = pd.DataFrame({"email": ["p@example.com", "q@example.com"], "firstName": ["P", "Q"]})
    job = client.import_leads(df, list_id=b.id, poll_interval=1.0)
    assert job.num_leads_processed == 2 and job.failures == ()
    assert len(app.list_members(b.id)) == 2


def test_import_queue_full_is_waited_out(app: SandboxApp, client: MarketoClient) -> None:
    from paragon_nb.sandbox.faults import Fault

    app.set_faults([Fault(route="import", sequence=("1016", "1016"))])
    job = client.import_leads(b"email\nr@example.com\n", poll_interval=1.0)
    assert job.num_leads_processed == 1
    assert client.stats.codes["1016"] == 2 and client.stats.retries == 2


def test_usage_errors_report_what_the_client_met(app: SandboxApp, client: MarketoClient) -> None:
    from paragon_nb.sandbox.faults import Fault

    app.set_faults([Fault(route="leads", sequence=("606",))])
    client.sync_leads(_records(2))
    errors = {e["errorCode"]: e["count"] for day in client.usage_errors() for e in day.errors}
    assert errors.get("606") == 1


def test_import_status_reads_a_tsv_jobs_failures_with_tabs(
    client: MarketoClient, clock: FakeClock
) -> None:
    tsv = b"email\tfirstName\na@example.com\tA\nbroken\tB\n"
    job = client.import_leads(tsv, format="tsv", wait=False)
    assert not client.import_status(job.batch_id).done  # queued -> importing
    clock.advance(5.0)
    done = client.import_status(job.batch_id, reports=True, format="tsv")
    assert done.num_rows_failed == 1
    assert done.failures[0]["email"] == "broken"
    assert done.failures[0]["firstName"] == "B"
