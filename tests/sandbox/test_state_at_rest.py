"""Sandbox state at rest: no usable access token in the state file (hashes only), the state
file and its -wal/-shm companions private to the owner (0600)."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import httpx

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import SandboxApp

from .conftest import ORIGIN, Api


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _api(app: SandboxApp) -> Api:
    return Api(app, httpx.Client(transport=app.transport(), base_url=ORIGIN))


def test_tokens_are_stored_as_hashes_and_still_work_after_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    app = SandboxApp(state=path, clock=clock, rate_limit=None)
    api = _api(app)
    token = api.token()
    assert api.get("/rest/v1/leads/describe.json")["success"] is True
    again = _api(app).token()
    assert again == token  # the same token until expiry, as Marketo does
    app.state.close()
    raw = path.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("sandbox.sqlite3-*") if p.is_file()
    )
    assert token.encode() not in raw and token.split(":")[0].encode() not in raw
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "tokens" not in tables
        (stored,) = db.execute("SELECT hash FROM token_hashes").fetchone()
    assert len(stored) == 64 and stored != token
    restarted = SandboxApp(state=path, clock=clock, rate_limit=None)
    try:
        old = _api(restarted)
        old._token = token  # a client still holding the token it was given before
        assert old.get("/rest/v1/leads/describe.json")["success"] is True
        assert _api(restarted).token() != token  # plain token is gone: a fresh one is issued
        clock.advance(3601)
        assert old.get("/rest/v1/leads/describe.json")["errors"][0]["code"] == "602"
    finally:
        restarted.state.close()


def test_state_file_and_wal_shm_are_0600(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state" / "sandbox.sqlite3"
    app = SandboxApp(state=path, clock=clock, rate_limit=None)
    try:
        _api(app).sync([{"email": "a@example.com"}])  # writes go through the WAL
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600, 0o600, 0o600]
    finally:
        app.state.close()


def test_an_old_world_readable_state_file_is_tightened(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "sandbox.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    app = SandboxApp(state=path, clock=clock, rate_limit=None)
    app.state.close()
    assert _mode(path) == 0o600
