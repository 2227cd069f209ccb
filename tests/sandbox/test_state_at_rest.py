"""Sandbox state at rest: no access token in clear in the state file (a hash and an encrypted
copy), the state file and its -wal/-shm companions private to the owner (0600)."""

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


def test_tokens_are_stored_hashed_and_sealed_and_survive_a_restart(
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
        stored, sealed = db.execute("SELECT hash, sealed FROM token_hashes").fetchone()
    assert len(stored) == 64 and stored != token and token not in sealed
    restarted = SandboxApp(state=path, clock=clock, rate_limit=None)
    try:
        old = _api(restarted)
        old._token = token  # a client still holding the token it was given before
        assert old.get("/rest/v1/leads/describe.json")["success"] is True
        assert _api(restarted).token() == token  # handed out again until it expires
        clock.advance(3601)
        assert old.get("/rest/v1/leads/describe.json")["errors"][0]["code"] == "602"
        assert _api(restarted).token() != token  # expired: a fresh token
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


def test_a_token_sealed_under_another_key_is_replaced_not_an_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    from cryptography.fernet import Fernet

    from paragon_nb.settings import SecretBox

    path = tmp_path / "sandbox.sqlite3"
    creds = {"client_id": "cid", "client_secret": "csecret-1"}
    first = SandboxApp(
        state=path, clock=clock, secret_box=SecretBox(Fernet.generate_key()), **creds
    )
    token = _api(first).token()
    first.state.close()
    other_key = SecretBox(Fernet.generate_key())
    again = SandboxApp(state=path, clock=clock, secret_box=other_key, **creds)
    try:
        fresh = _api(again).token()  # the old copy cannot be unsealed: a new token, no 611
        assert fresh != token
        assert _api(again).get("/rest/v1/leads/describe.json")["success"] is True
    finally:
        again.state.close()
