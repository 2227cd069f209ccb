"""The Bulk Import path of the sync: CSV files of <= 10 MB, one import job each.

Used by ``sync_leads(method="bulk")`` (or ``"auto"`` for large inputs, ``createOrUpdate``
only: Marketo's import is an upsert and never says created or updated, so rows end
``upserted``). Each file is written with a real CSV writer (pandas ``to_csv``: quoting,
embedded newlines) with REST names as the header; missing values are blank cells, which
leave the field unchanged. The lookup column is the row key: values are unique after
de-duplication, so the failures file (original columns + a reason column) maps back to
rows by it. # (U) we use the lookup column rather than an extra key column because an
unknown column is not a lead field (Marketo would warn on every row).

Imports do not report lead ids: after the jobs finish, ``fill_ids`` (default) reads them
back by lookup value, <= 300 per read call (counted in the sync's calls). The import adds
the leads to the list itself (``listId``). ``clear_missing`` cannot be honoured here (a
blank cell leaves a field unchanged): ``SyncOptions.check`` refuses it for ``method="bulk"``
and ``"auto"`` never picks bulk with it.

    run_bulk(client, plan, journal, list_id=42, lookup_field="email", partition=None)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import MarketoAuthError, MarketoError, QuotaExceeded
from paragon_nb.marketo.bulk import MAX_IMPORT_BYTES
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import ImportJob
from paragon_nb.sync.journal import Journal, RowOutcome
from paragon_nb.sync.plan import Plan
from paragon_nb.sync.result import SyncStatus
from paragon_nb.sync.sender import failure_reason

__all__ = ["csv_chunks", "run_bulk"]

# Leave room for multipart framing under the 10 MB limit.
FILE_BUDGET = int(MAX_IMPORT_BYTES * 0.95)


def _csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame`` (a slice the caller owns: booleans are rewritten in place)."""
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.BooleanDtype):
            frame[col] = frame[col].map({True: "true", False: "false"}).astype("str")
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def csv_chunks(
    plan: Plan, positions: np.ndarray, *, budget: int = FILE_BUDGET
) -> Iterator[tuple[np.ndarray, bytes]]:
    """Yield ``(positions, csv bytes)`` covering ``positions`` in order, each <= ``budget``
    bytes. Raises ``ValueError`` if one row alone is over the budget."""
    frame = plan.prepared.frame
    start = 0
    sample = frame.iloc[positions[:1000]].copy()
    per_row = max(1.0, len(_csv(sample)) / max(1, len(sample)))
    step = max(1, int(budget / (per_row * 1.25)))
    while start < len(positions):
        chunk = positions[start : start + step]
        body = _csv(frame.iloc[chunk].copy())
        while len(body) > budget:
            if len(chunk) == 1:
                raise ValueError(f"row {int(chunk[0])} alone is over {budget:,} bytes of CSV")
            chunk = chunk[: len(chunk) // 2]
            body = _csv(frame.iloc[chunk].copy())
        yield chunk, body
        start += len(chunk)


@dataclass
class _Pending:
    chunk: np.ndarray
    keys: list[str]
    batch_id: int
    job_id: int


def run_bulk(
    client: MarketoClient,
    plan: Plan,
    journal: Journal | None,
    *,
    list_id: int | None,
    lookup_field: str,
    partition: str | None,
    clock: Clock | None = None,
    poll_interval: float = 5.0,
    max_jobs: int = 4,
    budget: int = FILE_BUDGET,
    fill_ids: bool = True,
) -> None:
    """Import ``plan.send`` in <= 10 MB jobs; fill the plan's statuses.

    Up to ``max_jobs`` jobs are in Marketo's queue at once (it runs two, queues ten), so
    the next file uploads while earlier ones import; all are polled every
    ``poll_interval`` seconds on ``clock``. Marketo errors become ``failed`` rows (a
    daily quota or auth error stops the jobs not yet started)."""
    clock = clock or system_clock
    pending: list[_Pending] = []
    abort: str | None = None

    def fail(item: _Pending, exc: MarketoError) -> None:
        nonlocal abort
        reason = failure_reason(exc)
        if isinstance(exc, QuotaExceeded | MarketoAuthError):
            abort = reason
        _fail(plan, item.chunk, exc.code or "error", reason)
        if journal is not None:
            rows = [
                RowOutcome(k, "failed", None, None, "failed", exc.code, reason) for k in item.keys
            ]
            journal.finish_batch(item.batch_id, rows)

    def poll() -> None:
        clock.sleep(poll_interval)
        for item in list(pending):
            try:
                job = client.import_status(item.job_id)
                if not job.done:
                    continue
                job = client.import_status(item.job_id, reports=True)
            except MarketoError as exc:
                pending.remove(item)
                fail(item, exc)
                continue
            pending.remove(item)
            _settle(plan, journal, item, job, list_id=list_id, lookup_field=lookup_field)

    for chunk, body in csv_chunks(plan, plan.send, budget=budget):
        keys = plan.keys.many(chunk)
        if abort is not None:
            _fail(plan, chunk, "not_sent", f"not sent: {abort}")
            continue
        while len(pending) >= max_jobs:
            poll()
        batch_id = journal.begin_batch(keys, plan.fps[chunk], action="import") if journal else 0
        item = _Pending(chunk, keys, batch_id, 0)
        try:
            job = client.import_leads(
                body,
                format="csv",
                lookup_field=lookup_field,
                list_id=list_id,
                partition=partition,
                wait=False,
            )
        except MarketoError as exc:
            fail(item, exc)
            continue
        item.job_id = job.batch_id
        pending.append(item)
    while pending:
        poll()
    if fill_ids:
        _fill_ids(client, plan, journal, lookup_field=lookup_field)


def _fill_ids(
    client: MarketoClient, plan: Plan, journal: Journal | None, *, lookup_field: str
) -> None:
    """Read the lead ids of imported rows back by lookup value (<= 300 per read call; the
    calls count in the sync's ``calls``). A failed read leaves those ids empty."""
    done = np.flatnonzero(plan.status == SyncStatus.UPSERTED.value)
    if not len(done):
        return
    keys = plan.keys.many(done)
    found: dict[str, int] = {}
    try:
        for lead in client.iter_leads(lookup_field, keys, fields=["id", lookup_field]):
            value = lead.get(lookup_field)
            if value is not None:
                found[str(value).strip().lower()] = int(lead["id"])
    except MarketoError:
        pass  # ids stay unknown; the rows are still imported
    pairs = []
    for p, key in zip(done.tolist(), keys, strict=True):
        lead = found.get(str(key).lower())
        if lead is not None:
            plan.lead_id[p] = lead
            pairs.append((key, lead))
    if journal is not None and pairs:
        journal.set_lead_ids(pairs)


def _settle(
    plan: Plan,
    journal: Journal | None,
    item: _Pending,
    job: ImportJob,
    *,
    list_id: int | None,
    lookup_field: str,
) -> None:
    """Statuses (and journal rows) for a finished import job."""
    failed: dict[str, str] = {}
    for row in job.failures:
        value = row.get(lookup_field)
        extra = [v for k, v in row.items() if k not in plan.prepared.frame.columns]
        if value is not None:
            failed[str(value).strip().lower()] = extra[0] if extra else "import failed"
    if job.status.value == "Failed":
        msg = job.message or "import job failed"
        failed = {str(k).lower(): msg for k in item.keys}
    outcomes: list[RowOutcome] = []
    ok_keys: list[str] = []
    for p, key in zip(item.chunk.tolist(), item.keys, strict=True):
        why = failed.get(str(key).lower())
        if why is None:
            plan.status[p] = SyncStatus.UPSERTED.value
            outcomes.append(RowOutcome(key, "synced", int(plan.fps[p]), None, "upserted"))
            ok_keys.append(key)
        else:
            plan.status[p] = SyncStatus.SKIPPED.value
            plan.reason_code[p] = "import_failed"
            plan.reason[p] = why
            outcomes.append(RowOutcome(key, "skipped", None, None, "skipped", "import_failed", why))
    if journal is not None:
        journal.finish_batch(item.batch_id, outcomes)
        if list_id is not None and ok_keys:
            journal.mark_listed(ok_keys)


def _fail(plan: Plan, chunk: np.ndarray, code: str, reason: str) -> None:
    for p in chunk.tolist():
        plan.status[p] = SyncStatus.FAILED.value
        plan.reason_code[p] = code
        plan.reason[p] = reason
