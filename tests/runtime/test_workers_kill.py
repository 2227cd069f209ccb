"""The multi-process kill test (issue 11): ``paragon-nb serve --workers 0`` accepts a burst of
events over HTTP while three ``paragon-nb worker`` processes run them against a sandbox that
enforces Marketo's real limits (100 calls / 20 s, 10 in flight); one worker is SIGKILLed while
it holds runs. Every accepted event ends with exactly one succeeded run, every lead is in the
list once, and the sandbox never answered 606 or 615: the three workers shared one budget.

Waiting on the processes is deadline-bounded polling of the store (short Event waits); no
fixed sleep is an assertion."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
from cli_process import start_cli
from runtime_rest.e2e import EVENT, connect_and_enable, lead, seed_project

from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.server import MarketoSandbox

pytestmark = pytest.mark.slow

BURST = 600
POSTERS = 8
LEASE = "5"  # seconds: a killed worker's leases on another machine would expire this fast


def _until(check: Callable[[], bool], *, within: float, what: str) -> None:
    """Poll ``check`` every 20 ms until it holds (deadline ``within`` real seconds)."""
    deadline = time.monotonic() + within
    tick = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f} s waiting for {what}")
        tick.wait(0.02)


class Store:
    """Looks at the project's database from the test process, through a project that only
    reads (it accepts nothing and runs nothing), so a folder and a URL read alike."""

    def __init__(self, location: Path | str) -> None:
        self.project = Project.open(location, resume=False, execute_runs=False)

    def value(self, sql: str, *args: Any) -> Any:
        row = self.project._store.one(sql, *args)
        return None if row is None else row["v"]

    def rows(self, sql: str, *args: Any) -> list[Any]:
        return self.project._store.all(sql, *args)

    def succeeded(self) -> int:
        return int(self.value("SELECT COUNT(*) AS v FROM runs WHERE status = 'succeeded'"))

    def close(self) -> None:
        self.project.close()


@dataclass
class Deployment:
    """A seeded project (one user, one list) on a sandbox, a ``serve`` process accepting its
    events over HTTP and any ``worker`` processes; each process's stderr goes to a file."""

    sandbox: MarketoSandbox
    list_id: int
    token: str
    project_id: str
    serve: subprocess.Popen[str]
    workers: list[subprocess.Popen[str]]
    store: Store
    trigger_url: str
    logs: dict[int, TextIO]

    def stderr(self, proc: subprocess.Popen[str]) -> str:
        log = self.logs[proc.pid]
        log.flush()
        log.seek(0)
        return log.read()

    def stop(self, procs: list[subprocess.Popen[str]]) -> None:
        """SIGTERM ``procs``; each exits 0 within 60 s (its stderr in the message if not)."""
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
            assert proc.returncode == 0, self.stderr(proc)[-4000:]


@pytest.fixture
def deploy(store: Path | str, tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    """``deploy(serve_workers=N, workers=M, latency=S)`` starts a :class:`Deployment` on the
    ``store`` fixture's location (a folder and a PostgreSQL URL). At teardown, processes
    still running are killed and every process's stderr is printed (pytest shows it when the
    test failed)."""
    stack = ExitStack()
    procs: list[subprocess.Popen[str]] = []
    logs: dict[int, TextIO] = {}

    def launch(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
        log = stack.enter_context((tmp_path / f"stderr-{len(logs)}.log").open("w+"))
        proc, hello = start_cli(*args, stderr=log)
        procs.append(proc)
        logs[proc.pid] = log
        return proc, hello

    def start(*, serve_workers: int, workers: int = 0, latency: float = 0.0) -> Deployment:
        sandbox = stack.enter_context(MarketoSandbox(latency=latency))
        listing = sandbox.app.create_list("Newsletter")
        seeded = seed_project(store)
        connect_and_enable(
            seeded, "user-1", endpoint=sandbox.endpoint, identity=sandbox.identity,
            client_id=sandbox.client_id, client_secret=sandbox.client_secret,
            list_id=listing["id"],
        )  # fmt: skip
        token, project_id = seeded.token("user-1"), seeded.project.id
        seeded.project.close()
        serve, info = launch("serve", str(store), "--port", "0", "--workers", str(serve_workers))
        started = []
        for _ in range(workers):
            proc, hello = launch("worker", str(store), "--lease-seconds", LEASE)
            assert hello["project_id"] == project_id
            started.append(proc)
        reader = Store(store)
        stack.callback(reader.close)
        return Deployment(
            sandbox, listing["id"], token, project_id, serve, started, reader,
            f"{info['url']}/projects/{project_id}/sdk/events/trigger", logs,
        )  # fmt: skip

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # closes its stdout pipe
    for proc in procs:
        log = logs[proc.pid]
        log.seek(0)
        print(f"--- paragon-nb pid {proc.pid} exited {proc.returncode}; stderr:\n{log.read()}")
    stack.close()


def test_three_workers_one_killed_nothing_lost_nothing_doubled_no_606_615(
    deploy: Callable[..., Deployment],
) -> None:
    # Marketo's real limits; latency keeps batches in flight when the kill lands
    d = deploy(serve_workers=0, workers=3, latency=0.05)
    sandbox, store, workers = d.sandbox, d.store, d.workers
    victim = workers[0]
    accepted: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    held_at_kill: list[str] = []
    kill_at: list[float] = []

    def victim_holds() -> list[str]:
        return [
            r["id"]
            for r in store.rows(
                "SELECT id FROM runs WHERE owner LIKE ? AND status IN ('queued', 'running')",
                f"%:{victim.pid}:%",
            )
        ]

    def killer() -> None:
        # once the victim holds runs and some have finished: SIGKILL, mid-burst
        deadline = time.monotonic() + 60
        tick = threading.Event()
        while time.monotonic() < deadline:
            held = victim_holds()
            if held and store.succeeded():
                os.kill(victim.pid, signal.SIGKILL)
                kill_at.append(time.time())
                held_at_kill.extend(held)
                killed.set()
                return
            tick.wait(0.005)

    def poster(n: int) -> None:
        headers = {"Authorization": f"Bearer {d.token}"}
        with httpx.Client(timeout=30) as http:
            for i in range(n, BURST, POSTERS):
                body = {"name": EVENT, "payload": lead(i)}
                response = http.post(d.trigger_url, json=body, headers=headers)
                assert response.status_code == 201, response.text
                with lock:
                    accepted.append(response.json()["eventId"])

    threads = [threading.Thread(target=killer)]
    threads += [threading.Thread(target=poster, args=(n,)) for n in range(POSTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert killed.is_set(), "the victim never held runs while others finished"
    victim.wait(10)
    assert victim.returncode == -signal.SIGKILL
    assert held_at_kill
    assert len(accepted) == BURST

    def all_finished() -> bool:
        return not store.value(
            "SELECT COUNT(*) AS v FROM runs WHERE status IN ('queued', 'running')"
        )

    _until(all_finished, within=240, what="every run to finish after the kill")

    runs = store.rows("SELECT id, event_id, status, owner, error, ended FROM runs")
    per_event = Counter(r["event_id"] for r in runs)
    assert set(accepted) == set(per_event) and set(per_event.values()) == {1}
    assert {r["status"] for r in runs} == {"succeeded"}, [r["error"] for r in runs][:3]
    by_victim = [r for r in runs if f":{victim.pid}:" in (r["owner"] or "")]
    assert all(r["ended"] <= kill_at[0] for r in by_victim)  # none after its death
    finished_by = {r["id"]: r["owner"] for r in runs}
    taken_over = [r for r in held_at_kill if f":{victim.pid}:" not in finished_by[r]]
    assert taken_over  # what it held when it died, the others finished
    emails = Counter(row["email"] for row in sandbox.app.leads())
    assert emails == Counter(f"ada{i}@example.com" for i in range(BURST))
    assert len(sandbox.app.list_members(d.list_id)) == BURST
    stats = sandbox.app.stats
    assert not {"606", "615"} & set(stats.errors_by_code), stats.errors_by_code
    assert stats.max_calls_in_window <= 100 and stats.max_in_flight <= 10

    # SIGTERM: the survivors stop cleanly and hold nothing
    d.stop([*workers[1:], d.serve])
    assert not store.value(
        "SELECT COUNT(*) AS v FROM runs WHERE owner IS NOT NULL AND status IN ('queued', 'running')"
    )


def test_serve_with_workers_starts_them_runs_the_events_and_stops_them(
    deploy: Callable[..., Deployment],
) -> None:
    d = deploy(serve_workers=2)
    with httpx.Client(timeout=30) as http:
        for i in range(20):
            body = {"name": EVENT, "payload": lead(i)}
            answer = http.post(
                d.trigger_url, json=body, headers={"Authorization": f"Bearer {d.token}"}
            )
            assert answer.status_code == 201
    _until(lambda: d.store.succeeded() == 20, within=60, what="the workers to run the 20 events")
    owners = {r["owner"] for r in d.store.rows("SELECT DISTINCT owner FROM runs")}
    pids = {int(owner.split(":")[1]) for owner in owners}
    assert d.serve.pid not in pids  # the server only accepted; its workers ran them
    d.stop([d.serve])
    for pid in pids:  # the workers stopped with it
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert len(d.sandbox.app.list_members(d.list_id)) == 20
