"""End to end against the in-process sandbox (FakeClock; no sockets, no sleeps)."""

from __future__ import annotations

import pandas as pd
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import ConfigurationError, DuplicateKeyError, MappingError, SyncError
from paragon_nb.sandbox import SandboxApp
from paragon_nb.sync.runner import sync_leads

from .conftest import (
    MESSY_DUPLICATE,
    MESSY_EMAILS,
    MESSY_INVALID,
    MESSY_VALID,
    big_frame,
    messy_frame,
)


def _by_email(app: SandboxApp) -> dict[str, dict]:
    return {lead["email"]: lead for lead in app.leads()}


def _list_id(app: SandboxApp, client, name: str) -> int:
    found = client.get_list_by_name(name)
    assert found is not None
    return found.id


def test_messy_frame_every_row_accounted_for(app: SandboxApp, client) -> None:
    df = messy_frame()
    result = sync_leads(df, client, list="Messy", create_list=True, progress=False)
    rows = result.rows
    assert rows.index.equals(df.index)
    assert list(rows.columns) == ["email", "status", "lead_id", "reason_code", "reason"]
    assert rows["email"].equals(df["email"].astype("str"))  # the input's own values
    status = rows["status"].to_dict()
    assert {k for k, v in status.items() if v == "created"} == MESSY_VALID
    assert {k for k, v in status.items() if v == "invalid"} == MESSY_INVALID
    assert {k for k, v in status.items() if v == "skipped"} == MESSY_DUPLICATE
    assert rows.loc["r0", "reason_code"] == "duplicate" and "'r9'" in rows.loc["r0", "reason"]
    assert "'bad-email'" in rows.loc["r2", "reason"]
    assert rows.loc["r3", "reason_code"] == "missing_lookup"
    assert "12.5" in rows.loc["r4", "reason"] and "numberOfEmployees" in rows.loc["r4", "reason"]
    assert "2021-02-30" in rows.loc["r5", "reason"]
    assert "'maybe'" in rows.loc["r6", "reason"]
    assert "title" in rows.loc["r7", "reason"]
    # the sandbox holds exactly the valid leads, with the right values, all in the list
    leads = _by_email(app)
    assert set(leads) == MESSY_EMAILS
    assert leads["bob@example.com"]["firstName"] == "Bób 🚀"
    assert leads["bob@example.com"]["company"] == 'Quote "Co", Ltd'
    assert leads["bob@example.com"]["numberOfEmployees"] == 12
    assert leads["grace@example.com"]["company"] == "Navy,\nCOBOL dept"
    assert leads["grace@example.com"].get("firstName") is None
    assert leads["ada@example.com"]["firstName"] == "Augusta Ada"  # the last occurrence
    assert leads["heidi@example.com"]["dateOfBirth"] == "2000-01-31"
    ids = set(rows.loc[list(MESSY_VALID), "lead_id"].astype(int))
    assert ids == {lead["id"] for lead in leads.values()}
    assert set(app.list_members(result.list_id)) == ids
    assert result.summary["counts"] == {"invalid": 6, "created": 4, "skipped": 1}


def test_rerun_is_all_unchanged_with_zero_writes(app: SandboxApp, clock: FakeClock) -> None:
    df = messy_frame()
    first = sync_leads(df, app.client(clock=clock), list="Messy", create_list=True,
                       progress=False)  # fmt: skip
    app.reset_stats()
    again = sync_leads(df, app.client(clock=clock), list="Messy", progress=False)
    assert app.stats.write_calls == 0
    assert (again.rows.loc[list(MESSY_VALID), "status"] == "unchanged").all()
    assert again.rows.loc[list(MESSY_VALID), "lead_id"].equals(
        first.rows.loc[list(MESSY_VALID), "lead_id"]
    )
    assert (again.rows.loc[list(MESSY_INVALID), "status"] == "invalid").all()
    # a changed row is sent again, alone
    df.loc["r1", "title"] = "Boss"
    app.reset_stats()
    third = sync_leads(df, app.client(clock=clock), list="Messy", progress=False)
    assert third.rows.loc["r1", "status"] == "updated"
    assert (third.rows.loc[["r8", "r9", "r10"], "status"] == "unchanged").all()
    assert app.stats.calls_by_route["POST /rest/v1/leads.json"] == 1
    assert _by_email(app)["bob@example.com"]["title"] == "Boss"


def test_mapping_error_stops_before_any_write(app: SandboxApp, client) -> None:
    df = messy_frame().rename(columns={"title": "job_titel"})
    with pytest.raises(MappingError, match="job_titel"):
        sync_leads(df, client, list="X", create_list=True, progress=False)
    assert app.stats.write_calls == 0 and app.lead_count() == 0
    result = sync_leads(df, client, ignore=["job_titel"], progress=False)
    assert result.counts["created"] == 5  # r7's over-long title is no longer sent


def test_duplicates_can_raise(app: SandboxApp, client) -> None:
    with pytest.raises(DuplicateKeyError, match="'r0' and 'r9'"):
        sync_leads(messy_frame(), client, on_duplicate="raise", progress=False)
    # A list to create: its folder is read while planning, the list made only after it.
    with pytest.raises(DuplicateKeyError):
        sync_leads(messy_frame(), client, list="New", create_list=True, on_duplicate="raise",
                   progress=False)  # fmt: skip
    assert app.stats.write_calls == 0 and client.get_list_by_name("New") is None
    done = sync_leads(messy_frame(), client, list="New", create_list=True, progress=False)
    assert done.notes[0].startswith("created static list 'New'")
    assert done.calls == 5  # list lookup, folder read, list creation, upsert, list add


def test_unknown_list_is_refused_before_writes(app: SandboxApp, client) -> None:
    app.create_list("Existing")
    with pytest.raises(SyncError, match=r"'Nope' not found.*'Existing'.*create_list=True"):
        sync_leads(messy_frame(), client, list="Nope", progress=False)
    assert app.lead_count() == 0


def test_list_by_id_and_dry_run(app: SandboxApp, client) -> None:
    list_id = app.create_list("ById")["id"]
    df = big_frame(650)
    plan = sync_leads(df, client, list=list_id, dry_run=True, progress=False)
    assert plan.dry_run and app.stats.write_calls == 0 and app.lead_count() == 0
    assert plan.counts == {"would create": 650}
    assert plan.planned_calls == 1 + 3 + 3  # list lookup, upserts, list adds
    assert plan.remaining_quota is not None and plan.remaining_quota < 50_000
    done = sync_leads(df, client, list=list_id, progress=False)
    assert done.counts == {"created": 650}
    assert done.calls == plan.planned_calls
    assert len(app.list_members(list_id)) == 650
    df.loc[0, "lastName"] = "Changed"
    plan2 = sync_leads(df, client, list=list_id, dry_run=True, progress=False)
    assert plan2.counts == {"unchanged": 649, "would update": 1}
    assert plan2.planned_calls == 1 + 1 + 1 + 1  # lookup, verification, upsert, list add
    assert sync_leads(df, client, list=list_id, progress=False).calls == plan2.planned_calls


def test_dry_run_without_journal_plans_what_the_real_run_sends(app: SandboxApp, client) -> None:
    df = big_frame(5)
    sync_leads(df, client, journal=False, progress=False)
    df.loc[1, "firstName"] = "Other"
    plan = sync_leads(df, client, journal=False, dry_run=True, progress=False)
    # no journal: every row is sent, and Marketo answers "updated" for leads it holds
    assert plan.rows["status"].tolist() == ["would update"] * 5
    real = sync_leads(df, client, journal=False, progress=False)
    assert real.rows["status"].tolist() == ["updated"] * 5


def test_mirror_removes_only_with_confirmation(app: SandboxApp, client) -> None:
    sync_leads(big_frame(10), client, list="M", create_list=True, progress=False)
    keep = big_frame(10).iloc[:4]
    with pytest.raises(SyncError, match="remove 6 members"):
        sync_leads(keep, client, list="M", mirror=True, mirror_threshold=5, progress=False)
    lid = _list_id(app, client, "M")
    assert len(app.list_members(lid)) == 10
    r = sync_leads(keep, client, list="M", mirror=True, mirror_threshold=5, confirm=True,
                   progress=False)  # fmt: skip
    assert len(app.list_members(lid)) == 4 and "removed 6" in r.notes[-1]
    assert app.lead_count() == 10  # leads themselves are never deleted


def test_accessor_and_update_only_and_create_only(app: SandboxApp, client) -> None:
    import paragon_nb.sync  # noqa: F401  (registers df.marketo)

    df = big_frame(3)
    r = df.marketo.sync(client, action="createOnly", progress=False)
    assert r.counts == {"created": 3}
    again = df.assign(lastName="New").marketo.sync(client, action="createOnly", progress=False)
    assert again.counts == {"skipped": 3}
    assert set(again.rows["reason_code"]) == {"1005"}
    upd = df.assign(lastName="Upd").marketo.sync(client, action="updateOnly", progress=False)
    assert upd.counts == {"updated": 3}


def test_retry_resends_failed_rows(app: SandboxApp, client) -> None:
    from paragon_nb.sandbox import Fault

    app.set_faults([Fault(route="leads", sequence=(None, "607"))])
    df = big_frame(400)
    r = sync_leads(df, client, progress=False, workers=1)
    assert r.counts == {"created": 300, "failed": 100}
    assert r.failed.index.equals(df.index[300:])
    assert "quota" in r.failed["reason"].iloc[0]
    fixed = r.retry()
    assert fixed.counts == {"created": 400}
    assert fixed.rows.index.equals(df.index)
    assert app.lead_count() == 400


def test_bulk_import_path(app: SandboxApp, client) -> None:
    df = messy_frame()
    r = sync_leads(df, client, list="Bulk", create_list=True, method="bulk", progress=False)
    status = r.rows["status"].to_dict()
    assert {k for k, v in status.items() if v == "upserted"} == MESSY_VALID
    assert {k for k, v in status.items() if v == "invalid"} == MESSY_INVALID
    assert set(_by_email(app)) == MESSY_EMAILS
    assert _by_email(app)["grace@example.com"]["company"] == "Navy,\nCOBOL dept"
    assert len(app.list_members(r.list_id)) == 4
    # imported rows carry their lead ids, read back by lookup value in one call
    ids = {e: lead["id"] for e, lead in _by_email(app).items()}
    valid = r.rows.loc[sorted(MESSY_VALID)]
    assert valid["lead_id"].tolist() == [ids[e.strip().lower()] for e in valid["email"]]
    assert r.calls == app.stats.calls_total  # the id lookup is one of the counted calls
    app.reset_stats()
    again = sync_leads(df, client, list="Bulk", method="bulk", progress=False)
    assert app.stats.write_calls == 0
    assert (again.rows.loc[list(MESSY_VALID), "status"] == "unchanged").all()


def test_bulk_path_fill_ids_off_and_clear_missing_refused(app: SandboxApp, client) -> None:
    df = big_frame(20)
    r = sync_leads(df, client, method="bulk", fill_ids=False, progress=False)
    assert r.counts == {"upserted": 20} and r.rows["lead_id"].isna().all()
    assert app.stats.calls_by_route.get("GET /rest/v1/leads.json", 0) == 0
    with pytest.raises(ConfigurationError, match="clear_missing=True cannot be honoured"):
        sync_leads(df, client, method="bulk", clear_missing=True, progress=False)


def test_report_index_alignment_with_duplicate_labels(client) -> None:
    df = big_frame(4)
    df.index = pd.Index(["a", "a", "b", "b"])
    r = sync_leads(df, client, progress=False)
    assert r.rows.index.equals(df.index)
    assert r.rows["status"].tolist() == ["created"] * 4


def test_progress_bar_counts_rows(client, capsys) -> None:
    r = sync_leads(big_frame(700), client, list="P", create_list=True, progress=True)
    assert r.counts == {"created": 700}
    err = capsys.readouterr().err
    assert "700/700" in err and "rows" in err


def test_create_only_resume_reads_1005_on_pending_rows_as_created(app: SandboxApp, client) -> None:
    """A createOnly run killed after Marketo wrote a batch but before the journal recorded
    it: on the next run the journal has those rows pending, Marketo answers 1005, and the
    rows count as created (with their ids), not skipped."""
    from paragon_nb.sync.journal import Journal, instance_of
    from paragon_nb.sync.plan import make_plan

    df = big_frame(5)
    sync_leads(df.iloc[:3], client, action="createOnly", journal=False, progress=False)
    journal = Journal(instance=instance_of(client), lookup_field="email")
    plan = make_plan(df, client.describe())
    journal.begin_batch([plan.keys[p] for p in range(3)], plan.fps[:3], action="createOnly")
    journal.close()  # ... and the process died here
    r = sync_leads(df, client, action="createOnly", progress=False)
    assert r.rows["status"].tolist() == ["created"] * 5
    assert r.rows["lead_id"].notna().all()
    assert app.lead_count() == 5
    again = sync_leads(df, client, action="createOnly", progress=False)
    assert again.counts == {"unchanged": 5}


def test_bulk_runs_several_jobs_pipelined(app: SandboxApp, client, clock: FakeClock) -> None:
    from paragon_nb.sync.bulk import run_bulk
    from paragon_nb.sync.journal import Journal, instance_of
    from paragon_nb.sync.plan import make_plan

    df = big_frame(1000)
    df.loc[10, "numberOfEmployees"] = -1  # still valid: Marketo gets it
    lst = app.create_list("Jobs")
    journal = Journal(instance=instance_of(client), lookup_field="email", list_key=str(lst["id"]))
    plan = make_plan(df, client.describe(), journal=journal)
    app.reset_stats()
    run_bulk(client, plan, journal, list_id=lst["id"], lookup_field="email", partition=None,
             clock=clock, max_jobs=2, budget=8_000)  # fmt: skip
    assert app.stats.calls_by_route["POST /bulk/v1/leads.json"] >= 6
    assert set(plan.status) == {"upserted"}
    assert app.lead_count() == 1000 and len(app.list_members(lst["id"])) == 1000
    assert journal.count("synced") == 1000
    journal.close()


def test_bulk_quota_error_says_when_to_resume(app: SandboxApp, client) -> None:
    from paragon_nb.sandbox import Fault

    app.set_faults([Fault(route="import", sequence=("607",))])
    r = sync_leads(big_frame(5), client, method="bulk", progress=False)
    assert r.counts == {"failed": 5}
    assert "daily API quota reached" in r.failed["reason"].iloc[0]
