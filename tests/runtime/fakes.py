"""An in-memory Marketo shaped like MarketoClient's contract (the methods the runtime uses),
with scripted faults. The sandbox-backed tests cover the real client; these keep the engine
tests fast and let them inject any failure at any call."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from paragon_nb.errors import MarketoAuthError
from paragon_nb.marketo.limits import Limiter, Limits
from paragon_nb.marketo.models import (
    ListMemberResult,
    ListMemberStatus,
    Reason,
    RecordResult,
    RecordStatus,
    StaticList,
)
from paragon_nb.runtime.steps import MarketoCredentials

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-4f9a"


class FakeMarketo:
    """One Marketo instance: leads, static lists, and a fault script per method."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.leads: dict[int, dict[str, Any]] = {}
        self.lists: dict[int, StaticList] = {}
        self.members: dict[int, set[int]] = {}
        self.faults: dict[str, list[BaseException]] = {}
        self.calls: list[str] = []
        self._next_lead = 1
        self.create_list("Newsletter", list_id=1001)

    def create_list(self, name: str, *, list_id: int) -> StaticList:
        self.lists[list_id] = StaticList(id=list_id, name=name)
        self.members[list_id] = set()
        return self.lists[list_id]

    def fail(self, method: str, *errors: BaseException) -> None:
        """The next ``len(errors)`` calls of ``method`` raise these, in order."""
        self.faults.setdefault(method, []).extend(errors)

    def _call(self, method: str) -> None:
        with self.lock:
            self.calls.append(method)
            script = self.faults.get(method)
            if script:
                raise script.pop(0)

    def factory(self, creds: MarketoCredentials) -> FakeClient:
        return FakeClient(self, creds)


class FakeClient:
    def __init__(self, marketo: FakeMarketo, creds: MarketoCredentials) -> None:
        self.m = marketo
        self.creds = creds
        self.closed = False
        # the real client's limiter type, far above anything these tests send
        self.limiter = Limiter(Limits(rate_calls=1_000_000, rate_window=1.0, max_concurrency=10))

    def check(self) -> list[Any]:
        self.m._call("check")
        if self.creds.client_secret != CLIENT_SECRET or self.creds.client_id != CLIENT_ID:
            raise MarketoAuthError("identity answered 401: bad client id or secret", code="401")
        return []

    def sync_leads(
        self, records: Sequence[Mapping[str, Any]], *, lookup_field: str = "email", **_: Any
    ) -> list[RecordResult]:
        self.m._call("sync_leads")
        out = []
        with self.m.lock:
            for record in records:
                key = record.get(lookup_field)
                if not key:
                    out.append(
                        RecordResult(
                            status=RecordStatus.SKIPPED,
                            reasons=(Reason(code="1003", message=f"{lookup_field} is empty"),),
                        )
                    )
                    continue
                found = next(
                    (i for i, lead in self.m.leads.items() if lead.get(lookup_field) == key), None
                )
                if found is None:
                    found = self.m._next_lead
                    self.m._next_lead += 1
                    self.m.leads[found] = {"id": found, **record}
                    out.append(RecordResult(status=RecordStatus.CREATED, id=found))
                else:
                    self.m.leads[found].update(record)
                    out.append(RecordResult(status=RecordStatus.UPDATED, id=found))
        return out

    def _member_change(self, list_id: int, ids: Sequence[int], *, add: bool) -> list[Any]:
        out = []
        with self.m.lock:
            members = self.m.members[list_id]
            for lead_id in ids:
                if lead_id not in self.m.leads:
                    out.append(
                        ListMemberResult(
                            id=lead_id,
                            status=ListMemberStatus.SKIPPED,
                            reasons=(Reason(code="1004", message="Lead not found"),),
                        )
                    )
                elif add:
                    members.add(lead_id)
                    out.append(ListMemberResult(id=lead_id, status=ListMemberStatus.ADDED))
                else:
                    members.discard(lead_id)
                    out.append(ListMemberResult(id=lead_id, status=ListMemberStatus.REMOVED))
        return out

    def add_to_list(self, list_id: int, lead_ids: Sequence[int]) -> list[Any]:
        self.m._call("add_to_list")
        return self._member_change(list_id, lead_ids, add=True)

    def remove_from_list(self, list_id: int, lead_ids: Sequence[int]) -> list[Any]:
        self.m._call("remove_from_list")
        return self._member_change(list_id, lead_ids, add=False)

    def get_leads(self, filter_type: str, values: Sequence[Any], **_: Any) -> list[dict]:
        self.m._call("get_leads")
        return [dict(v) for v in self.m.leads.values() if v.get(filter_type) in values]

    def get_lead(self, lead_id: int, **_: Any) -> dict | None:
        self.m._call("get_lead")
        lead = self.m.leads.get(lead_id)
        return dict(lead) if lead else None

    def get_list(self, list_id: int) -> StaticList | None:
        self.m._call("get_list")
        return self.m.lists.get(list_id)

    def get_lists(self, **_: Any) -> list[StaticList]:
        return list(self.m.lists.values())

    def iter_static_lists(self, **_: Any) -> Any:
        yield from self.m.lists.values()

    def close(self) -> None:
        self.closed = True
