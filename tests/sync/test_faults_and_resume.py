"""Faults, token expiry and the daily quota mid-run; a sync process killed mid-run.

Whatever happens, the final sandbox state equals a clean run's and every row's result is
right once the same sync has been run again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.cli import main
from paragon_nb.sandbox import Fault, MarketoSandbox, SandboxApp
from paragon_nb.sync.journal import Journal, instance_of
from paragon_nb.sync.runner import sync_leads

from .conftest import MESSY_INVALID, big_frame, messy_frame

CODES = ("606", "615", "611", "604", "502")
VOLATILE = {"id", "createdAt", "updatedAt"}


def _frame() -> pd.DataFrame:
    big = big_frame(1900)
    big.index = pd.Index([f"b{i}" for i in range(len(big))])
    messy = messy_frame().rename(
        columns={"first_name": "firstName", "last_name": "lastName",
                 "number_of_employees": "numberOfEmployees"}
    )  # fmt: skip
    return pd.concat([messy, big])


def _state(app: SandboxApp, list_name: str) -> tuple[dict, set]:
    client = app.client(clock=app.clock)
    leads = {
        lead["email"]: {k: v for k, v in lead.items() if k not in VOLATILE and v is not None}
        for lead in app.leads()
    }
    by_id = {lead["id"]: lead["email"] for lead in app.leads()}
    target = client.get_list_by_name(list_name)
    assert target is not None
    members = {by_id[i] for i in app.list_members(target.id)}
    return leads, members


def test_faults_token_expiry_and_quota_end_in_the_clean_state() -> None:
    df = _frame()
    clean_app = SandboxApp(clock=FakeClock(), import_seconds=0)
    clean = sync_leads(df, clean_app.client(clock=clean_app.clock), list="F", create_list=True,
                       progress=False)  # fmt: skip
    assert clean.counts["created"] == 1904

    clock = FakeClock()
    app = SandboxApp(
        clock=clock,
        daily_quota=12,
        seed=11,
        faults=[
            Fault(route="leads", probability=0.25, codes=CODES),
            Fault(route="members", probability=0.25, codes=CODES),
            Fault(route="leads", probability=0.1, codes=("604",), after=True),
        ],
    )
    seen = {"n": 0}

    def expire_now_and_then(req) -> None:
        seen["n"] += 1
        if seen["n"] % 5 == 0:
            app.expire_tokens()

    app.on_request = expire_now_and_then
    # one worker: the seeded faults then hit the same calls on every run (no thread race)
    first = sync_leads(df, app.client(clock=clock), list="F", create_list=True, progress=False,
                       workers=1)  # fmt: skip
    failed = first.failed
    assert len(failed) > 0, "the daily quota should stop the first run part way"
    assert failed["reason"].str.contains("quota|run the same sync again").all()
    assert (first.rows.loc[list(MESSY_INVALID), "status"] == "invalid").all()
    done_first = set(first.rows.index[first.rows["status"].isin(["created", "updated"])])
    quota_stops = app.stats.errors_by_code.get("607", 0)  # read before the day rolls over

    clock.advance(86_400)  # next Marketo day: quota reset
    app.set_limits(daily_quota=50_000)
    results = []
    for _ in range(4):  # faults may still exhaust a call's retries: run again, as users would
        results.append(sync_leads(df, app.client(clock=clock), list="F", progress=False))
        if not len(results[-1].failed):
            break
    final = results[-1]
    assert len(final.failed) == 0
    assert (final.rows.loc[list(MESSY_INVALID), "status"] == "invalid").all()
    second = results[0]
    # rows finished in the first run are not sent again
    assert (second.rows.loc[list(done_first), "status"] == "unchanged").all()
    ok = second.rows["status"].isin(["created", "updated", "unchanged", "failed"])
    assert ok[~second.rows.index.isin([*MESSY_INVALID, "r0"])].all()
    assert _state(app, "F") == _state(clean_app, "F")
    assert quota_stops >= 1
    assert sum(app.stats.errors_by_code.get(c, 0) for c in CODES) > 0
    assert app.stats.errors_by_code.get("602", 0) > 0


def _write_csv(path: Path, n: int) -> pd.DataFrame:
    df = big_frame(n)
    df.loc[3, "email"] = "not-an-email"
    df.loc[5, "firstName"] = 'He said "hi",\nthen left'
    df.to_csv(path, index=False)
    return df


@pytest.mark.parametrize(
    ("route", "nth"),
    [("/rest/v1/leads.json", 1), ("/rest/v1/leads.json", 3), ("/rest/v1/lists/", 2)],
    ids=["first-upsert", "third-upsert", "second-list-add"],
)
def test_killed_sync_process_resumes_without_loss_or_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path, route: str, nth: int
) -> None:
    csv_path = tmp_path / "leads.csv"
    n = 4000  # 14 batches: more than the 8 workers can have in flight
    _write_csv(csv_path, n)
    with MarketoSandbox(rate_limit=None) as sandbox:
        env = {**os.environ, **{f"MARKETO_{k.upper()}": v for k, v in sandbox.info().items()}}
        state = {"posts": 0, "proc": None}

        def kill_on_nth_write(req) -> None:
            if req.path.startswith(route) and req.effective_method == "POST":
                state["posts"] += 1
                if state["posts"] == nth and state["proc"] is not None:
                    os.kill(state["proc"].pid, signal.SIGKILL)

        sandbox.app.on_request = kill_on_nth_write
        cmd = [sys.executable, "-m", "paragon_nb.cli", "sync", str(csv_path), "--list", "K",
               "--create-list", "--no-progress"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        state["proc"] = proc
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        sandbox.app.on_request = None
        client = sandbox.client()
        target = client.get_list_by_name("K")
        assert target is not None
        journal = Journal(instance=instance_of(client), lookup_field="email",
                          list_key=str(target.id))  # fmt: skip
        finished = journal.count("synced")
        assert journal.count("pending") + (n - 1 - finished) > 0  # the kill left work
        journal.close()

        for name, value in env.items():
            if name.startswith("MARKETO_"):
                monkeypatch.setenv(name, value)
        report = tmp_path / "report.csv"
        sandbox.app.reset_stats()
        code = main(["sync", str(csv_path), "--list", "K", "--report", str(report),
                     "--no-progress"])  # fmt: skip
        assert code == 1  # one invalid email
        # the rerun sends only the rows the journal does not have as finished
        upserts = sandbox.app.stats.calls_by_route.get("POST /rest/v1/leads.json", 0)
        assert upserts == -(-(n - 1 - finished) // 300)
        out = pd.read_csv(report, keep_default_na=False)
        assert out["row"].tolist() == list(range(n))
        assert set(out["status"]) <= {"created", "updated", "unchanged", "invalid"}
        assert (out["status"] == "unchanged").sum() == finished
        assert out.loc[3, "status"] == "invalid" and out.loc[3, "email"] == "not-an-email"
        emails = [lead["email"] for lead in sandbox.app.leads()]
        assert len(emails) == len(set(emails)) == n - 1
        assert len(set(sandbox.app.list_members(target.id))) == n - 1
        # and a third run has nothing left to do: one verification read, no write
        sandbox.app.reset_stats()
        code = main(["sync", str(csv_path), "--list", "K", "--report", str(report),
                     "--no-progress"])  # fmt: skip
        out = pd.read_csv(report, keep_default_na=False)
        assert set(out["status"]) == {"unchanged", "invalid"}
        assert sandbox.app.stats.write_calls == 0
