"""Durability: `paragon-nb serve` is killed with SIGKILL right after a burst of 201s; the
project reopened in-process finishes every accepted event's run, none twice."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cli_process import start_cli

from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.server import MarketoSandbox

from .e2e import EVENT, connect_and_enable, lead, seed_project

pytestmark = pytest.mark.slow

BURST = 30  # events; 2 Marketo calls each stays under the client's 90 calls / 20 s


def _start_server(path: Path | str) -> tuple[subprocess.Popen[str], dict]:
    return start_cli("serve", str(path), "--port", "0")


def _seeded_folder(path: Path | str, sandbox: MarketoSandbox) -> tuple[dict, str, str]:
    """A closed project (folder or PostgreSQL URL) with the seed workflow enabled for user-1
    on a new "Newsletter" list: (the list, user-1's token, the project id)."""
    listing = sandbox.app.create_list("Newsletter")
    seeded = seed_project(path)
    connect_and_enable(
        seeded,
        "user-1",
        endpoint=sandbox.endpoint,
        identity=sandbox.identity,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        list_id=listing["id"],
    )
    token = seeded.token("user-1")
    project_id = seeded.project.id
    seeded.project.close()
    return listing, token, project_id


def test_kill_9_after_201s_loses_no_event_and_runs_none_twice(store: Path | str) -> None:
    """On both stores (``store``): the server process inherits PARAGON_NB_SECRET_KEY."""
    path = store
    # latency keeps runs in flight when the kill lands
    with MarketoSandbox(rate_limit=None, latency=0.1) as sandbox:
        listing, token, project_id = _seeded_folder(path, sandbox)

        proc, info = _start_server(path)
        try:
            assert info["project_id"] == project_id
            url = f"{info['url']}/projects/{project_id}/sdk/events/trigger"
            headers = {"Authorization": f"Bearer {token}"}

            def post(i: int) -> str | None:
                body = {"name": EVENT, "payload": lead(i)}
                response = httpx.post(url, json=body, headers=headers, timeout=30)
                return response.json()["eventId"] if response.status_code == 201 else None

            with ThreadPoolExecutor(6) as pool:
                accepted = [e for e in pool.map(post, range(BURST)) if e is not None]
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        assert len(accepted) == BURST

        interrupted = Project.open(path, resume=False)
        left = interrupted.unfinished_runs  # runs the kill cut short (queued or running)
        interrupted.close()
        # ~0.2 s per run on 5 workers: the burst outpaces them, so the kill lands mid-work
        assert left > 0, "the kill landed after every run finished: nothing was resumed"
        reopened = Project.open(path)
        try:
            assert reopened.wait_idle(timeout=120)
            runs = reopened.runs()
            events = {e.id for e in reopened.events()}
        finally:
            reopened.close()

        assert set(accepted) <= events
        per_event = Counter(runs["event_id"])
        assert all(per_event[e] == 1 for e in accepted), per_event.most_common(3)
        assert len(runs) == len(events) == BURST
        assert set(runs["status"]) == {"succeeded"}, runs["error"].dropna().tolist()[:3]
        emails = Counter(row["email"] for row in sandbox.app.leads())
        assert emails == Counter(f"ada{i}@example.com" for i in range(BURST))
        assert len(sandbox.app.list_members(listing["id"])) == BURST


def _post_until_killed(
    proc: subprocess.Popen[str], url: str, token: str, *, start: int, count: int, kill_at: int
) -> list[str]:
    """Post ``count`` events from 8 threads; SIGKILL the server once ``kill_at`` got 201s.
    Returns the ids of every event answered 201."""
    accepted: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}

    def client(thread: int) -> None:
        with httpx.Client(timeout=30) as http:
            for i in range(start + thread, start + count, 8):
                try:
                    response = http.post(
                        url, json={"name": EVENT, "payload": lead(i)}, headers=headers
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code != 201:
                    continue
                with lock:
                    accepted.append(response.json()["eventId"])
                    if len(accepted) == kill_at:
                        os.kill(proc.pid, signal.SIGKILL)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.communicate(timeout=10)
    return accepted


def test_kill_9_mid_burst_at_random_moments_loses_nothing_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "proj"
    rng = random.Random(9)
    rounds, per_round = 3, 240
    # Marketo's real limits; latency keeps batches in flight when the kill lands
    with MarketoSandbox(latency=0.05) as sandbox:
        listing, token, project_id = _seeded_folder(path, sandbox)
        accepted: list[str] = []
        cut_short: list[int] = []
        for n in range(rounds):
            kill_at = rng.randrange(10, per_round - 10)
            proc, info = _start_server(path)
            url = f"{info['url']}/projects/{project_id}/sdk/events/trigger"
            got = _post_until_killed(
                proc, url, token, start=n * per_round, count=per_round, kill_at=kill_at
            )
            assert proc.returncode == -signal.SIGKILL
            assert len(got) >= kill_at, (n, kill_at, len(got))
            accepted += got
            with Project.open(path, resume=False) as interrupted:
                cut_short.append(interrupted.unfinished_runs)
            with Project.open(path) as reopened:  # resumes what the kill cut short
                assert reopened.wait_idle(timeout=120)
                runs = reopened.runs()
                events = {e.id for e in reopened.events()}
            assert set(accepted) <= events
            per_event = Counter(runs["event_id"])
            assert set(per_event) == events and set(per_event.values()) == {1}
            assert set(runs["status"]) == {"succeeded"}, runs["error"].dropna().tolist()[:3]
            emails = Counter(row["email"] for row in sandbox.app.leads())
            assert len(emails) == len(events) and set(emails.values()) == {1}
            assert len(sandbox.app.list_members(listing["id"])) == len(events)
        assert sum(cut_short) > 0, "every kill landed after all runs finished"
        stats = sandbox.app.stats
        assert stats.max_calls_in_window <= 100 and stats.max_in_flight <= 10
        assert not {"606", "615"} & set(stats.errors_by_code)


def test_serve_cli_exits_0_on_sigterm(tmp_path: Path) -> None:
    seeded = seed_project(tmp_path / "proj")
    seeded.project.close()
    proc, info = _start_server(tmp_path / "proj")
    try:
        me = httpx.get(
            f"{info['url']}/projects/{info['project_id']}/sdk/me",
            headers={"Authorization": f"Bearer {seeded.token('u')}"},
            timeout=10,
        )
        assert me.status_code == 200 and me.json()["userId"] == "u"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_serve_cli_reports_missing_project(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paragon_nb.cli", "serve", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no project in" in result.stderr


def test_serve_cli_port_in_use_is_a_plain_error(tmp_path: Path) -> None:
    Project.create("Busy", path=tmp_path / "busy").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "paragon_nb.cli", "serve", str(tmp_path / "busy")]
        cmd += ["--port", str(port)]
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
