"""Shared fixtures. Every test runs with its own home folder and a clean environment:
no MARKETO_* / PARAGON_NB_* variables leak in from the machine, and HOME points at tmp.
(Tests marked ``live`` keep MARKETO_* so they can reach a real instance.)

``store`` is where a test's project lives, once per engine: a folder (``sqlite``) and a fresh
schema on the session's throwaway PostgreSQL server (``postgres``). A test that asks for it
(directly or through a fixture such as tests/runtime's ``project``) runs on both, unless it is
marked ``sqlite_only`` (it looks inside the project folder). The PostgreSQL runs skip only off
CI when PostgreSQL is not installed; under CI=true a missing server fails them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock

STORES = ("sqlite", "postgres")
_databases = itertools.count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = any("store" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if "store" in metafunc.fixturenames and not chosen:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("store", ["sqlite"] if only_sqlite else STORES, indirect=True)


_ISOLATED_PREFIXES = ("MARKETO_", "PARAGON_NB_")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live_ready = all(
        os.environ.get(v)
        for v in ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")
    )
    skip_live = pytest.mark.skip(reason="live: set MARKETO_ENDPOINT/CLIENT_ID/CLIENT_SECRET")
    for item in items:
        if "live" in item.keywords and not live_ready:
            item.add_marker(skip_live)


@pytest.fixture(autouse=True)
def isolated_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Fresh env + home folder per test; returns the paragon_nb home folder."""
    keep_marketo = "live" in request.keywords
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) and not (
            keep_marketo and name.startswith("MARKETO_")
        ):
            monkeypatch.delenv(name)
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    nb_home = tmp_path / "paragon-home"
    monkeypatch.setenv("PARAGON_NB_HOME", str(nb_home))
    monkeypatch.chdir(tmp_path)
    return nb_home


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """One throwaway PostgreSQL server for the whole session (paragon_nb.testing.postgres)."""
    from paragon_nb.errors import ConfigurationError

    try:
        import psycopg  # noqa: F401  (the postgres extra)

        from paragon_nb.testing.postgres import TemporaryPostgres, find_bindir

        bindir = find_bindir()
    except (ImportError, ConfigurationError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the PostgreSQL tests, but: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL here ({exc}); apt-get install postgresql")
    with TemporaryPostgres(bindir=bindir) as server:
        yield server


@pytest.fixture
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path | str]:
    """Where the test's project lives: a folder, or a fresh PostgreSQL database's URL (with
    ``PARAGON_NB_SECRET_KEY`` set, as a PostgreSQL project needs)."""
    if request.param == "sqlite":
        yield tmp_path / "proj"
        return
    from cryptography.fernet import Fernet

    server = request.getfixturevalue("postgres_server")
    name = f"test_{next(_databases)}"
    monkeypatch.setenv("PARAGON_NB_SECRET_KEY", Fernet.generate_key().decode())
    # a schema per test (a project per schema, as a project per database): ~1 ms to make
    url = server.create_schema(name)  # type: ignore[attr-defined]
    yield url
    # every project a test opened is closed by now, and a closed project writes nothing
    # more (runtime.db refuses it): nothing holds a lock DROP SCHEMA would wait on
    server.drop_schema(name)  # type: ignore[attr-defined]
