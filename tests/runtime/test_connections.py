"""The project database's connections: a closed project writes nothing more (a background
thread's late write is refused, not applied: on PostgreSQL it once deadlocked with the test
fixture's DROP SCHEMA), and a PostgreSQL project's pool follows its ``workers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb.errors import ConfigurationError
from paragon_nb.runtime.db import DatabaseError
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.runlog import RunLog


def test_a_closed_project_refuses_late_writes_and_still_reads(project: Project) -> None:
    store = project._store
    project.close()
    with pytest.raises(DatabaseError, match="is closed; nothing more is written"):
        RunLog(store).release("host:1:late")  # what an engine thread still running would do
    with pytest.raises(DatabaseError, match="is closed"), store.run_tx():
        pass
    assert store.get_meta("name") == "Demo"  # a read opens what it needs again
    store.close()


@pytest.mark.parametrize(("options", "size"), [({}, 16), ({"workers": 9}, 20),
                                               ({"pool_size": 4}, 4)])  # fmt: skip
def test_the_postgresql_pool_follows_the_workers(
    store: Path | str, options: dict, size: int
) -> None:
    Project.create("Demo", path=store).close()
    project = Project.open(store, resume=False, **options)
    try:
        assert project.options.connections == size
        db = project._store.db
        if db.dialect == "postgresql":
            assert db._pool().max_size == size  # type: ignore[attr-defined]
    finally:
        project.close()


def test_a_pool_of_fewer_than_two_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pool_size must be >= 2"):
        Project.create("Demo", path=tmp_path / "p", pool_size=1)


def test_a_closing_engine_starts_no_new_dispatcher(seeded: Project) -> None:
    """The late writer of test_receipts (reopening): a run advanced while its project closed
    started a dispatcher after close() had stopped the ones it saw; that thread went on
    drawing from the budget (writing) after the store was closed."""
    engine = seeded._engine
    seeded.close()
    engine._dispatch("user-1", [])  # what a worker thread still advancing a run does
    assert engine._dispatchers == {}
