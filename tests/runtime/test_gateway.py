"""Group-commit coalescing of Marketo calls across concurrent runs."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from paragon_nb.errors import TransientMarketoError
from paragon_nb.runtime.gateway import Coalescer, MarketoCredentials, MarketoGateway

from .fakes import CLIENT_ID, CLIENT_SECRET, FakeMarketo


def run_threads(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n

    def work(i: int) -> None:
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return [threads, results]


def test_calls_queued_behind_one_in_flight_share_the_next_call() -> None:
    gate, entered, batches = threading.Event(), threading.Event(), []

    def send(key: str, items: list[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            entered.set()
            assert gate.wait(5)
        return [i * 10 for i in items]

    c = Coalescer(send)
    first = run_threads(1, lambda i: c.submit("k", 0))
    assert entered.wait(5)
    rest = run_threads(9, lambda i: c.submit("k", i + 1))
    assert c.wait_pending("k", 9, timeout=5)
    gate.set()
    for t in first[0] + rest[0]:
        t.join(5)
    assert first[1] == [0] and rest[1] == [10 * (i + 1) for i in range(9)]
    assert len(batches) == 2 and sorted(batches[1]) == list(range(1, 10))
    assert c.calls == 2


def test_conflicting_items_and_the_batch_cap_split_batches() -> None:
    batches: list[list[str]] = []
    gate, entered = threading.Event(), threading.Event()

    def send(key: str, items: list[str]) -> list[str]:
        batches.append(list(items))
        if len(batches) == 1:
            entered.set()
            gate.wait(5)
        return items

    c = Coalescer(send, max_batch=3, conflict=lambda a, b: a == b)
    first = run_threads(1, lambda i: c.submit("k", "x"))
    assert entered.wait(5)
    rest = run_threads(5, lambda i: c.submit("k", ["a", "a", "b", "c", "d"][i]))
    assert c.wait_pending("k", 5, timeout=5)
    gate.set()
    for t in first[0] + rest[0]:
        t.join(5)
    assert all(len(b) <= 3 and len(set(b)) == len(b) for b in batches)
    assert sorted(x for b in batches[1:] for x in b) == ["a", "a", "b", "c", "d"]


def test_a_failed_batch_fails_every_caller_in_it() -> None:
    def send(key: str, items: list[int]) -> list[int]:
        raise TransientMarketoError("bad gateway", code="502")

    c = Coalescer(send)
    with pytest.raises(TransientMarketoError, match="502"):
        c.submit("k", 1)


class BlockingClient:
    """FakeMarketo's client whose first sync_leads / add_to_list waits for a gate."""

    def __init__(self, marketo: FakeMarketo) -> None:
        self.inner = marketo.factory(MarketoCredentials("e", CLIENT_ID, CLIENT_SECRET))
        self.gate, self.entered = threading.Event(), threading.Event()
        self.sizes: dict[str, list[int]] = {"sync_leads": [], "add_to_list": []}

    def _hold(self, method: str, size: int) -> None:
        self.sizes[method].append(size)
        if len(self.sizes[method]) == 1:
            self.entered.set()
            assert self.gate.wait(5)

    def sync_leads(self, records: list[dict], **kw: Any) -> list[Any]:
        self._hold("sync_leads", len(records))
        return self.inner.sync_leads(records, **kw)

    def add_to_list(self, list_id: int, ids: list[int]) -> list[Any]:
        self._hold("add_to_list", len(ids))
        return self.inner.add_to_list(list_id, ids)


def test_gateway_batches_upserts_and_list_adds_per_run() -> None:
    marketo = FakeMarketo()
    client = BlockingClient(marketo)
    gateway = MarketoGateway(client)

    def upsert(i: int) -> Any:
        return gateway.upsert_lead({"email": f"l{i}@x.com"}, lookup_field="email", partition=None)

    first = run_threads(1, upsert)
    assert client.entered.wait(5)
    rest = run_threads(7, lambda i: upsert(i + 1))
    assert gateway._upserts.wait_pending(("email", None), 7, timeout=5)
    client.gate.set()
    for t in first[0] + rest[0]:
        t.join(5)
    results = first[1] + rest[1]
    assert client.sizes["sync_leads"] == [1, 7]
    assert [marketo.leads[r.id]["email"] for r in results] == [f"l{i}@x.com" for i in range(8)]
    # list adds: each run gets the answers for its own ids
    ids = [r.id for r in results]
    answers = gateway.add_to_list(1001, [ids[0], 999])
    assert [(a.id, a.status) for a in answers] == [(ids[0], "added"), (999, "skipped")]
    assert gateway.batched_calls["upsert"] == 2


def test_coalescing_can_be_turned_off() -> None:
    marketo = FakeMarketo()
    client = marketo.factory(MarketoCredentials("e", CLIENT_ID, CLIENT_SECRET))
    gateway = MarketoGateway(client, coalesce=False)
    result = gateway.upsert_lead({"email": "a@x.com"}, lookup_field="email", partition=None)
    assert result.id == 1 and gateway.batched_calls["upsert"] == 0
