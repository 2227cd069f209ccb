"""The throwaway PostgreSQL helper as a user meets it: ``paragon-nb postgres`` prints a URL
a project can live at, and SIGTERM stops the server and deletes its data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from paragon_nb.runtime.project import Project

pytestmark = pytest.mark.slow


def test_paragon_nb_postgres_serves_a_project_url_until_sigterm(
    postgres_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(``postgres_server``: PostgreSQL is installed here, or the test is skipped off CI.)"""
    import psycopg
    from cryptography.fernet import Fernet

    proc = subprocess.Popen(
        [sys.executable, "-m", "paragon_nb.cli", "postgres", "--database", "tryit"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, proc.kill)  # a hung start must not hang the suite
    watchdog.start()
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        watchdog.cancel()
    try:
        assert line, proc.stderr.read() if proc.stderr else ""
        info = json.loads(line)
        url = info["url"]
        assert url.startswith("postgresql://") and url.endswith("/tryit")
        assert "PARAGON_NB_SECRET_KEY" in info["secret_key_hint"]
        monkeypatch.setenv("PARAGON_NB_SECRET_KEY", Fernet.generate_key().decode())
        with Project.create("Tried", path=url) as project:
            project.define_app_event("Lead Created", example={"email": "a@b.co"})
        with Project.open(url) as again:
            assert [e["name"] for e in again.app_events()] == ["Lead Created"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
