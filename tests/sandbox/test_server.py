"""The sandbox on a real loopback socket, persistent state, and ``paragon-nb sandbox``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox import MarketoSandbox, SandboxApp, default_sandbox
from paragon_nb.sandbox.server import parse_rate_limit


def _token(http: httpx.Client, identity: str, cid: str, secret: str) -> str:
    r = http.get(
        identity + "/oauth/token",
        params={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_sandbox_serves_on_loopback_and_masks_secret() -> None:
    with MarketoSandbox() as sandbox:
        assert sandbox.endpoint.startswith("http://127.0.0.1:") and sandbox.endpoint.endswith(
            "/rest"
        )
        assert sandbox.identity == sandbox.base_url + "/identity"
        assert sandbox.client_secret not in repr(sandbox) and "***" in repr(sandbox)
        with httpx.Client() as http:
            token = _token(http, sandbox.identity, sandbox.client_id, sandbox.client_secret)
            r = http.post(
                sandbox.endpoint + "/v1/leads.json",
                json={"input": [{"email": "s@x.com"}]},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.json()["result"][0]["status"] == "created"
        assert sandbox.lead_count() == 1 and sandbox.stats.write_calls == 1
    with pytest.raises(RuntimeError):
        _ = sandbox.endpoint


def test_ten_requests_are_served_concurrently() -> None:
    barrier = threading.Barrier(10, timeout=10)
    with MarketoSandbox(max_concurrency=10) as sandbox:
        sandbox.app.on_request = lambda req: barrier.wait()  # all 10 must be in flight at once
        with httpx.Client() as http:
            token = _token(http, sandbox.identity, sandbox.client_id, sandbox.client_secret)
        codes: list[bool] = []

        def call() -> None:
            with httpx.Client(timeout=20) as http:
                r = http.get(
                    sandbox.endpoint + "/v1/leads/describe.json",
                    headers={"Authorization": f"Bearer {token}"},
                )
                codes.append(r.json()["success"])

        threads = [threading.Thread(target=call) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert codes == [True] * 10
        assert sandbox.stats.max_in_flight == 10


def test_persistent_state_keeps_credentials_encrypted_and_data(isolated_env: Path) -> None:
    path = isolated_env / "sb.sqlite3"
    first = SandboxApp(state=path)
    cid, secret = first.client_id, first.client_secret
    first.create_list("Kept")
    first.state.close()
    assert secret.encode() not in path.read_bytes()
    second = SandboxApp(state=path)
    assert (second.client_id, second.client_secret) == (cid, secret)
    assert second.state.list_by_name("Kept") is not None
    second.state.close()
    third = SandboxApp(state=path, client_id="mine", client_secret="s3cret-value")
    assert third.client_secret == "s3cret-value"
    third.state.close()
    assert SandboxApp(state=path).client_secret == "s3cret-value"


def test_default_sandbox_lives_in_the_home_folder(isolated_env: Path) -> None:
    sandbox = default_sandbox()
    assert Path(sandbox.app.state.path) == isolated_env / "sandbox.sqlite3"
    assert (isolated_env / "secret.key").exists()
    sandbox.app.state.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/20", (100, 20.0)),
        ("100/2", (100, 2.0)),
        ("0", None),
        ("off", None),
        ("50", (50, 20.0)),
    ],
)
def test_parse_rate_limit(text: str, expected) -> None:
    assert parse_rate_limit(text) == expected


def test_parse_rate_limit_error_names_the_flag() -> None:
    with pytest.raises(ConfigurationError, match="--rate-limit"):
        parse_rate_limit("fast")


@contextmanager
def _cli(*args: str) -> Iterator[tuple[subprocess.Popen, dict]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "paragon_nb.cli", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_prints_json_line_serves_concurrently_and_exits_cleanly(isolated_env: Path) -> None:
    # 12 calls at once against --max-concurrency 10: exactly 10 in flight together succeed
    # and 2 are refused with 615, which only happens if the server runs >10 at a time (the
    # 2 s latency keeps the first 10 in flight while the last 2 arrive).
    flags = ("--memory", "--max-concurrency", "10", "--latency", "2000", "--token-ttl", "50")
    with _cli(*flags) as (proc, info):
        assert set(info) == {"endpoint", "identity", "client_id", "client_secret"}
        written = json.loads((isolated_env / "sandbox.json").read_text())
        assert written["endpoint"] == info["endpoint"] and "client_secret" not in written
        with httpx.Client() as http:
            creds = {"grant_type": "client_credentials", "client_id": info["client_id"],
                     "client_secret": info["client_secret"]}  # fmt: skip
            issued = http.get(info["identity"] + "/oauth/token", params=creds).json()
        assert 45 <= issued["expires_in"] <= 49  # --token-ttl 50
        token = issued["access_token"]
        results: list[str] = []
        ready = threading.Barrier(12, timeout=20)

        def call() -> None:
            with httpx.Client(timeout=20) as http:
                ready.wait()  # all 12 send together
                r = http.get(
                    info["endpoint"] + "/v1/leads/describe.json",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                results.append("ok" if r["success"] else r["errors"][0]["code"])

        threads = [threading.Thread(target=call) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert sorted(results) == ["615", "615"] + ["ok"] * 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not (isolated_env / "sandbox.json").exists()


def test_cli_flags_trigger_limits_and_state_persists(isolated_env: Path) -> None:
    state = isolated_env / "cli.sqlite3"
    flags = ("--state", str(state), "--rate-limit", "2/60", "--fault", "describe:seq=615")
    with _cli(*flags, "--client-id", "cid", "--client-secret", "csecret") as (proc, info):
        assert (info["client_id"], info["client_secret"]) == ("cid", "csecret")
        with httpx.Client() as http:
            token = _token(http, info["identity"], "cid", "csecret")
            url, auth = (
                info["endpoint"] + "/v1/leads/describe.json",
                {"Authorization": f"Bearer {token}"},
            )
            codes = [
                http.get(url, headers=auth).json().get("errors", [{}])[0].get("code")
                for _ in range(3)
            ]
        assert codes == ["615", None, "606"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    # the first run counted 2 calls today (615 and ok; the 606 is not counted)
    with _cli("--state", str(state), "--daily-quota", "3", "--token-ttl", "50") as (proc, again):
        assert (again["client_id"], again["client_secret"]) == ("cid", "csecret")
        # same state, no --port: back on the same port, so stored endpoints keep working
        assert again["endpoint"] == info["endpoint"]
        with httpx.Client() as http:
            creds = {
                "grant_type": "client_credentials",
                "client_id": "cid",
                "client_secret": "csecret",
            }
            # the token of the first run is still valid (tokens persist with the state)
            assert (
                http.get(again["identity"] + "/oauth/token", params=creds).json()["access_token"]
                == token
            )
            url = again["endpoint"] + "/v1/leads/describe.json"
            auth = {"Authorization": f"Bearer {token}"}
            codes = [
                http.get(url, headers=auth).json().get("errors", [{}])[0].get("code")
                for _ in range(2)
            ]
        assert codes == [None, "607"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_cli_bad_flag_is_a_usage_error(isolated_env: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "paragon_nb.cli", "sandbox", "--memory", "--fault", "leads:zz"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "fault spec 'leads:zz'" in out.stderr


def test_cli_port_in_use_is_a_plain_error(isolated_env: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "paragon_nb.cli", "sandbox", "--memory", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert out.returncode == 2, out.stderr
    assert f"127.0.0.1:{port}" in out.stderr and "--port" in out.stderr
    assert "Traceback" not in out.stderr


def test_concurrent_writes_over_the_socket_stay_consistent() -> None:
    with MarketoSandbox(rate_limit=None, max_concurrency=None) as sandbox:
        with httpx.Client() as http:
            token = _token(http, sandbox.identity, sandbox.client_id, sandbox.client_secret)
        list_id = sandbox.create_list("Concurrent")["id"]
        auth = {"Authorization": f"Bearer {token}"}

        def worker(n: int) -> None:
            with httpx.Client(timeout=30) as http:
                for round_ in range(3):
                    records = [{"email": f"w{n}-{i}@x.com"} for i in range(50)]
                    records.append({"email": "shared@x.com", "title": f"{n}-{round_}"})
                    res = http.post(
                        sandbox.endpoint + "/v1/leads.json", json={"input": records}, headers=auth
                    ).json()
                    ids = [r["id"] for r in res["result"]]
                    http.post(
                        f"{sandbox.endpoint}/v1/lists/{list_id}/leads.json",
                        json={"input": [{"id": i} for i in ids]},
                        headers=auth,
                    )

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sandbox.lead_count() == 10 * 50 + 1  # the shared email never duplicated
        assert len(sandbox.list_members(list_id)) == 501
        assert sandbox.stats.write_calls == 60
