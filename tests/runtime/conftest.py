"""Fixtures for the runtime core: a project on a FakeClock, wired to an in-memory Marketo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.runtime.examples import SEED_WORKFLOW_YAML
from paragon_nb.runtime.location import Location
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.store import ProjectStore

from .fakes import CLIENT_ID, CLIENT_SECRET, FakeMarketo

SEED_SPEC = SEED_WORKFLOW_YAML  # verbatim from the issue

LEAD_EXAMPLE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "company": "Analytical Engines",
    "title": "Engineer",
}

ENDPOINT = "https://123-ABC-456.mktorest.com/rest"


@pytest.fixture
def marketo() -> FakeMarketo:
    return FakeMarketo()


@pytest.fixture
def project_dir(store: Path | str) -> Path | str:
    """The project's folder, or its PostgreSQL URL (``store`` runs each test on both)."""
    return store


@pytest.fixture
def project(project_dir: Path, clock: FakeClock, marketo: FakeMarketo) -> Iterator[Project]:
    p = Project.create("Demo", path=project_dir, clock=clock, client_factory=marketo.factory)
    yield p
    p.close()


def connect(project: Project, sub: str = "user-1") -> dict:
    return project.connect_user(
        sub, "marketo", endpoint=ENDPOINT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


@pytest.fixture
def seeded(project: Project) -> Project:
    """The seed flow up to 'enabled': event, workflow deployed, user connected, list picked."""
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(SEED_SPEC)
    project.deploy("Sync new leads to Marketo")
    connect(project)
    project.set_workflow_settings("user-1", "Sync new leads to Marketo", {"marketo_list": "1001"})
    project.enable_workflow("user-1", "Sync new leads to Marketo")
    return project


def stored_data(where: Path | str) -> dict[str, bytes]:
    """Everything a project stores at rest, by where it is: each file of a project folder,
    or each table of a PostgreSQL project's database (its rows as text)."""
    if isinstance(where, Path):
        return {str(p): p.read_bytes() for p in where.rglob("*") if p.is_file()}
    import psycopg

    out = {}
    with psycopg.connect(where) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
            out[table] = repr(rows).encode()
    return out


_OPENED: list[ProjectStore] = []


def open_store(where: Path | str) -> ProjectStore:
    """A second store on a project's database (as another process would open it), closed
    when the test ends."""
    store = ProjectStore(Location.of(where).database())
    _OPENED.append(store)
    return store


@pytest.fixture(autouse=True)
def _close_opened_stores() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()
