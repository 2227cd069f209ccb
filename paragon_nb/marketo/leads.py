"""Lead resources of the client: sync (any size, concurrent, input order), queries,
delete, usage stats. A mixin over :class:`~paragon_nb.marketo._base.ClientBase`.

    results = client.sync_leads(records, action="createOrUpdate", lookup_field="email")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from paragon_nb.errors import ConfigurationError, MarketoAuthError, MarketoError, QuotaExceeded
from paragon_nb.marketo._base import ClientBase, reasons_of
from paragon_nb.marketo.batching import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    RawJSON,
    batch_ranges,
    chunks,
    filter_value_chunks,
)
from paragon_nb.marketo.models import Reason, RecordResult, RecordStatus, SyncAction, UsageDay

__all__ = ["SYNC_READ_TIMEOUT", "LeadsMixin"]

# Marketo works on a Sync Leads call for up to 90 s before answering 604 (reference §3):
# reading its answer must be allowed to take that long, whatever the client's timeout.
SYNC_READ_TIMEOUT = 95.0


class LeadsMixin(ClientBase):
    """sync_leads, iter_leads/get_leads, get_lead, delete_leads, usage, usage_errors."""

    def sync_leads(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
        progress: Callable[[int], None] | None = None,
        on_batch_error: str = "raise",
    ) -> list[RecordResult]:
        """Upsert any number of records: split into <=300 / <=1 MB batches, sent concurrently
        within the limits; one result per input record, in input order.

        ``progress(n)`` is called with each finished batch's size. ``on_batch_error``:
        ``"raise"`` (default) raises the first batch failure with ``partial_results`` (per
        batch lists, ``None`` for batches not done); ``"skip"`` marks that batch's records
        skipped with the error's code and message and carries on (``QuotaExceeded`` and
        ``MarketoAuthError`` always raise). ``createDuplicate`` is never resent after an
        ambiguous failure (the write may have happened): ``TransientMarketoError`` says so.

            results = client.sync_leads(rows, lookup_field="email")
            ids = [r.id for r in results]          # None where skipped; see r.reason"""
        try:
            act = SyncAction(action)
        except ValueError:
            raise ConfigurationError(
                f"sync action {action!r} is not a Marketo action; use one of "
                f"{[a.value for a in SyncAction]}"
            ) from None
        if on_batch_error not in ("raise", "skip"):
            raise ConfigurationError(
                f"on_batch_error must be 'raise' or 'skip', not {on_batch_error!r}"
            )
        if not records:
            return []
        ranges = batch_ranges(records)

        def send(r: range) -> list[RecordResult]:
            try:
                envelope = self._post_sync(
                    act,
                    lookup_field,
                    partition,
                    [records[i] for i in r],
                    what=f"sync_leads {act.value} of records {r.start}..{r.stop - 1}",
                )
            except MarketoError as err:
                # quota and credentials problems end the whole run, whatever the policy
                if on_batch_error == "raise" or isinstance(err, QuotaExceeded | MarketoAuthError):
                    raise
                reason = Reason(code=err.code or "error", message=str(err))
                return [RecordResult(status=RecordStatus.SKIPPED, reasons=(reason,))] * len(r)
            return _record_results(envelope, len(r), what="sync_leads")

        per_batch = self._run_batches(ranges, send, progress=progress)
        return [result for batch in per_batch for result in batch]

    def sync_lead_batch(
        self,
        input_json: str,
        count: int,
        *,
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
    ) -> list[RecordResult]:
        """One Sync Leads call whose ``input`` is ready-made JSON array text of ``count``
        records (<= 300, body <= 1 MB): sent as is, never decoded and re-encoded. The sync
        uses it so the text it fingerprinted is the text Marketo receives.

            results = client.sync_lead_batch('[{"email":"a@x.com"}]', 1)"""
        act = SyncAction(action)
        if not 0 < count <= MAX_BATCH:
            raise ConfigurationError(f"a Sync Leads call takes 1..{MAX_BATCH} records, not {count}")
        if len(input_json) > MAX_BODY_BYTES:  # characters <= bytes: a cheap first check
            raise ConfigurationError(
                f"batch input is {len(input_json):,} characters, over the 1 MB body limit; split it"
            )
        envelope = self._post_sync(
            act, lookup_field, partition, RawJSON(input_json), what=f"sync_leads {act.value}"
        )
        return _record_results(envelope, count, what="sync_leads")

    def _post_sync(
        self, act: SyncAction, lookup_field: str, partition: str | None, records: Any, *, what: str
    ) -> Any:
        """``POST /rest/v1/leads.json`` through the one call path (limits, retries, stats)."""
        body: dict[str, Any] = {"action": act.value, "lookupField": lookup_field}
        if partition is not None:
            body["partitionName"] = partition
        body["input"] = records
        return self._call(
            "POST",
            "/rest/v1/leads.json",
            json_body=body,
            idempotent=act is not SyncAction.CREATE_DUPLICATE,
            min_read_timeout=SYNC_READ_TIMEOUT,
            what=what,
        )

    def iter_leads(
        self,
        filter_type: str,
        values: Sequence[Any],
        *,
        fields: Sequence[str] | None = None,
        batch_size: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """Leads matching ``filter_type`` in ``values`` (chunked <=300, long queries as POST).

        Only matching leads come back (no placeholders). Raises ``MarketoRequestError`` for a
        value containing a comma, and Marketo's 1003 if one chunk matches > 1,000 leads."""
        for chunk in filter_value_chunks(values):
            query: dict[str, Any] = {
                "filterType": filter_type,
                "filterValues": ",".join(chunk),
                "fields": ",".join(fields) if fields else None,
                "batchSize": min(batch_size, 300),
            }
            yield from self._paged("/rest/v1/leads.json", query, what=f"leads by {filter_type}")

    def get_leads(
        self, filter_type: str, values: Sequence[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Eager :meth:`iter_leads`."""
        return list(self.iter_leads(filter_type, values, **kwargs))

    def get_lead(
        self, lead_id: int, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """One lead by id, or ``None`` when there is no such lead."""
        params = {"fields": ",".join(fields)} if fields else None
        envelope = self._call("GET", f"/rest/v1/lead/{int(lead_id)}.json", params=params)
        result = envelope.get("result") or []
        return dict(result[0]) if result else None

    def delete_leads(self, ids: Sequence[int]) -> list[RecordResult]:
        """Delete leads by id (chunks of 300); one result per id: deleted or skipped."""

        def send(chunk: list[int]) -> list[RecordResult]:
            envelope = self._call(
                "POST",
                "/rest/v1/leads/delete.json",
                json_body={"input": [{"id": i} for i in chunk]},
                what=f"delete {len(chunk)} leads",
            )
            return _record_results(envelope, len(chunk), what="delete_leads")

        per_chunk = self._run_batches(chunks([int(i) for i in ids]), send)
        return [r for chunk in per_chunk for r in chunk]

    def usage(self, *, last_7_days: bool = False) -> list[UsageDay]:
        """API calls per day as Marketo counts them (``stats/usage``)."""
        path = "/rest/v1/stats/usage/last7days.json" if last_7_days else "/rest/v1/stats/usage.json"
        return [UsageDay.model_validate(d) for d in self._call("GET", path).get("result") or []]

    def usage_errors(self, *, last_7_days: bool = False) -> list[UsageDay]:
        """Errors per day and code (``stats/errors``): ``UsageDay.errors`` items."""
        path = (
            "/rest/v1/stats/errors/last7days.json" if last_7_days else "/rest/v1/stats/errors.json"
        )
        return [UsageDay.model_validate(d) for d in self._call("GET", path).get("result") or []]


def _record_results(envelope: Mapping[str, Any], expected: int, *, what: str) -> list[RecordResult]:
    result = envelope.get("result") or []
    if len(result) != expected:
        raise MarketoError(
            f"{what}: Marketo returned {len(result)} results for {expected} records "
            f"(requestId {envelope.get('requestId')}); results cannot be matched to inputs"
        )
    return [
        RecordResult(status=item["status"], id=item.get("id"), reasons=reasons_of(item))
        for item in result
    ]
