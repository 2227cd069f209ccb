"""Dry run = real run: the same plan, statuses one to one, planned calls == real calls."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from paragon_nb.sandbox import SandboxApp
from paragon_nb.sync.journal import Journal, instance_of
from paragon_nb.sync.plan import make_plan
from paragon_nb.sync.runner import sync_leads

from .conftest import big_frame

PLANNED_TO_REAL = {
    "would create": "created",
    "would update": "updated",
    "unchanged": "unchanged",
    "invalid": "invalid",
    "duplicate": "skipped",
}


def _mixed(app: SandboxApp, client, journal: Path) -> pd.DataFrame:
    """Known rows (some changed, some left in flight by a kill), rows Marketo holds with the
    same values but the journal does not know, new rows, an invalid one and a duplicate."""
    known = big_frame(700, prefix="known")
    sync_leads(known, client, list="A", create_list=True, journal=journal, progress=False)
    target = client.get_list_by_name("A")
    plan = make_plan(known.iloc[:40], client.describe())
    with Journal(instance=instance_of(client), lookup_field="email", list_key=str(target.id),
                 path=journal) as j:  # fmt: skip
        j.begin_batch(plan.keys.many(range(5)), plan.fps[:5], action="createOrUpdate")
        j.mark_listed(plan.keys.many(range(5, 40)), listed=False)  # list adds interrupted
    same = big_frame(60, prefix="same")
    sync_leads(same, client, journal=False, progress=False)  # in Marketo, not in the journal
    known.loc[100:109, "lastName"] = "Changed"
    new = big_frame(45, prefix="new")
    bad = pd.DataFrame({"email": ["not-an-email", "new3@example.com"], "firstName": ["X", "Y"],
                        "lastName": ["Z", "Z"], "numberOfEmployees": [1, 2]})  # fmt: skip
    return pd.concat([known, same, new, bad], ignore_index=True)


@pytest.mark.parametrize("list_name", ["A", "Brand new"])
def test_dry_run_statuses_and_calls_match_the_real_run(
    app: SandboxApp, client, tmp_path: Path, list_name: str
) -> None:
    journal = tmp_path / "j.sqlite3"
    df = _mixed(app, client, journal)
    app.reset_stats()
    dry = sync_leads(df, client, list=list_name, create_list=True, journal=journal,
                     dry_run=True, progress=False)  # fmt: skip
    assert app.stats.write_calls == 0
    real = sync_leads(df, client, list=list_name, create_list=True, journal=journal,
                      progress=False)  # fmt: skip
    mapped = dry.rows["status"].map(PLANNED_TO_REAL)
    assert mapped.notna().all()
    mismatch = mapped != real.rows["status"]
    assert not mismatch.any(), pd.concat([dry.rows[mismatch], real.rows[mismatch]], axis=1)
    assert dry.planned_calls == real.calls
    counts = dry.counts
    if list_name == "A":
        # 5 pending + 10 changed re-sent, 60 same-valued ones unknown to the journal sent
        assert counts["unchanged"] == 700 - 15
        assert counts["would update"] == 15 + 60 and counts["would create"] == 45
        assert (real.rows["reason"].iloc[5:40].str.contains("added to list")).all()
    else:  # a new list: nothing is settled by the journal, every valid row is sent
        assert "unchanged" not in counts
        assert counts["would update"] == 700 + 60 and counts["would create"] == 45
    assert counts["invalid"] == 1 and counts["duplicate"] == 1
