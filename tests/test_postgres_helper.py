"""The throwaway PostgreSQL helper as a user meets it: ``paragon-nb postgres`` prints a URL
a project can live at, and SIGTERM stops the server and deletes its data."""

from __future__ import annotations

import signal

import pytest
from cli_process import start_cli

from paragon_nb.runtime.project import Project

pytestmark = pytest.mark.slow


def test_paragon_nb_postgres_serves_a_project_url_until_sigterm(
    postgres_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(``postgres_server``: PostgreSQL is installed here, or the test is skipped off CI.)"""
    import psycopg
    from cryptography.fernet import Fernet

    proc, info = start_cli("postgres", "--database", "tryit", timeout=120)
    try:
        url = info["url"]
        assert url.startswith("postgresql://") and url.endswith("/tryit")
        assert "PARAGON_NB_SECRET_KEY" in info["secret_key_hint"]
        monkeypatch.setenv("PARAGON_NB_SECRET_KEY", Fernet.generate_key().decode())
        with Project.create("Tried", path=url) as project:
            project.define_app_event("Lead Created", example={"email": "a@b.co"})
        with Project.open(url) as again:
            assert [e.name for e in again.app_events()] == ["Lead Created"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
