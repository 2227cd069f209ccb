"""The per-instance dispatcher: grant first, then everything that piled up goes in one call."""

from __future__ import annotations

import threading
from typing import Any

from paragon_nb._clock import FakeClock
from paragon_nb.errors import TransientMarketoError
from paragon_nb.marketo.limits import Limiter, Limits
from paragon_nb.runtime.batcher import InstanceDispatcher
from paragon_nb.runtime.gateway import MarketoGateway
from paragon_nb.runtime.runlog import WorkItem

from .fakes import CLIENT_ID, CLIENT_SECRET, FakeMarketo


class GatedClient:
    """FakeMarketo's client whose first sync_leads waits for a gate; records batch sizes."""

    def __init__(self, limits: Limits, clock: FakeClock) -> None:
        from paragon_nb.runtime.gateway import MarketoCredentials

        self.inner = FakeMarketo().factory(MarketoCredentials("e", CLIENT_ID, CLIENT_SECRET))
        self.limiter = Limiter(limits, clock=clock)
        self.gate, self.entered = threading.Event(), threading.Event()
        self.sizes: list[int] = []
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.fail_next: list[BaseException] = []

    def sync_leads(self, records: list[dict], **kw: Any) -> list[Any]:
        with self.limiter.slot():
            with self.lock:
                self.sizes.append(len(records))
                first = len(self.sizes) == 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                failure = self.fail_next.pop(0) if self.fail_next else None
            try:
                if first:
                    self.entered.set()
                    assert self.gate.wait(5)
                if failure is not None:
                    raise failure
                return self.inner.sync_leads(records, **kw)
            finally:
                with self.lock:
                    self.in_flight -= 1


class Harness:
    def __init__(self, limits: Limits, *, retry_in: float | None = None) -> None:
        self.clock = FakeClock()
        self.client = GatedClient(limits, self.clock)
        self.done = threading.Condition()
        self.answers: dict[str, Any] = {}
        self.marked: list[tuple[str, int]] = []
        self.retry_in = retry_in
        self.dispatcher = InstanceDispatcher(
            MarketoGateway(self.client, instance="i"),
            clock=self.clock,
            on_mark=lambda batch, batch_id: self.marked.append((batch_id, len(batch))),
            on_answer=self.on_answer,
        )
        self.next_id = 0

    def on_answer(
        self, batch: list[WorkItem], batch_id: str, answers: Any, error: Any
    ) -> list[WorkItem]:
        again = []
        with self.done:
            for pos, item in enumerate(batch):
                if error is not None and self.retry_in is not None and item.attempts < 3:
                    item.not_before = self.clock.time() + self.retry_in
                    again.append(item)
                else:
                    self.answers[item.run_id] = error if error is not None else answers[pos]
            self.done.notify_all()
        return again

    def items(self, emails: list[str]) -> list[WorkItem]:
        out = []
        for email in emails:
            self.next_id += 1
            out.append(
                WorkItem(f"r{self.next_id}", "s", "u", "upsert", ("email", None), {"email": email},
                         id=self.next_id)
            )  # fmt: skip
        return out

    def wait_for(self, count: int) -> None:
        with self.done:
            assert self.done.wait_for(lambda: len(self.answers) >= count, timeout=10)

    def close(self) -> None:
        self.client.gate.set()
        self.dispatcher.close()


def test_a_lone_record_goes_at_once_and_what_piles_up_meanwhile_shares_the_next_call() -> None:
    h = Harness(Limits(rate_calls=100, max_concurrency=10))
    try:
        h.dispatcher.add(h.items(["a@x.com"]))
        assert h.client.entered.wait(5)
        h.dispatcher.add(h.items([f"l{i}@x.com" for i in range(7)]))
        h.client.gate.set()
        h.wait_for(8)
        assert h.client.sizes == [1, 7]
        assert all(a.id for a in h.answers.values())
        assert [n for _, n in h.marked] == [1, 7]
        assert h.dispatcher.snapshot().calls == 2 and h.dispatcher.snapshot().records == 8
    finally:
        h.close()


def test_more_than_a_full_batch_waiting_opens_a_second_call_for_the_key() -> None:
    h = Harness(Limits(rate_calls=100, max_concurrency=10))
    try:
        h.dispatcher.add(h.items(["first@x.com"]))
        assert h.client.entered.wait(5)
        h.dispatcher.add(h.items([f"l{i}@x.com" for i in range(700)]))
        h.wait_for(600)  # two full batches went while the first call was still in flight
        h.client.gate.set()
        h.wait_for(701)
        assert sorted(h.client.sizes) == [1, 100, 300, 300]
        assert h.client.max_in_flight >= 2 and max(h.client.sizes) <= 300
    finally:
        h.close()


def test_the_batch_is_taken_only_when_the_limiter_grants_a_call() -> None:
    # one call per 20 s: after the first, the rest wait for the window and go out together
    h = Harness(Limits(rate_calls=1, rate_window=20.0, max_concurrency=1))
    try:
        h.client.gate.set()
        h.dispatcher.add(h.items(["a@x.com"]))
        h.wait_for(1)
        h.dispatcher.add(h.items([f"l{i}@x.com" for i in range(50)]))
        h.wait_for(51)
        assert h.client.sizes == [1, 50]
        assert h.client.limiter.max_calls_in_window == 1
    finally:
        h.close()


def test_the_same_lead_twice_goes_in_order_in_separate_calls() -> None:
    h = Harness(Limits(rate_calls=100, max_concurrency=10))
    try:
        h.client.gate.set()
        h.dispatcher.add(h.items(["same@x.com", "other@x.com", "same@x.com"]))
        h.wait_for(3)
        assert h.client.sizes == [2, 1]
        assert h.answers["r1"].status == "created" and h.answers["r3"].status == "updated"
    finally:
        h.close()


def test_a_failed_batch_is_sent_again_after_the_retry_delay() -> None:
    h = Harness(Limits(rate_calls=100, max_concurrency=10), retry_in=10.0)
    try:
        h.client.gate.set()
        h.client.fail_next.append(TransientMarketoError("bad gateway", code="502"))
        h.dispatcher.add(h.items(["a@x.com", "b@x.com"]))
        h.wait_for(2)
        assert h.client.sizes == [2, 2] and 10.0 in h.clock.sleeps
        assert {a.status for a in h.answers.values()} == {"created"}
    finally:
        h.close()
