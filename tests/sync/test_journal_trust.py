"""A journal you can trust: exact fingerprints, list membership apart from values, trust
but verify, full resync, corrupt files. Assertions are on the sandbox's counters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paragon_nb.cli import main
from paragon_nb.errors import JournalError
from paragon_nb.sandbox import SandboxApp
from paragon_nb.sync.journal import Journal, RowOutcome, instance_of
from paragon_nb.sync.plan import make_plan
from paragon_nb.sync.runner import sync_leads

from .conftest import big_frame

UPSERT = "POST /rest/v1/leads.json"
READ = "GET /rest/v1/leads.json"


def _calls(app: SandboxApp, route: str) -> int:
    return int(app.stats.calls_by_route.get(route, 0))


def _journal(client, path: Path, list_key: str = "") -> Journal:
    return Journal(instance=instance_of(client), lookup_field="email", list_key=list_key, path=path)


def test_one_pending_row_does_not_resend_the_others(app: SandboxApp, client, tmp_path: Path):
    """The float64 bug: a NULL fingerprint in the lookup used to round every other one."""
    path = tmp_path / "j.sqlite3"
    df = big_frame(601)
    first = sync_leads(df.iloc[:600], client, journal=path, progress=False)
    assert first.counts == {"created": 600}
    with _journal(client, path) as j:
        plan = make_plan(df.iloc[:1], client.describe())
        j.begin_batch([plan.keys[0]], plan.fps[:1], action="createOrUpdate")  # left in flight
    app.reset_stats()
    again = sync_leads(df, client, journal=path, progress=False)
    assert again.counts == {"unchanged": 599, "updated": 1, "created": 1}
    assert _calls(app, UPSERT) == 1  # the pending row and the new one, one batch
    assert _calls(app, READ) == 1  # the verification sample


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fps=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=20))
def test_fingerprints_round_trip_exactly_next_to_null_ones(tmp_path: Path, fps: list[int]) -> None:
    path = tmp_path / "fp.sqlite3"
    keys = [f"k{i}@x.com" for i in range(len(fps))]
    with Journal(instance="i", lookup_field="email", path=path) as j:
        j.forget()
        bid = j.begin_batch([*keys, "pending@x.com"], [*fps, 1], action="createOrUpdate")
        outcomes = [
            RowOutcome(k, "synced", fp, 2**62 + i)
            for i, (k, fp) in enumerate(zip(keys, fps, strict=True))
        ]
        j.finish_batch(bid, [*outcomes, RowOutcome("pending@x.com", "failed")])
        rows = j.lookup([*keys, "pending@x.com"])
    assert [int(rows.loc[k, "fingerprint"]) for k in keys] == fps
    assert [int(rows.loc[k, "lead_id"]) for k in keys] == [2**62 + i for i in range(len(fps))]
    assert pd.isna(rows.loc["pending@x.com", "fingerprint"])


def test_pending_failed_and_skipped_rows_are_resent_only(app: SandboxApp, client, tmp_path: Path):
    path = tmp_path / "j.sqlite3"
    df = big_frame(900)
    sync_leads(df, client, journal=path, progress=False)
    plan = make_plan(df, client.describe())
    with _journal(client, path) as j:
        bid = j.begin_batch(plan.keys.many([0, 1, 2]), plan.fps[:3], action="createOrUpdate")
        j.finish_batch(bid, [RowOutcome(plan.keys[1], "failed", status="failed"),
                             RowOutcome(plan.keys[2], "skipped", status="skipped")])  # fmt: skip
    app.reset_stats()
    again = sync_leads(df, client, journal=path, progress=False)
    assert again.counts == {"unchanged": 897, "updated": 3}
    assert set(again.rows.index[again.rows["status"] == "updated"]) == {0, 1, 2}
    assert _calls(app, UPSERT) == 1


def test_list_membership_is_tracked_apart_from_values(app: SandboxApp, client, tmp_path: Path):
    path = tmp_path / "j.sqlite3"
    df = big_frame(650)
    first = sync_leads(df, client, list="L", create_list=True, journal=path, progress=False)
    target = client.get_list_by_name("L")
    with _journal(client, path, str(target.id)) as j:
        j.mark_listed(
            first.rows.index.map(lambda i: df.loc[i, "email"]).tolist()[:320], listed=False
        )  # fmt: skip  (as if the adds were interrupted)
    app.reset_stats()
    again = sync_leads(df, client, list="L", journal=path, progress=False)
    assert again.counts == {"unchanged": 650}
    assert again.rows["reason"].iloc[:320].str.contains("added to list 'L'").all()
    assert again.rows["reason"].iloc[320:].isna().all()
    assert _calls(app, UPSERT) == 0
    assert _calls(app, f"POST /rest/v1/lists/{target.id}/leads.json") == 2  # 320 ids / 300
    assert len(app.list_members(target.id)) == 650


def test_leads_gone_from_marketo_are_sent_again(app: SandboxApp, client, tmp_path: Path):
    path = tmp_path / "j.sqlite3"
    df = big_frame(1000)
    first = sync_leads(df, client, list="L", create_list=True, journal=path, progress=False)
    target = client.get_list_by_name("L")
    gone = first.rows["lead_id"].iloc[::7].astype(int).tolist()
    client.delete_leads(gone)  # Marketo lost them behind the journal's back
    app.reset_stats()
    again = sync_leads(df, client, list="L", journal=path, progress=False)
    assert again.counts == {"unchanged": 1000 - len(gone), "created": len(gone)}
    # one sample read finds a miss; then every settled row is checked by id (300 per call)
    assert _calls(app, READ) == 1 + int(np.ceil((1000 - 300) / 300))
    assert _calls(app, UPSERT) == 1
    assert app.lead_count() == 1000
    assert len(set(app.list_members(target.id))) == 1000
    app.reset_stats()
    third = sync_leads(df, client, list="L", journal=path, progress=False)
    assert third.counts == {"unchanged": 1000}
    assert (_calls(app, READ), app.stats.write_calls) == (1, 0)


def test_full_resync_ignores_the_journal_once(app: SandboxApp, client, tmp_path: Path):
    path = tmp_path / "j.sqlite3"
    df = big_frame(400)
    sync_leads(df, client, journal=path, progress=False)
    app.reset_stats()
    full = sync_leads(df, client, journal=path, full_resync=True, progress=False)
    assert full.counts == {"updated": 400}
    assert _calls(app, UPSERT) == 2 and _calls(app, READ) == 0
    app.reset_stats()
    assert sync_leads(df, client, journal=path, progress=False).counts == {"unchanged": 400}


@pytest.mark.parametrize("damage", ["not a database", "malformed"])
def test_corrupt_journal_stops_before_any_write(
    app: SandboxApp, client, tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "j.sqlite3"
    df = big_frame(50)
    sync_leads(df, client, journal=path, progress=False)
    if damage == "not a database":
        path.write_bytes(b"this is not sqlite at all" * 100)
    else:  # keep the header, garble the pages
        data = bytearray(path.read_bytes())
        data[200:] = b"\xff" * (len(data) - 200)
        path.write_bytes(bytes(data))
    app.reset_stats()
    with pytest.raises(JournalError) as info:
        sync_leads(df, client, journal=path, progress=False)
    message = str(info.value)
    assert str(path) in message and "full_resync=True" in message and "mv " in message
    assert app.stats.write_calls == 0
    # the way out: one full resync moves the file aside and starts afresh
    fixed = sync_leads(df, client, journal=path, full_resync=True, progress=False)
    assert fixed.counts == {"updated": 50}
    assert any("corrupt journal was moved" in n for n in fixed.notes)
    assert sync_leads(df, client, journal=path, progress=False).counts == {"unchanged": 50}


def test_cli_corrupt_journal_exits_2_with_the_ways_out(
    tmp_path: Path, isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "leads.csv"
    big_frame(20).to_csv(csv, index=False)
    assert main(["sync", str(csv), "--no-progress"]) == 0
    journal = isolated_env / "journal.sqlite3"
    journal.write_bytes(b"garbage" * 1000)
    for extra in ("-wal", "-shm"):
        Path(f"{journal}{extra}").unlink(missing_ok=True)
    capsys.readouterr()
    assert main(["sync", str(csv), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(journal) in err and "--full-resync" in err and "Traceback" not in err
    assert main(["sync", str(csv), "--no-progress", "--full-resync"]) == 0
