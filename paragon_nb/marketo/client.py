"""MarketoClient: the one way paragon_nb talks to Marketo (real or the local sandbox).

CONTRACT STUB — the signatures below are fixed (sync/, runtime/ and widgets code against
them); the bodies are being implemented. Keep names and return types; add keyword
arguments freely.

    client = MarketoClient("https://123-ABC-456.mktorest.com/rest", "id", "secret")
    results = client.sync_leads([{"email": "a@x.com", "firstName": "Ada"}])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from paragon_nb._clock import Clock
from paragon_nb.marketo.models import (
    ImportJob,
    LeadField,
    ListMemberResult,
    RecordResult,
    StaticList,
    UsageDay,
)

__all__ = ["MarketoClient"]


class MarketoClient:
    """A thread-safe Marketo REST client that keeps within Marketo's limits.

    ``endpoint`` is the REST base ending in ``/rest`` (as Marketo's admin shows it);
    ``identity`` defaults to the same origin + ``/identity``. ``transport`` is any httpx
    transport (``httpx.WSGITransport(app=sandbox_app)`` in tests). ``clock`` is injected
    everywhere time is read or slept. The client secret and access tokens never appear in
    reprs, logs or error messages.
    """

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        client_secret: str,
        *,
        identity: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        limits: Any = None,  # marketo.limits.Limits
        retry: Any = None,  # marketo.retry.RetryPolicy
        clock: Clock | None = None,
        daily_budget: int | None = None,
    ) -> None:
        raise NotImplementedError

    @classmethod
    def from_env(cls, **kwargs: Any) -> MarketoClient:
        """From MARKETO_ENDPOINT, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET (+ MARKETO_IDENTITY)."""
        raise NotImplementedError

    # identity of the instance -----------------------------------------------------------
    endpoint: str
    identity: str
    client_id: str

    @property
    def instance_key(self) -> str:
        """A stable key for this Marketo instance (normalised endpoint), for journals."""
        raise NotImplementedError

    def close(self) -> None: ...
    def __enter__(self) -> MarketoClient: ...
    def __exit__(self, *exc: object) -> None: ...

    def check(self) -> list[LeadField]:
        """Validate credentials: get a token and call describe. Raises MarketoAuthError etc."""
        raise NotImplementedError

    # metadata ---------------------------------------------------------------------------
    def describe(self) -> list[LeadField]:
        """Lead fields (cached per client; ``refresh=True`` to re-read)."""
        raise NotImplementedError

    # leads --------------------------------------------------------------------------------
    def sync_leads(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
    ) -> list[RecordResult]:
        """Upsert any number of records: split into <=300 / <=1 MB batches, sent concurrently
        within the limits; one result per input record, in input order."""
        raise NotImplementedError

    def iter_leads(
        self,
        filter_type: str,
        values: Sequence[Any],
        *,
        fields: Sequence[str] | None = None,
        batch_size: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """Leads matching ``filter_type`` in ``values`` (chunked <=300, long queries as POST)."""
        raise NotImplementedError

    def get_leads(
        self, filter_type: str, values: Sequence[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get_lead(
        self, lead_id: int, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        raise NotImplementedError

    def delete_leads(self, ids: Sequence[int]) -> list[RecordResult]:
        raise NotImplementedError

    # lists --------------------------------------------------------------------------------
    def iter_lists(
        self, *, ids: Sequence[int] | None = None, names: Sequence[str] | None = None
    ) -> Iterator[StaticList]:
        """Lead-DB lists (``GET /rest/v1/lists.json``), paged."""
        raise NotImplementedError

    def get_lists(self, **kwargs: Any) -> list[StaticList]:
        raise NotImplementedError

    def iter_static_lists(self, *, folder: Mapping[str, Any] | None = None) -> Iterator[StaticList]:
        """Asset-API static lists (offset paging, 200 a page)."""
        raise NotImplementedError

    def get_list(self, list_id: int) -> StaticList | None:
        raise NotImplementedError

    def get_list_by_name(self, name: str) -> StaticList | None:
        raise NotImplementedError

    def create_list(
        self, name: str, *, folder: Mapping[str, Any] | None = None, description: str | None = None
    ) -> StaticList:
        """Create a static list (default folder: the instance's "Group Lists" folder)."""
        raise NotImplementedError

    def add_to_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        raise NotImplementedError

    def remove_from_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        raise NotImplementedError

    def is_member(self, list_id: int, lead_ids: Sequence[int]) -> dict[int, bool]:
        raise NotImplementedError

    def iter_list_members(
        self, list_id: int, *, fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def list_members(self, list_id: int, **kwargs: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    # bulk import ---------------------------------------------------------------------------
    def import_leads(
        self,
        data: bytes | str | Path | Any,  # CSV bytes, a file path, or a DataFrame
        *,
        format: str = "csv",
        lookup_field: str = "email",
        list_id: int | None = None,
        partition: str | None = None,
        wait: bool = True,
        poll_interval: float = 5.0,
        timeout: float | None = None,
    ) -> ImportJob:
        """Start a bulk import; with ``wait`` poll (injected clock) until it is done and fetch
        the failures/warnings rows."""
        raise NotImplementedError

    def import_status(self, batch_id: int) -> ImportJob:
        raise NotImplementedError

    # usage ----------------------------------------------------------------------------------
    def usage(self) -> list[UsageDay]:
        raise NotImplementedError

    @property
    def stats(self) -> Any:
        """Calls made by this client: total, per path, retries, codes seen (606/615...)."""
        raise NotImplementedError
