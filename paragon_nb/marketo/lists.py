"""List resources of the client: lead-DB and asset static lists, create (in a folder named
any way ``folders.py`` accepts), membership add/remove/is-member (chunked <= 300) and
members (paged). A mixin over :class:`~paragon_nb.marketo.folders.FoldersMixin`.

    lst = client.get_list_by_name("Newsletter") or client.create_list("Newsletter")
    client.add_to_list(lst.id, lead_ids)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from paragon_nb.errors import MarketoError
from paragon_nb.marketo._base import reasons_of
from paragon_nb.marketo.batching import chunks
from paragon_nb.marketo.folders import FoldersMixin, FolderSpec
from paragon_nb.marketo.models import ListMemberResult, ListMemberStatus, StaticList
from paragon_nb.marketo.paging import OffsetPager

__all__ = ["ListsMixin"]


class ListsMixin(FoldersMixin):
    """Lists, static lists and membership."""

    def iter_lists(
        self, *, ids: Sequence[int] | None = None, names: Sequence[str] | None = None
    ) -> Iterator[StaticList]:
        """Lead-DB lists (``GET /rest/v1/lists.json``), paged."""
        query: dict[str, Any] = {"batchSize": 300}
        if ids:
            query["id"] = ",".join(str(int(i)) for i in ids)
        if names:
            # Comma-joined as documented; a name containing a comma goes as repeated
            # parameters instead. # (U) Marketo's handling of repeated `name` is unverified.
            names = list(names)
            query["name"] = names if any("," in n for n in names) else ",".join(names)
        for item in self._paged("/rest/v1/lists.json", query, what="lists"):
            yield StaticList.model_validate(item)

    def get_lists(self, **kwargs: Any) -> list[StaticList]:
        """Eager :meth:`iter_lists`."""
        return list(self.iter_lists(**kwargs))

    def iter_static_lists(self, *, folder: FolderSpec | None = None) -> Iterator[StaticList]:
        """Asset-API static lists, all or those in ``folder`` (offset paging, 200 a page)."""
        pager = OffsetPager(200)
        ref = self.folder_ref(folder) if folder is not None else None
        base: dict[str, Any] = {"folder": json.dumps(ref) if ref else None}
        while not pager.done:
            envelope = self._call(
                "GET", "/rest/asset/v1/staticLists.json", params={**base, **pager.params()}
            )
            for item in pager.advance(envelope):
                yield StaticList.model_validate(item)

    def get_list(self, list_id: int) -> StaticList | None:
        """A static list by id (asset API), or ``None``."""
        return self._asset_one(StaticList, f"/rest/asset/v1/staticList/{int(list_id)}.json")

    def get_list_by_name(self, name: str) -> StaticList | None:
        """A static list by exact name (asset API), or ``None``."""
        return self._asset_one(
            StaticList, "/rest/asset/v1/staticList/byName.json", params={"name": name}
        )

    def create_list(
        self, name: str, *, folder: FolderSpec | None = None, description: str | None = None
    ) -> StaticList:
        """Create a static list in ``folder``: an id, ``{"id", "type"}``, a ``Folder`` or a
        path like ``"Lead Database/Default/Group Lists/Imports"``; by default the first
        "List" folder found browsing (:meth:`default_list_folder`: Group Lists).

        Marketo takes lists only in "List" folders and programs (711 elsewhere). Creating
        is not idempotent: after an ambiguous failure (timeout, 5xx) the list is looked up
        by name instead of being created twice."""
        target = self.folder_ref(folder) if folder is not None else self.default_list_folder()
        form = {"name": name, "folder": json.dumps(target), "description": description}
        return self._asset_create(
            StaticList, "/rest/asset/v1/staticLists.json", form, what=f"create list {name!r}",
            find_existing=lambda: self.get_list_by_name(name),
        )  # fmt: skip

    def _membership(
        self, method: str, path: str, lead_ids: Sequence[int], what: str
    ) -> list[ListMemberResult]:
        def send(chunk: list[int]) -> list[ListMemberResult]:
            if method == "POST":
                envelope = self._call(
                    "POST", path, json_body={"input": [{"id": i} for i in chunk]}, what=what
                )
            else:
                params = {"id": ",".join(str(i) for i in chunk)}
                envelope = self._call(method, path, params=params, what=what)
            return _member_results(envelope, chunk, what=what)

        per_chunk = self._run_batches(chunks([int(i) for i in lead_ids]), send)
        return [r for chunk in per_chunk for r in chunk]

    def add_to_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        """Add leads (chunks of 300, concurrent); per id ``added`` or ``skipped`` (1004)."""
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        return self._membership("POST", path, lead_ids, f"add to list {list_id}")

    def remove_from_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        """Remove leads; a lead that was not a member (1015) counts as ``removed`` (its
        reason is kept); unknown leads stay ``skipped`` (1004)."""
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        results = self._membership("DELETE", path, lead_ids, f"remove from {list_id}")
        return [
            r.model_copy(update={"status": ListMemberStatus.REMOVED})
            if r.status is ListMemberStatus.SKIPPED and any(x.code == "1015" for x in r.reasons)
            else r
            for r in results
        ]

    def is_member(self, list_id: int, lead_ids: Sequence[int]) -> dict[int, bool]:
        """``{lead id: member?}``; unknown leads map to False."""
        path = f"/rest/v1/lists/{int(list_id)}/leads/ismember.json"
        results = self._membership("GET", path, lead_ids, f"ismember {list_id}")
        return {r.id: r.status is ListMemberStatus.MEMBER for r in results}

    def iter_list_members(
        self, list_id: int, *, fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Leads in a static list, paged by ``nextPageToken``."""
        query = {"fields": ",".join(fields) if fields else None, "batchSize": 300}
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        yield from self._paged(path, query, what=f"members of list {list_id}")

    def list_members(self, list_id: int, **kwargs: Any) -> list[dict[str, Any]]:
        """Eager :meth:`iter_list_members`."""
        return list(self.iter_list_members(list_id, **kwargs))


def _member_results(
    envelope: Mapping[str, Any], ids: Sequence[int], *, what: str
) -> list[ListMemberResult]:
    result = envelope.get("result") or []
    by_id = {int(item["id"]): item for item in result if item.get("id") is not None}
    out = []
    for position, lead_id in enumerate(ids):
        # Match by id (Marketo echoes it on every row); fall back to position. # (U) order
        item = by_id.get(lead_id) or (result[position] if position < len(result) else None)
        if item is None:
            raise MarketoError(
                f"{what}: Marketo returned no result for lead id {lead_id} "
                f"(requestId {envelope.get('requestId')})"
            )
        out.append(ListMemberResult(id=lead_id, status=item["status"], reasons=reasons_of(item)))
    return out
