"""Dry runs: the plan of a sync without writing anything (to Marketo or the journal).

The dry run and the real run come from one plan (same journal diff, same verification
reads). Each row's planned status maps one to one to what the real run reports:
``would create`` -> ``created``, ``would update`` -> ``updated``, ``unchanged`` ->
``unchanged``, ``invalid`` -> ``invalid``, ``duplicate`` -> ``skipped``; ``planned_calls``
is the number of calls the real run makes on the same client (its describe is cached by
then). Extra reads (which leads exist) are made to tell create from update; they are in
``calls``, not in ``planned_calls``.

    result = sync_leads(df, client, list="Newsletter", dry_run=True)
    result.planned_calls, result.remaining_quota
"""

from __future__ import annotations

import math
from typing import Any

from paragon_nb._clock import Clock
from paragon_nb.errors import MarketoError
from paragon_nb.marketo.batching import MAX_BATCH
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import StaticList
from paragon_nb.sync.plan import Plan
from paragon_nb.sync.result import PlanStatus, SyncResult, rows_frame
from paragon_nb.sync.sender import calls_made

__all__ = ["DEFAULT_DAILY_QUOTA", "plan_result", "remaining_quota"]

# (U) Marketo's daily quota is per subscription (50,000 is common); used when the client
# has no daily_budget configured.
DEFAULT_DAILY_QUOTA = 50_000
BATCH = MAX_BATCH


def remaining_quota(client: MarketoClient) -> int | None:
    """Calls left today: the client's daily budget (else 50,000) minus today's usage."""
    try:
        days = client.usage()
    except (MarketoError, NotImplementedError):
        return None
    limits = getattr(client, "limits", None)
    budget = getattr(limits, "daily_budget", None) or getattr(client, "daily_budget", None)
    used = days[-1].total if days else 0
    return max(0, int(budget or DEFAULT_DAILY_QUOTA) - int(used))


def plan_result(
    client: MarketoClient,
    plan: Plan,
    *,
    lookup_field: str,
    list_target: StaticList | None,
    list_name: str | int | None,
    create_list: bool,
    removals: int,
    started: float,
    clock: Clock,
    calls_before: int,
    setup_calls: int,
    lookup: tuple[str, object] | None = None,
) -> SyncResult:
    """A dry-run :class:`SyncResult` for ``plan`` (reads only).

    Statuses map one to one to the real run's: a row the real run sends is ``would
    create`` (Marketo holds no lead with its lookup value) or ``would update`` (it does:
    Marketo answers ``updated`` even when the values are the same); rows the journal
    settled (and the verification confirmed) are ``unchanged``. ``setup_calls`` are the
    calls the real run also makes before sending (list lookup, verification, mirror
    reads); ``planned_calls`` adds the writes to them."""
    cols = {name: values.copy() for name, values in plan.cols.items()}
    status, reason, lead_id = cols["status"], cols["reason"], cols["lead_id"]
    status[plan.reason_code == "duplicate"] = PlanStatus.DUPLICATE.value
    if list_name is not None:
        where = repr(list_target.name if list_target is not None else list_name)
        reason[plan.list_only] = f"values unchanged; would be added to list {where}"
    send = plan.send
    if len(send):
        existing: dict[str, Any] = {}
        keys = plan.keys.many(send)
        for lead in client.get_leads(lookup_field, keys, fields=["id", lookup_field]):
            value = lead.get(lookup_field)
            if value is not None:
                existing[str(value).strip().lower()] = lead.get("id")
        for p, key in zip(send.tolist(), keys, strict=True):
            held = str(key).lower() in existing
            status[p] = PlanStatus.WOULD_UPDATE.value if held else PlanStatus.WOULD_CREATE.value
            lead_id[p] = existing.get(str(key).lower())
    adds = len(send) + len(plan.list_only) if list_name is not None else 0
    list_creation = 0
    if list_name is not None and list_target is None and create_list:
        # The real run's create_list browses for the default "List" folder (one read per page
        # of folders), then creates the list (one write): do the read now, count both.
        before = calls_made(client)
        client.default_list_folder()
        list_creation = calls_made(client) - before + 1
    planned = (
        setup_calls
        + list_creation
        + plan.batch_count(send)
        + math.ceil(adds / BATCH)
        + math.ceil(removals / BATCH)
    )
    rows = rows_frame(plan.index, cols, lookup=lookup)
    notes = []
    if list_name is not None and list_target is None:
        notes.append(f"list {list_name!r} does not exist; it would be created")
    if removals:
        notes.append(f"mirror would remove {removals} members not in the input")
    return SyncResult(
        rows=rows,
        calls=calls_made(client) - calls_before,
        duration=clock.monotonic() - started,
        dry_run=True,
        list_id=list_target.id if list_target else None,
        list_name=list_target.name if list_target else None,
        planned_calls=planned,
        remaining_quota=remaining_quota(client),
        notes=notes,
        lookup_column=plan.mapping.lookup_column,
    )
