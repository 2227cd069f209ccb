"""One Marketo budget per instance across processes (issue 11, runtime.budget): two
"processes" (two stores and holders on one project file) sending as hard as they can never
take the sandbox past 100 calls / 20 s or 10 in flight; a killed process's calls stop counting
when their lease runs out; two instances do not wait for each other. FakeClock throughout:
the sandbox counts on the same clock."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import QuotaExceeded
from paragon_nb.marketo.limits import Limits
from paragon_nb.runtime.budget import WINDOW_SLACK, StoreBudget
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import SandboxApp

from .conftest import LEAD_EXAMPLE, SEED_SPEC, open_store

#: Marketo's own limits: a budget that is not shared would go past them at once
EDGE = Limits(rate_calls=100, rate_window=20.0, max_concurrency=10)
INSTANCE = "http://sandbox.local/rest#client"


def _budget(path: Path | str, clock: FakeClock, holder: str, *, lease: float = 30) -> StoreBudget:
    store = open_store(path)
    return StoreBudget(store, clock=clock, holder=holder, lease_seconds=lease)


@pytest.fixture
def folder(store: Path | str) -> Path | str:
    """A project's folder or PostgreSQL URL (``store``: the shared budget on both)."""
    Project.create("Demo", path=store).close()
    return store


def test_two_processes_share_one_window_and_one_in_flight_cap(
    folder: Path, clock: FakeClock
) -> None:
    app = SandboxApp(clock=clock)  # 100 calls / 20 s, 10 in flight, like Marketo
    # nothing renews leases here (no engine heartbeat): a lease longer than the test
    budgets = [_budget(folder, clock, f"localhost:{n}:p", lease=3600) for n in (1, 2)]
    clients = []
    for budget in budgets:
        client = app.client(clock=clock, limits=EDGE)
        budget.share(client, INSTANCE)
        clients.append(client)
    client_of = dict(enumerate(clients * 8))  # 16 sender threads, 8 per "process"

    def send(n: int) -> None:
        client = client_of[n % 16]
        for i in range(20):
            client.sync_leads([{"email": f"t{n}-{i}@example.com"}])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, range(16)))

    stats = app.stats
    assert stats.counted_calls >= 320  # 16 x 20 syncs (+ token calls are not counted)
    assert stats.max_calls_in_window <= 100
    assert stats.max_in_flight <= 10
    assert not {"606", "615"} & set(stats.errors_by_code), stats.errors_by_code
    assert max(b.limiter(INSTANCE, EDGE).max_calls_in_window for b in budgets) == 100
    for client in clients:
        client.close()


def test_without_the_shared_budget_the_same_load_would_overrun_marketo(
    clock: FakeClock,
) -> None:
    """The control for the test above: two clients with their own limiters at the edge."""
    app = SandboxApp(clock=clock)
    clients = [app.client(clock=clock, limits=EDGE) for _ in range(2)]
    for i in range(100):
        for client in clients:
            try:
                client.sync_leads([{"email": f"c{i}@example.com"}])
            except Exception:
                pass
    assert app.stats.errors_by_code.get("606", 0) > 0
    for client in clients:
        client.close()


def test_a_killed_process_slots_expire_with_their_lease(folder: Path, clock: FakeClock) -> None:
    dead = _budget(folder, clock, "other-host:1:dead").limiter(INSTANCE, EDGE)
    grants = [dead.grant() for _ in range(10)]  # all 10 in flight, then the process dies
    assert all(grants)
    alive = _budget(folder, clock, "other-host:2:alive").limiter(INSTANCE, EDGE)
    cancel = threading.Event()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(alive.grant(cancel)))
    waiter.start()
    waiter.join(0.3)  # polling the store: no place while 10 are leased in flight
    assert waiter.is_alive() and not got
    clock.advance(31)  # the dead process stopped renewing 31 s ago
    waiter.join(10)
    assert got and got[0] is not None
    cancel.set()


def test_a_retry_inside_a_grant_takes_a_window_place_counted_from_its_completion(
    folder: Path, clock: FakeClock
) -> None:
    """A retry takes a new window place, not a new in-flight place. Marketo counts a call
    when it arrives: a retry that took 5 s still counts 19 s after it ended, as the grant's
    own call does (both are re-stamped with their completion time)."""
    limiter = _budget(folder, clock, "h:1:a").limiter(INSTANCE, EDGE)
    grant = limiter.grant()
    assert grant is not None
    with grant.use():
        with limiter.slot():
            pass
        with limiter.slot():  # the client retried; the retry's request takes 5 s
            assert limiter.in_flight == 1
            clock.advance(5)
    assert limiter.calls_in_window() == 2
    assert limiter.in_flight == 0
    clock.advance(19)  # 24 s after both started, 19 s after they ended
    assert limiter.calls_in_window() == 2


def test_a_finished_call_frees_its_place_only_past_the_window_edge(
    folder: Path, clock: FakeClock
) -> None:
    """At the window's exact edge the budget (wall time, ~1.7e9 s) and Marketo (its own
    clock) may round differently; the place frees WINDOW_SLACK later, never at the edge."""
    limits = Limits(rate_calls=2, rate_window=20.0, max_concurrency=10)
    limiter = _budget(folder, clock, "h:1:a").limiter(INSTANCE, limits)
    ended = clock.time()
    for _ in range(2):
        with limiter.slot():
            pass
    clock.advance(20)  # the exact edge: still counted
    assert limiter.calls_in_window() == 2
    grant = limiter.grant()  # waits (on the FakeClock) past the edge
    assert grant is not None and clock.time() >= ended + 20 + WINDOW_SLACK
    grant.release()


def test_the_daily_budget_is_shared(folder: Path, clock: FakeClock) -> None:
    limits = Limits(rate_calls=100, rate_window=20.0, max_concurrency=10, daily_budget=3)
    a = _budget(folder, clock, "h:1:a").limiter(INSTANCE, limits)
    b = _budget(folder, clock, "h:2:b").limiter(INSTANCE, limits)
    for limiter in (a, b, a):
        with limiter.slot():
            pass
    assert b.calls_today == 3
    with pytest.raises(QuotaExceeded, match="daily budget of 3"), b.slot():
        pass


def test_a_pause_after_606_holds_back_every_process(folder: Path, clock: FakeClock) -> None:
    a = _budget(folder, clock, "h:1:a").limiter(INSTANCE, EDGE)
    b = _budget(folder, clock, "h:2:b").limiter(INSTANCE, EDGE)
    a.pause(20)
    start = clock.time()
    grant = b.grant()
    assert grant is not None and clock.time() - start >= 20
    grant.release()


def test_two_marketo_instances_progress_in_parallel(tmp_path: Path, clock: FakeClock) -> None:
    """Two users on two sandboxes: one instance with every in-flight place taken does not
    hold the other back."""
    apps = {"user-a": SandboxApp(clock=clock), "user-b": SandboxApp(clock=clock)}
    by_id = {app.client_id: app for app in apps.values()}

    def factory(creds: Any) -> Any:
        return by_id[creds.client_id].client(clock=clock)

    project = Project.create("Two", path=tmp_path / "two", clock=clock, client_factory=factory)
    try:
        project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
        project.add_workflow(SEED_SPEC)
        project.deploy("Sync new leads to Marketo")
        for sub, app in apps.items():
            project.connect_user(
                sub, "marketo", endpoint=app.client().endpoint, client_id=app.client_id,
                client_secret=app.client_secret, identity=app.client().identity,
            )  # fmt: skip
            list_id = app.create_list("Newsletter")["id"]
            project.set_workflow_settings(
                sub, "Sync new leads to Marketo", {"marketo_list": list_id}
            )
            project.enable_workflow(sub, "Sync new leads to Marketo")
        # another machine holds every in-flight place of instance A (leases still valid)
        instance_a = project._users.gateway_for("user-a").instance
        other = _budget(tmp_path / "two", clock, "other-host:1:busy")
        held = [other.limiter(instance_a, Limits()).grant() for _ in range(8)]
        assert all(held)
        for i in range(10):
            for sub in apps:
                project.trigger_event(
                    sub, "Lead Created", {**LEAD_EXAMPLE, "email": f"{sub}{i}@x.com"}
                )
        deadline = time.monotonic() + 30
        done = threading.Event()
        while not done.wait(0.02) and time.monotonic() < deadline:
            runs = project.runs()
            b = runs[runs["user"] == "user-b"]
            if set(b["status"]) == {"succeeded"}:
                done.set()
        assert done.is_set(), "instance B waited for instance A"
        a = runs[runs["user"] == "user-a"]
        assert set(a["status"]) <= {"queued", "running"}
        assert len(apps["user-b"].leads()) == 10 and apps["user-a"].leads() == []
        clock.advance(31)  # the other machine's leases run out: A proceeds
        assert project.wait_idle(30)
        assert set(project.runs()["status"]) == {"succeeded"}
        assert len(apps["user-a"].leads()) == 10
    finally:
        project.close()
