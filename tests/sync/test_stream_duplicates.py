"""Keys repeated across the chunks of a streamed input: the last occurrence wins, exactly as
for one frame; a rerun (also after kill -9) sends nothing already finished; the dry run of a
streamed input plans the real run's statuses one to one and its calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.cli import main
from paragon_nb.sandbox import MarketoSandbox, SandboxApp
from paragon_nb.sync.journal import Journal, instance_of
from paragon_nb.sync.runner import sync_leads

from .conftest import big_frame
from .test_dryrun_matches import PLANNED_TO_REAL

CHUNK = 40
VOLATILE = {"id", "createdAt", "updatedAt"}


def _repeating() -> pd.DataFrame:
    """120 rows in 3 chunks of 40: a key in all three chunks (values A, B, C), one sent as
    A, B, A, one repeated with the same values, an in-chunk pair that repeats in a later
    chunk, an invalid row; the rest distinct."""
    df = big_frame(120, prefix="d")
    for key, rows in {
        "tri@example.com": (5, 45, 85),
        "aba@example.com": (10, 50, 90),
        "same@example.com": (15, 55),
        "pair@example.com": (20, 21, 60),
    }.items():
        df.loc[list(rows), "email"] = key
    values = ["firstName", "lastName", "numberOfEmployees"]
    df.loc[90, values] = df.loc[10, values].to_numpy()  # A again
    df.loc[55, values] = df.loc[15, values].to_numpy()  # the same values again
    df.loc[30, "email"] = "not-an-email"
    return df


def _chunks(df: pd.DataFrame) -> Callable[[], Iterator[pd.DataFrame]]:
    return lambda: (df.iloc[i : i + CHUNK] for i in range(0, len(df), CHUNK))


def _state(app: SandboxApp, list_name: str) -> tuple[dict, set]:
    leads = {
        lead["email"]: {k: v for k, v in lead.items() if k not in VOLATILE and v is not None}
        for lead in app.leads()
    }
    target = app.client(clock=app.clock).get_list_by_name(list_name)
    by_id = {lead["id"]: lead["email"] for lead in app.leads()}
    return leads, {by_id[i] for i in app.list_members(target.id)}


def _sent(app: SandboxApp) -> list[tuple[str, str]]:
    """(email, firstName) of every record of every upsert the sandbox receives, in order
    (installs the sandbox's request hook)."""
    sent: list[tuple[str, str]] = []

    def record(req) -> None:
        if req.path == "/rest/v1/leads.json" and req.effective_method == "POST":
            sent.extend((str(r["email"]).lower(), r.get("firstName")) for r in req.json()["input"])

    app.on_request = record
    return sent


def test_keys_repeated_across_chunks_end_as_one_frame_and_a_rerun_writes_nothing(
    tmp_path: Path,
) -> None:
    df = _repeating()
    one_app = SandboxApp(clock=FakeClock(), import_seconds=0)
    one = sync_leads(df, one_app.client(clock=one_app.clock), list="S", create_list=True,
                     journal=tmp_path / "one.sqlite3", progress=False)  # fmt: skip

    app = SandboxApp(clock=FakeClock(), import_seconds=0)
    client = app.client(clock=app.clock)
    journal = tmp_path / "j.sqlite3"
    frames = _chunks(df)
    first = sync_leads(frames(), client, list="S", create_list=True, journal=journal,
                       progress=False)  # fmt: skip
    cols = ["status", "reason_code"]
    got, want = first.rows.reset_index(drop=True), one.rows.reset_index(drop=True)
    assert got[cols].equals(want[cols]), pd.concat([got[cols], want[cols]], axis=1)
    assert first.counts == {"created": 112, "skipped": 7, "invalid": 1}
    assert "row 85 (a later occurrence)" in got.loc[45, "reason"]
    assert _state(app, "S") == _state(one_app, "S")

    for _ in range(2):  # the rerun, and one more (the marks are kept)
        app.reset_stats()
        sent = _sent(app)
        again = sync_leads(frames(), client, list="S", journal=journal, progress=False)
        assert app.stats.write_calls == 0, (again.counts, sent)
        assert again.counts == {"unchanged": 112, "skipped": 7, "invalid": 1}
        assert (
            again.rows["reason_code"]
            .reset_index(drop=True)[[5, 45, 10, 50, 15, 20, 21]]
            .eq("duplicate")
            .all()
        )
        assert _state(app, "S") == _state(one_app, "S")


def test_a_rerun_sends_a_held_back_row_when_its_later_occurrence_is_gone(
    tmp_path: Path,
) -> None:
    df = _repeating()
    app = SandboxApp(clock=FakeClock(), import_seconds=0)
    client = app.client(clock=app.clock)
    journal = tmp_path / "j.sqlite3"
    sync_leads(_chunks(df)(), client, list="S", create_list=True, journal=journal,
               progress=False)  # fmt: skip
    # "tri" now ends in its second chunk (B): the B row was held back, then sent at the end
    changed = df.drop(index=[85]).reset_index(drop=True)
    app.reset_stats()
    sent = _sent(app)
    again = sync_leads(_chunks(changed)(), client, list="S", journal=journal, progress=False)
    assert sent == [("tri@example.com", df.loc[45, "firstName"])]
    rows = again.rows.reset_index(drop=True)
    assert rows.loc[45, "status"] == "updated" and rows.loc[5, "reason_code"] == "duplicate"
    tri = [lead for lead in app.leads() if lead["email"] == "tri@example.com"]
    assert [lead["firstName"] for lead in tri] == [df.loc[45, "firstName"]]


def _quota_stopped(tmp_path: Path) -> tuple[SandboxApp, Path, pd.DataFrame]:
    """A streamed run the daily quota stopped part way (then the day rolls over)."""
    df = _repeating()
    clock = FakeClock()
    app = SandboxApp(clock=clock, import_seconds=0, daily_quota=6)
    journal = tmp_path / "j.sqlite3"
    first = sync_leads(_chunks(df)(), app.client(clock=clock), list="S", create_list=True,
                       journal=journal, progress=False)  # fmt: skip
    assert first.counts.get("failed", 0) > 0, first.counts
    clock.advance(86_400)
    app.set_limits(daily_quota=50_000)
    return app, journal, df


@pytest.mark.parametrize("scenario", ["first", "rerun", "changed", "after-quota-stop"])
def test_dry_run_of_a_streamed_input_matches_the_real_run(tmp_path: Path, scenario: str) -> None:
    df = _repeating()
    journal = tmp_path / "j.sqlite3"
    if scenario == "after-quota-stop":
        app, journal, df = _quota_stopped(tmp_path)
    else:
        app = SandboxApp(clock=FakeClock(), import_seconds=0)
    client = app.client(clock=app.clock)
    if scenario in ("rerun", "changed"):
        sync_leads(_chunks(df)(), client, list="S", create_list=True, journal=journal,
                   progress=False)  # fmt: skip
    if scenario == "changed":  # later occurrences gone, values changed, new rows
        df = df.drop(index=[85, 60]).reset_index(drop=True)
        df.loc[[5, 44, 70], "lastName"] = "Changed"
        df = pd.concat([df, big_frame(7, prefix="late")], ignore_index=True)
    app.reset_stats()
    dry = sync_leads(_chunks(df)(), client, list="S", create_list=True, journal=journal,
                     dry_run=True, progress=False)  # fmt: skip
    assert app.stats.write_calls == 0
    real = sync_leads(_chunks(df)(), client, list="S", create_list=True, journal=journal,
                      progress=False)  # fmt: skip
    planned = dry.rows["status"].map(PLANNED_TO_REAL).reset_index(drop=True)
    done = real.rows["status"].reset_index(drop=True)
    assert planned.notna().all()
    assert planned.equals(done), pd.concat([planned, done], axis=1)[planned != done]
    assert dry.planned_calls == real.calls, (dry.counts, real.counts)
    if scenario == "rerun":
        assert app.stats.write_calls == 0


def _keys(n: int, seed: int = 7) -> list[str]:
    """Emails for ``n`` rows in which a fifth repeat the key of a row of an earlier chunk
    of 500 (so chains across three and more chunks occur)."""
    rng = np.random.default_rng(seed)
    keys = [f"k{i}@example.com" for i in range(n)]
    for i in range(500, n):
        if rng.random() < 0.2:
            keys[i] = keys[int(rng.integers(0, (i // 500) * 500))]
    return keys


@pytest.mark.parametrize("nth", [2, 5], ids=["second-upsert", "fifth-upsert"])
def test_killed_stream_with_repeated_keys_resumes_sending_only_what_is_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path, nth: int
) -> None:
    n = 3000
    df = big_frame(n, prefix="k")
    df["email"] = _keys(n)
    df.loc[7, "email"] = "not-an-email"
    path = tmp_path / "leads.parquet"  # read in chunks of exactly --chunk-size rows
    df.to_parquet(path, index=False)
    last = df.drop(index=[7]).drop_duplicates("email", keep="last").set_index("email")
    cli = ["sync", str(path), "--list", "K", "--chunk-size", "500", "--no-progress"]
    with MarketoSandbox(rate_limit=None) as sandbox:
        env = {**os.environ, **{f"MARKETO_{k.upper()}": v for k, v in sandbox.info().items()}}
        state = {"posts": 0, "proc": None}

        def kill_on_nth_upsert(req) -> None:
            if req.path == "/rest/v1/leads.json" and req.effective_method == "POST":
                state["posts"] += 1
                if state["posts"] == nth and state["proc"] is not None:
                    os.kill(state["proc"].pid, signal.SIGKILL)

        sandbox.app.on_request = kill_on_nth_upsert
        proc = subprocess.Popen(
            [sys.executable, "-m", "paragon_nb.cli", *cli, "--create-list"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        state["proc"] = proc
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        app = sandbox.app
        client = sandbox.client()
        target = client.get_list_by_name("K")
        with Journal(instance=instance_of(client), lookup_field="email",
                     list_key=str(target.id)) as journal:  # fmt: skip
            known = journal.lookup(list(last.index))
        held = {lead["email"]: lead["firstName"] for lead in app.leads()}
        # finished: synced in the journal with the values of the key's last occurrence
        finished = {
            key
            for key in last.index
            if key in known.index
            and known.loc[key, "state"] == "synced"
            and held.get(key) == last.loc[key, "firstName"]
        }
        assert len(finished) < len(last)  # the kill left work

        for name, value in env.items():
            if name.startswith("MARKETO_"):
                monkeypatch.setenv(name, value)
        app.reset_stats()
        sent = _sent(app)
        assert main(cli) == 1  # one invalid email
        assert not {k for k, _ in sent} & finished
        assert {k for k, _ in sent} == set(last.index) - finished
        # Nothing the killed run finished goes again: no occurrence before the one Marketo
        # holds (as the journal has it synced; pending: that one may go again), and each
        # later occurrence at most once.
        row_of = {f"First {i}": i for i in range(n)}
        assert max(Counter(sent).values()) == 1
        for key, first_name in sent:
            held_row = row_of.get(held.get(key), -1)
            synced = key in known.index and known.loc[key, "state"] == "synced"
            assert row_of[first_name] > held_row or (
                not synced and row_of[first_name] == held_row
            ), (key, first_name, held.get(key))
        leads = {lead["email"]: lead for lead in app.leads()}
        assert len(leads) == len(last) == len(app.leads())
        assert all(leads[k]["firstName"] == last.loc[k, "firstName"] for k in last.index)
        member_ids = set(app.list_members(target.id))
        assert {k for k, lead in leads.items() if lead["id"] in member_ids} == set(last.index)
        app.reset_stats()
        assert main(cli) == 1
        assert app.stats.write_calls == 0
