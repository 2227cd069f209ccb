"""Dry runs: the plan of a sync without writing anything (to Marketo or the journal).

Reads the existing leads by lookup value and gives each row a planned status: ``would
create``, ``would update``, ``unchanged`` (journal says so, or Marketo already holds the
same values), ``invalid`` or ``duplicate``; plus the calls the real run would cost and
today's remaining quota.

    result = sync_leads(df, client, list="Newsletter", dry_run=True)
    result.planned_calls, result.remaining_quota
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from paragon_nb._clock import Clock
from paragon_nb.errors import MarketoError
from paragon_nb.marketo.batching import MAX_BATCH
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import StaticList
from paragon_nb.sync.plan import Plan
from paragon_nb.sync.result import PlanStatus, SyncResult, empty_rows
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


def _eq(sent: Any, held: Any) -> bool:
    if held is None:
        return sent is None
    if isinstance(sent, bool):
        return str(held).strip().lower() in (("true", "1") if sent else ("false", "0"))
    if isinstance(sent, int | float):
        try:
            return float(held) == float(sent)
        except (TypeError, ValueError):
            return False
    if str(sent) == str(held):
        return True
    if isinstance(sent, str) and len(sent) >= 10 and sent[4:5] == "-":
        try:
            a, b = pd.Timestamp(sent), pd.Timestamp(str(held))
        except (ValueError, TypeError):
            return False
        if (a.tzinfo is None) != (b.tzinfo is None):
            return False
        return bool(a == b)
    return False


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
) -> SyncResult:
    """A dry-run :class:`SyncResult` for ``plan`` (reads only)."""
    status = plan.status.copy()
    reason = plan.reason.copy()
    lead_id = plan.lead_id.copy()
    dup = plan.reason_code == "duplicate"
    status[dup] = PlanStatus.DUPLICATE.value
    for p in plan.list_only.tolist():
        status[p] = PlanStatus.UNCHANGED.value
        reason[p] = "already synced; would be added to the list"
    send = plan.send
    if len(send):
        fields = sorted({*plan.prepared.frame.columns, "id"})
        existing: dict[str, dict[str, Any]] = {}
        keys = plan.keys.many(send)
        for lead in client.get_leads(lookup_field, keys, fields=fields):
            value = lead.get(lookup_field)
            if value is not None:
                existing[str(value).strip().lower()] = lead
        for start in range(0, len(send), BATCH):
            chunk = send[start : start + BATCH]
            chunk_keys = plan.keys.many(chunk)
            for p, key, record in zip(chunk.tolist(), chunk_keys, plan.records(chunk), strict=True):
                lead = existing.get(str(key).lower())
                if lead is None:
                    status[p] = PlanStatus.WOULD_CREATE.value
                    continue
                lead_id[p] = lead.get("id")
                same = all(_eq(v, lead.get(k)) for k, v in record.items() if k != lookup_field)
                status[p] = PlanStatus.UNCHANGED.value if same else PlanStatus.WOULD_UPDATE.value
                if same and list_target is not None:
                    reason[p] = "same values in Marketo; would be sent to add it to the list"
    adds = len(send) + len(plan.list_only) if list_name is not None else 0
    planned = (
        math.ceil(len(send) / BATCH)
        + math.ceil(adds / BATCH)
        + (1 if list_name is not None and list_target is None and create_list else 0)
        + math.ceil(removals / BATCH)
    )
    rows = empty_rows(plan.index)
    rows["status"] = pd.array(status, dtype="str")
    rows["lead_id"] = pd.array(lead_id, dtype="Int64")
    rows["reason_code"] = pd.array(plan.reason_code, dtype="str")
    rows["reason"] = pd.array(reason, dtype="str")
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
