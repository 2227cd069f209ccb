"""The journal: scopes, pending-before / results-after protocol, lookups."""

from __future__ import annotations

from pathlib import Path

from paragon_nb._clock import FakeClock
from paragon_nb.sync.journal import JOURNAL_FILE, Journal, RowOutcome


def test_default_path_is_under_home(isolated_env: Path) -> None:
    with Journal(instance="i", lookup_field="email") as j:
        assert j.path == isolated_env / JOURNAL_FILE


def test_pending_then_finished_then_listed(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(instance="i", lookup_field="email", list_key="7", path=path, clock=clock) as j:
        bid = j.begin_batch(["a@x.com", "b@x.com"], [11, 22], action="createOrUpdate")
        rows = j.lookup(["a@x.com", "b@x.com", "c@x.com"])
        assert list(rows.index) == ["a@x.com", "b@x.com"]
        assert set(rows["state"]) == {"pending"}
        assert rows.loc["a@x.com", "pending_fp"] == 11
        j.finish_batch(
            bid,
            [
                RowOutcome("a@x.com", "synced", 11, 101, "created"),
                RowOutcome("b@x.com", "skipped", None, None, "skipped", "1003", "bad"),
            ],
        )
        j.mark_listed(["a@x.com"])
    # a new connection (a new process, in real life) sees it all
    with Journal(instance="i", lookup_field="email", list_key="7", path=path) as j2:
        rows = j2.lookup(["a@x.com", "b@x.com"])
        a, b = rows.loc["a@x.com"], rows.loc["b@x.com"]
        got = (a["state"], a["fingerprint"], a["lead_id"], a["listed"])
        assert got == ("synced", 11, 101, True)
        assert (b["state"], b["listed"]) == ("skipped", False)
        assert j2.count() == 2 and j2.count("synced") == 1


def test_scopes_are_separate(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(instance="i", lookup_field="email", list_key="1", path=path) as j1:
        j1.begin_batch(["a@x.com"], [1], action="createOrUpdate")
    for scope in [("i", "email", "2"), ("other", "email", "1"), ("i", "id", "1")]:
        with Journal(instance=scope[0], lookup_field=scope[1], list_key=scope[2], path=path) as j:
            assert len(j.lookup(["a@x.com"])) == 0


def test_resync_clears_listed_and_many_keys_lookup(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    keys = [f"u{i}@x.com" for i in range(2000)]
    with Journal(instance="i", lookup_field="email", path=path) as j:
        bid = j.begin_batch(keys, range(2000), action="createOrUpdate")
        done = [RowOutcome(k, "synced", n, n, "created") for n, k in enumerate(keys)]
        j.finish_batch(bid, done)
        j.mark_listed(keys)
        # few keys against a large scope: chunked IN queries
        few = j.lookup(keys[:3])
        assert list(few["fingerprint"]) == [0, 1, 2]
        bid = j.begin_batch(keys[:1], [99], action="createOrUpdate")
        j.finish_batch(bid, [RowOutcome(keys[0], "synced", 99, None, "updated")])
        row = j.lookup(keys[:1]).loc[keys[0]]
        assert (row["fingerprint"], row["lead_id"], row["listed"]) == (99, 0, False)
        assert j.forget() == 2000


def test_superseded_marks_exact_per_scope_left_out_for_their_own_run(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    big = -(2**63)  # fingerprints are exact 64-bit integers through the JSON writes too
    with Journal(instance="i", lookup_field="email", list_key="1", path=path) as j:
        bid = j.begin_batch(["a@x.com"], [big], action="createOrUpdate")
        j.finish_batch(bid, [RowOutcome("a@x.com", "synced", big, 7, "created")])
        j.mark_superseded([("a@x.com", big), ("a@x.com", 5), ("b@x.com", 6)], run="r1")
        j.mark_superseded([("a@x.com", 5)], run="r2")  # already known: kept once
        assert j.lookup(["a@x.com"]).loc["a@x.com", "fingerprint"] == big
        assert j.superseded(["a@x.com", "b@x.com", "c@x.com"], exclude_run="r2") == {
            "a@x.com": {big, 5},
            "b@x.com": {6},
        }
        assert j.superseded(["a@x.com"], exclude_run="r1") == {}  # r1's own marks
    with Journal(instance="i", lookup_field="email", list_key="2", path=path) as other:
        assert other.superseded(["a@x.com"], exclude_run="x") == {}
    with Journal(instance="i", lookup_field="email", list_key="1", path=path) as j:
        assert j.forget() == 1
        assert j.superseded(["a@x.com", "b@x.com"], exclude_run="x") == {}


def test_a_journal_from_before_in_flight_batches_opens_and_works(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL, "
        "lookup_field TEXT NOT NULL, list_key TEXT NOT NULL, action TEXT NOT NULL, "
        "size INTEGER NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL);"
        "INSERT INTO batches (instance, lookup_field, list_key, action, size, state, created_at)"
        " VALUES ('i', 'email', '', 'createOrUpdate', 1, 'sent', 0);"
    )
    old.close()
    with Journal(instance="i", lookup_field="email", path=path) as j:
        assert j.count("pending") == 0  # an old unfinished batch named no rows
        bid = j.begin_batch(["a@x.com", "b@x.com"], [1, 2], action="createOrUpdate")
        j.finish_batch(bid, [RowOutcome("a@x.com", "synced", 1, 5, "created")])
        rows = j.lookup(["a@x.com", "b@x.com"])
        assert rows["state"].to_dict() == {"a@x.com": "synced", "b@x.com": "pending"}
        assert rows.loc["b@x.com", "pending_fp"] == 2  # no outcome: still in flight
