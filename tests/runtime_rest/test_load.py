"""Load (bounded, loopback only): client threads post events concurrently; every 201 event
is persisted and its run recorded and finished."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from paragon_nb.marketo.limits import Limits
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

from .e2e import EVENT, connect_and_enable, in_process_factory, lead, seed_project

pytestmark = pytest.mark.slow

THREADS = 8
PER_THREAD = 25
USERS = 4


def test_concurrent_clients_lose_no_event(store: Path | str) -> None:
    sandbox = SandboxApp(rate_limit=None, max_concurrency=None)
    # the client's own limiter would pace at 90 calls / 20 s; this test is about the REST side
    factory = in_process_factory(
        sandbox.transport(), limits=Limits(rate_calls=100_000, rate_window=1.0)
    )
    seeded = seed_project(store, client_factory=factory)
    listing = sandbox.create_list("Newsletter")
    subs = [f"user-{u}" for u in range(USERS)]
    for sub in subs:
        connect_and_enable(
            seeded,
            sub,
            endpoint=f"{LOCAL_ORIGIN}/rest",
            identity=f"{LOCAL_ORIGIN}/identity",
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            list_id=listing["id"],
        )
    tokens = {sub: seeded.token(sub) for sub in subs}
    project = seeded.project
    try:
        with project.serve() as handle:
            url = f"{handle.project_url}/sdk/events/trigger"

            def client(thread: int) -> list[tuple[str, str]]:
                sub = subs[thread % USERS]
                headers = {"Authorization": f"Bearer {tokens[sub]}"}
                accepted = []
                with httpx.Client(timeout=30) as http:
                    for n in range(PER_THREAD):
                        body = {"name": EVENT, "payload": lead(f"{thread}-{n}")}
                        response = http.post(url, json=body, headers=headers)
                        assert response.status_code == 201, response.text
                        accepted.append((response.json()["eventId"], sub))
                return accepted

            with ThreadPoolExecutor(THREADS) as pool:
                accepted = [item for chunk in pool.map(client, range(THREADS)) for item in chunk]

        assert project.wait_idle(timeout=120)
        total = THREADS * PER_THREAD
        assert len(accepted) == total
        stored = {e.id: e.user for e in project.events()}
        assert all(stored.get(event_id) == sub for event_id, sub in accepted)
        runs = project.runs()
        assert Counter(runs["event_id"]) == Counter(event_id for event_id, _ in accepted)
        assert set(runs["status"]) == {"succeeded"}, runs["error"].dropna().tolist()[:3]
        assert len(sandbox.list_members(listing["id"])) == total
    finally:
        project.close()
