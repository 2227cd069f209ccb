"""The Marketo side of workflow steps: one :class:`MarketoGateway` per connected credential.

Steps never hold a ``MarketoClient``; they ask the gateway for one record's upsert or one run's
list change and get that run's own answer back. With ``coalesce=True`` (the default) the
gateway batches the calls of concurrent runs, "group commit" style: while a call for a key
(an upsert with a given lookup field, or a change of a given list) is in flight, other runs'
records queue, and the next caller sends every queued record in ONE call (<= 300 records),
then hands each run its own ``RecordResult`` / ``ListMemberResult``. No timer is involved: a
lone run is sent at once, so latency never grows; under load, calls per event drop far below
Marketo's 100 calls / 20 s bound of one call pair per event. A transient failure of a batched
call reaches every run in it, and each retries on its own schedule.

    gateway = MarketoGateway(client)
    gateway.upsert_lead({"email": "a@x.com"}, lookup_field="email", partition=None)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BATCH", "Coalescer", "MarketoCredentials", "MarketoGateway"]

#: Marketo's Lead Database batch size
MAX_BATCH = 300


@dataclass(frozen=True)
class MarketoCredentials:
    """What a user typed into the Connect Portal. The secret never shows in the repr."""

    endpoint: str
    client_id: str
    client_secret: str = field(repr=False)
    identity: str | None = None

    def __repr__(self) -> str:
        return (
            f"MarketoCredentials(endpoint={self.endpoint!r}, client_id={self.client_id!r}, "
            f"client_secret='***', identity={self.identity!r})"
        )


class _Slot:
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


class Coalescer:
    """Group commit: concurrent ``submit(key, item)`` calls share one ``send(key, items)``.

    ``send`` returns one result per item, in order (or raises: every item gets the error).
    ``conflict(a, b)`` keeps two items out of one batch (e.g. the same email twice).
    """

    def __init__(
        self,
        send: Callable[[Hashable, list[Any]], Sequence[Any]],
        *,
        max_batch: int = MAX_BATCH,
        conflict: Callable[[Any, Any], bool] | None = None,
    ) -> None:
        self._send = send
        self._max = max(1, max_batch)
        self._conflict = conflict
        self._cond = threading.Condition()
        self._pending: dict[Hashable, list[_Slot]] = {}
        self._busy: set[Hashable] = set()
        self.calls = 0  # how many sends were made (for tests and benchmarks)

    def submit(self, key: Hashable, item: Any) -> Any:
        slot = _Slot(item)
        with self._cond:
            self._pending.setdefault(key, []).append(slot)
            self._cond.notify_all()  # for wait_pending observers
        while True:
            with self._cond:
                while not slot.done and key in self._busy:
                    self._cond.wait()
                if slot.done:
                    break
                self._busy.add(key)
                batch = self._take(key)
            self._run(key, batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def pending(self, key: Hashable) -> int:
        """Items queued for ``key`` and not yet taken into a batch."""
        with self._cond:
            return len(self._pending.get(key, ()))

    def wait_pending(self, key: Hashable, count: int, timeout: float | None = None) -> bool:
        """Block until at least ``count`` items are queued for ``key`` (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self._pending.get(key, ())) >= count, timeout=timeout
            )

    def _take(self, key: Hashable) -> list[_Slot]:
        queue = self._pending[key]
        batch: list[_Slot] = []
        rest: list[_Slot] = []
        for slot in queue:
            clash = self._conflict is not None and any(
                self._conflict(slot.item, other.item) for other in batch
            )
            if len(batch) < self._max and not clash:
                batch.append(slot)
            else:
                rest.append(slot)
        if rest:
            self._pending[key] = rest
        else:
            del self._pending[key]
        return batch

    def _run(self, key: Hashable, batch: list[_Slot]) -> None:
        try:
            self.calls += 1
            results = list(self._send(key, [s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"expected {len(batch)} results, got {len(results)}")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as exc:
            for slot in batch:
                slot.error = exc
        finally:
            with self._cond:
                for slot in batch:
                    slot.done = True
                self._busy.discard(key)
                self._cond.notify_all()


class MarketoGateway:
    """The Marketo operations workflow steps use, for one credential (thread-safe)."""

    def __init__(self, client: Any, *, coalesce: bool = True) -> None:
        self.client = client
        self.coalesce = coalesce
        self._upserts = Coalescer(self._send_upserts, conflict=_same_lookup)
        self._adds = Coalescer(lambda key, items: self._send_members(key, items, remove=False))
        self._removes = Coalescer(lambda key, items: self._send_members(key, items, remove=True))

    def check(self) -> Any:
        return self.client.check()

    @property
    def batched_calls(self) -> dict[str, int]:
        """Calls sent through the coalescers so far: upserts, list adds, list removes."""
        return {
            "upsert": self._upserts.calls,
            "add_to_list": self._adds.calls,
            "remove_from_list": self._removes.calls,
        }

    # leads ------------------------------------------------------------------------------
    def upsert_lead(
        self, record: Mapping[str, Any], *, lookup_field: str = "email", partition: str | None
    ) -> Any:
        """One record's ``RecordResult`` (its own, even when sent in a shared batch)."""
        if not self.coalesce:
            return self._send_upserts((lookup_field, partition), [(lookup_field, dict(record))])[0]
        return self._upserts.submit((lookup_field, partition), (lookup_field, dict(record)))

    def _send_upserts(self, key: Hashable, items: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        lookup_field, partition = key  # type: ignore[misc]
        kwargs: dict[str, Any] = {"lookup_field": lookup_field}
        if partition is not None:
            kwargs["partition"] = partition
        return list(self.client.sync_leads([record for _, record in items], **kwargs))

    def get_leads(
        self, filter_type: str, values: list[Any], *, fields: list[str] | None
    ) -> list[dict[str, Any]]:
        return list(self.client.get_leads(filter_type, values, fields=fields))

    def get_lead(self, lead_id: int, *, fields: list[str] | None) -> dict[str, Any] | None:
        return self.client.get_lead(lead_id, fields=fields)

    # lists ------------------------------------------------------------------------------
    def add_to_list(self, list_id: int, lead_ids: list[int]) -> list[Any]:
        """One ``ListMemberResult`` per id of this run, in order."""
        if not self.coalesce or len(lead_ids) > MAX_BATCH:
            return list(self.client.add_to_list(list_id, lead_ids))
        return self._adds.submit(list_id, list(lead_ids))

    def remove_from_list(self, list_id: int, lead_ids: list[int]) -> list[Any]:
        if not self.coalesce or len(lead_ids) > MAX_BATCH:
            return list(self.client.remove_from_list(list_id, lead_ids))
        return self._removes.submit(list_id, list(lead_ids))

    def _send_members(
        self, list_id: Hashable, items: list[list[int]], *, remove: bool
    ) -> list[Any]:
        # one call with every distinct id (chunks of 300), then each run gets its ids' answers
        ids = list(dict.fromkeys(i for run_ids in items for i in run_ids))
        op = self.client.remove_from_list if remove else self.client.add_to_list
        answers: dict[int, Any] = {}
        for start in range(0, len(ids), MAX_BATCH):
            for answer in op(list_id, ids[start : start + MAX_BATCH]):
                answers.setdefault(int(answer.id), answer)
        return [[answers[int(i)] for i in run_ids] for run_ids in items]

    def get_list(self, list_id: int) -> Any:
        return self.client.get_list(list_id)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def _same_lookup(a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]]) -> bool:
    field_name = a[0]
    value = a[1].get(field_name)
    return value is not None and value == b[1].get(field_name)
