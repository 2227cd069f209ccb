"""The project database's versioned schema: fresh projects, upgrades of the first version's
folders, refusal of newer ones, and all-or-none migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import SchemaTooNew, StoreError
from paragon_nb.runtime import schema
from paragon_nb.runtime.db import Database
from paragon_nb.runtime.location import Location
from paragon_nb.runtime.project import Project

from . import legacy
from .conftest import ENDPOINT, LEAD_EXAMPLE
from .fakes import CLIENT_ID, CLIENT_SECRET, FakeMarketo

WF = "Sync new leads to Marketo"


def _db(where: Path | str) -> Database:
    return Location.of(where).database()


def _meta(where: Path | str, key: str) -> str | None:
    db = _db(where)
    try:
        row = db.one("SELECT value FROM meta WHERE key = ?", key)
    finally:
        db.close()
    return None if row is None else row["value"]


def test_a_new_project_records_the_newest_version(
    project: Project, project_dir: Path | str
) -> None:
    assert _meta(project_dir, "schema_version") == str(schema.SCHEMA_VERSION)
    assert schema.SCHEMA_VERSION == len(schema.MIGRATIONS) >= 2


@pytest.mark.parametrize("batch_columns", [True, False], ids=["batching-release", "first"])
def test_a_first_version_folder_upgrades_keeping_workflows_users_and_runs(
    tmp_path: Path, clock: FakeClock, marketo: FakeMarketo, batch_columns: bool
) -> None:
    folder = tmp_path / "legacy"
    legacy.make_v1_folder(
        folder, endpoint=ENDPOINT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        batch_columns=batch_columns,
    )  # fmt: skip
    with Project.open(folder, clock=clock, client_factory=marketo.factory) as project:
        assert _meta(folder, "schema_version") == str(schema.SCHEMA_VERSION)
        assert (project.id, project.name) == (legacy.PROJECT_ID, "Legacy")
        assert project.workflow(WF).deployed_version == 1
        state = project.user_state(legacy.SUB)
        assert state.meta == {"plan": "pro"}
        assert state.enabled and state.connection is not None
        assert project.marketo_client(legacy.SUB).creds.client_secret == CLIENT_SECRET
        runs = project.runs()
        assert list(runs["run_id"]) == [legacy.RUN_ID]
        assert list(runs["status"]) == ["succeeded"]
        detail = project.run(legacy.RUN_ID)
        assert [s.step_id for s in detail.steps] == ["upsert_lead", "add_to_list"]
        # the upgraded folder runs new events through the batched engine (batch columns)
        project.trigger_event(legacy.SUB, "Lead Created", LEAD_EXAMPLE)
        assert project.wait_idle(5)
        assert list(project.runs()["status"]) == ["succeeded", "succeeded"]
    assert marketo.members[1001] == {1}
    # and opening it again changes nothing
    with Project.open(folder, clock=clock, client_factory=marketo.factory) as again:
        assert len(again.runs()) == 2


def test_a_newer_schema_is_refused_and_left_alone(
    project: Project, project_dir: Path | str, clock: FakeClock
) -> None:
    project.close()
    newer = schema.SCHEMA_VERSION + 1
    db = _db(project_dir)
    with db.tx() as c:
        c.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(newer),))
    db.close()
    with pytest.raises(SchemaTooNew) as info:
        Project.open(project_dir, clock=clock)
    message = str(info.value)
    assert f"schema version {newer}" in message
    assert f"up to {schema.SCHEMA_VERSION}" in message
    assert "upgrade paragon_nb" in message
    assert (info.value.found, info.value.known) == (newer, schema.SCHEMA_VERSION)
    assert _meta(project_dir, "schema_version") == str(newer)


def test_a_failing_migration_changes_nothing(
    project: Project, project_dir: Path | str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.close()
    broken = "CREATE TABLE half_done (x INTEGER);\nSELECT no_such_column FROM meta;"
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(StoreError, match="no_such_column"):
        Project.open(project_dir, clock=clock)
    db = _db(project_dir)
    assert not db.has_table("half_done")
    db.close()
    assert _meta(project_dir, "schema_version") == str(schema.SCHEMA_VERSION - 1)


def test_statements_splits_a_script() -> None:
    assert schema.statements("CREATE TABLE a (x INTEGER);\n\n  DROP TABLE b ;") == [
        "CREATE TABLE a (x INTEGER)",
        "DROP TABLE b",
    ]
