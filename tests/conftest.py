"""Shared fixtures. Every test runs with its own home folder and a clean environment:
no MARKETO_* / PARAGON_NB_* variables leak in from the machine, and HOME points at tmp.
(Tests marked ``live`` keep MARKETO_* so they can reach a real instance.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock

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
