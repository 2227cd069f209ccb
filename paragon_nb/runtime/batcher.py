"""One dispatcher per Marketo instance: queued records of many runs go out in shared calls.

Runs waiting for a Marketo write hold no thread: their :class:`~paragon_nb.runtime.runlog.
WorkItem` sits here (and durably in the store) per call key — an upsert's lookup field and
partition, or a list and whether leads are added or removed. The dispatcher thread asks the
instance's limiter for a call FIRST (:meth:`Limiter.grant`) and only then takes a batch, so
everything that piled up while Marketo's window was full leaves together (<= 300 records).
A lone record is sent at once: there is no timer. One call per key is in flight, a second
only when a full batch is waiting (within the limiter's in-flight cap).

Order: a record whose lookup value is already in a batch (or waiting for a retry) stays
back until that one is answered, so two events for one email apply in the order they came.

    dispatcher = InstanceDispatcher(gateway, clock=clock, on_mark=..., on_answer=...)
    dispatcher.add(items)        # after the items are committed to the store
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.runtime.api import InstanceQueue
from paragon_nb.runtime.gateway import MAX_BATCH, MarketoGateway
from paragon_nb.runtime.runlog import WorkItem

__all__ = ["InstanceDispatcher"]

log = logging.getLogger(__name__)

Key = tuple[str, tuple[Any, ...]]
#: (batch, batch id, answers or None, error or None) -> items to queue again (retries)
OnAnswer = Callable[[list[WorkItem], str, list[Any] | None, BaseException | None], list[WorkItem]]


def _lookup_value(item: WorkItem) -> Any:
    if item.op != "upsert":
        return None
    value = item.payload.get(item.call_key[0])
    return str(value).strip().lower() if value is not None else None  # Marketo: case-blind


def _size(item: WorkItem) -> int:
    return 1 if item.op == "upsert" else max(1, len(item.payload))


class InstanceDispatcher:
    """Queues, batches and sends the Marketo writes of every run on one instance."""

    def __init__(
        self,
        gateway: MarketoGateway,
        *,
        clock: Clock,
        on_mark: Callable[[list[WorkItem], str], None],
        on_answer: OnAnswer,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.gateway = gateway
        self._clock = clock
        self._on_mark = on_mark
        self._on_answer = on_answer
        self._max = max(1, min(max_batch, MAX_BATCH))
        self._cond = threading.Condition()
        self._queues: dict[Key, list[WorkItem]] = {}
        self._in_flight: Counter[Key] = Counter()
        self._busy_values: dict[Key, set[Any]] = {}
        self._held: set[int] = set()  # ids of the items queued or in a call here
        self._wake = threading.Event()
        self._closing = threading.Event()
        self.calls = 0
        self.records = 0
        self._senders: set[threading.Thread] = set()
        self._thread = threading.Thread(target=self._loop, name="paragon-nb-dispatch", daemon=True)
        self._thread.start()

    # the queue ------------------------------------------------------------------------------
    def add(self, items: Sequence[WorkItem]) -> None:
        """Queue committed items (kept in id order per key: the order events came in). An item
        already queued or in a call here is not queued twice (a run read again from the store
        after a failed write queues its records again)."""
        with self._cond:
            for item in items:
                if item.id in self._held:
                    continue
                self._held.add(item.id)
                queue = self._queues.setdefault((item.op, item.call_key), [])
                if not queue or queue[-1].id < item.id:
                    queue.append(item)
                else:
                    bisect.insort(queue, item, key=lambda i: i.id)
            self._poke()

    def _poke(self) -> None:
        self._wake.set()
        self._cond.notify_all()

    @property
    def queued(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def snapshot(self) -> InstanceQueue:
        with self._cond:
            queued = sum(len(q) for q in self._queues.values())
            in_flight = sum(self._in_flight.values())
        return InstanceQueue(
            instance=self.gateway.instance,
            queued=queued,
            in_flight_calls=in_flight,
            calls=self.calls,
            records=self.records,
            limiter=repr(self.gateway.limiter),
        )

    # choosing a batch -----------------------------------------------------------------------
    def _select(self, key: Key, now: float, limit: int) -> list[int]:
        """Positions in ``key``'s queue of the records the next call takes (at most
        ``limit`` records; a list change bigger than that goes alone)."""
        queue = self._queues.get(key, [])
        blocked = set(self._busy_values.get(key, ()))
        picked: list[int] = []
        ids: set[int] = set()
        size = 0
        for pos, item in enumerate(queue):
            value = _lookup_value(item)
            if item.not_before > now or (value is not None and value in blocked):
                if value is not None:
                    blocked.add(value)  # later records of that lead wait behind this one
                continue
            grow = 1 if item.op == "upsert" else len(set(item.payload) - ids)
            if picked and size + grow > limit:
                break
            picked.append(pos)
            size += grow
            if value is not None:
                blocked.add(value)
            if item.op != "upsert":
                ids.update(item.payload)
            if size >= limit:
                break
        return picked

    def _next(self, now: float) -> tuple[Key | None, float | None]:
        """The key to send next (oldest first record), else the earliest retry time."""
        best: Key | None = None
        best_id = None
        due: float | None = None
        for key, queue in self._queues.items():
            if not queue:
                continue
            if self._in_flight[key] and len(queue) < self._max:
                continue  # one call per key in flight unless a full batch waits
            if self._select(key, now, 1):
                first = queue[0].id
                if best_id is None or first < best_id:
                    best, best_id = key, first
            else:
                later = [i.not_before for i in queue if i.not_before > now]
                if later:
                    due = min(later) if due is None else min(due, min(later))
        return best, due

    # the dispatcher thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._closing.is_set():
            if not self._wait_for_work():
                return
            try:
                grant = self.gateway.limiter.grant(self._closing)
            except Exception:  # the shared budget's store failed (or closed under us)
                if self._closing.is_set():
                    return
                log.warning("could not draw from the Marketo budget; trying again", exc_info=True)
                self._closing.wait(0.5)  # the store is failing: do not spin on it
                continue
            if grant is None:
                return
            with self._cond:
                now = self._clock.time()
                key, _ = self._next(now)
                batch = self._take(key, now) if key is not None else []
            if not batch:
                grant.release()
                continue
            batch_id = uuid.uuid4().hex[:12]
            try:
                for item in batch:
                    item.attempts += 1
                    item.batch_id = batch_id
                self._on_mark(batch, batch_id)
            except Exception:  # not sent: the items stay queued here (and in the store)
                grant.release()
                for item in batch:
                    item.attempts -= 1
                self._put_back(batch)
                if self._closing.is_set():
                    return
                log.warning("could not record batch %s before sending; trying again",
                            batch_id, exc_info=True)  # fmt: skip
                self._closing.wait(0.5)  # the store is failing: do not spin on it
                continue
            # one daemon thread per call in flight (<= 10, the limiter's cap): a close never
            # waits on a client that is sleeping out a retry
            sender = threading.Thread(
                target=self._send,
                args=(batch, batch_id, grant),
                name="paragon-nb-send",
                daemon=True,
            )
            with self._cond:
                self._senders.add(sender)
            sender.start()

    def _wait_for_work(self) -> bool:
        while True:
            with self._cond:
                if self._closing.is_set():
                    return False
                key, due = self._next(self._clock.time())
                if key is not None:
                    return True
                if due is None:
                    self._wake.clear()
                    self._cond.wait()
                    continue
                self._wake.clear()
                seconds = due - self._clock.time()
            self._clock.wait(max(seconds, 0.0), self._wake)

    def _take(self, key: Key, now: float) -> list[WorkItem]:
        picked = self._select(key, now, self._max)
        queue = self._queues[key]
        batch = [queue[p] for p in picked]
        chosen = set(picked)
        self._queues[key] = [item for p, item in enumerate(queue) if p not in chosen]
        if batch:
            self._in_flight[key] += 1
            busy = self._busy_values.setdefault(key, set())
            busy.update(v for v in map(_lookup_value, batch) if v is not None)
        return batch

    def _put_back(self, batch: list[WorkItem]) -> None:
        key = (batch[0].op, batch[0].call_key)
        with self._cond:
            self._release_key(key, batch)
            self._held.difference_update(i.id for i in batch)
        self.add(batch)

    def _release_key(self, key: Key, batch: list[WorkItem]) -> None:
        self._in_flight[key] -= 1
        busy = self._busy_values.get(key, set())
        busy.difference_update(v for v in map(_lookup_value, batch) if v is not None)

    def _send(self, batch: list[WorkItem], batch_id: str, grant: Any) -> None:
        first = batch[0]
        answers: list[Any] | None = None
        error: BaseException | None = None
        try:
            with grant.use():
                answers = self.gateway.send(first.op, first.call_key, [i.payload for i in batch])
        except Exception as exc:
            error = exc
        self.calls += 1
        self.records += len(batch)
        with self._cond:
            self._held.difference_update(i.id for i in batch)
        again: list[WorkItem] = []
        try:
            again = self._on_answer(batch, batch_id, answers, error)
        except Exception:  # store closed under us: the items stay queued in the store
            log.debug("could not record the answer of batch %s", batch_id, exc_info=True)
        with self._cond:
            self._release_key((first.op, first.call_key), batch)
            for item in again:
                self._held.add(item.id)
                queue = self._queues.setdefault((item.op, item.call_key), [])
                bisect.insort(queue, item, key=lambda i: i.id)
            self._senders.discard(threading.current_thread())
            self._poke()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking batches; calls in flight finish (their answers are recorded)."""
        self._closing.set()
        with self._cond:
            self._poke()
        deadline = time.monotonic() + timeout
        self._thread.join(timeout)
        with self._cond:
            senders = list(self._senders)
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))
