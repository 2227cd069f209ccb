"""Sending a plan's rows: upsert batches on worker threads through the one shared client
(its limiter keeps every thread within Marketo's rate and concurrency limits), list adds
pipelined behind them, the journal written before and after each batch.

    BatchSender(client, plan, journal, target=lst, action="createOrUpdate",
                lookup_field="email", partition=None, workers=8, progress=False).run()
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from paragon_nb.errors import MarketoAuthError, MarketoError, QuotaExceeded, SyncError
from paragon_nb.marketo.batching import MAX_BATCH
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import ListMemberStatus, RecordStatus, StaticList, SyncAction
from paragon_nb.sync.journal import Journal, RowOutcome
from paragon_nb.sync.plan import Plan
from paragon_nb.sync.result import SyncStatus

__all__ = ["BATCH_SIZE", "BatchSender", "calls_made", "failure_reason", "want_progress"]

BATCH_SIZE = MAX_BATCH
_DONE = (RecordStatus.CREATED, RecordStatus.UPDATED)


class BatchSender:
    """Sends the plan's rows: upsert batches on worker threads, list adds behind them."""

    def __init__(
        self,
        client: MarketoClient,
        plan: Plan,
        journal: Journal | None,
        *,
        target: StaticList | None,
        action: str,
        lookup_field: str,
        partition: str | None,
        workers: int,
        progress: bool,
        bar: Any = None,
        calls_base: int = 0,
    ) -> None:
        self.client = client
        self.plan = plan
        self.journal = journal
        self.target = target
        self.action = action
        self.lookup_field = lookup_field
        self.partition = partition
        self.workers = max(1, workers)
        self.progress = progress
        self._abort: str | None = None
        self._lock = threading.Lock()
        self._bar: Any = bar  # a shared bar (streamed syncs) is never closed here
        self._own_bar = False
        self._calls_base = calls_base  # calls of this sync = client calls - base

    def run(self, *, send: bool = True) -> None:
        """Send the plan's rows (``send=False``: only the pending list adds)."""
        plan = self.plan
        positions = plan.send if send else np.array([], dtype=np.int64)
        total = len(positions) + len(plan.list_only)
        if self.progress and total and self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="rows", desc="sync", leave=True)
            self._own_bar = True
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="paragon-sync")
        outstanding: set[Future[list[int]]] = set()
        to_list: list[int] = [int(p) for p in plan.list_only]
        try:
            for batch, text in plan.iter_batches(positions, size=BATCH_SIZE):
                if self._abort is not None:
                    break
                outstanding.add(pool.submit(self._upsert, batch, text))
                # Bounded look-ahead: records are built per batch, never all at once.
                while len(outstanding) >= self.workers * 2:
                    outstanding = self._drain(outstanding, to_list)
                outstanding |= self._submit_adds(pool, to_list, full_only=True)
            # Full list adds while upserts finish, then one partial: ceil(n / 300) calls,
            # as the plan (and the dry run) counts them.
            while outstanding:
                outstanding = self._drain(outstanding, to_list)
                outstanding |= self._submit_adds(pool, to_list, full_only=True)
            outstanding |= self._submit_adds(pool, to_list, full_only=False)
            while outstanding:
                outstanding = self._drain(outstanding, to_list)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self._bar is not None and self._own_bar:
                self._bar.close()
        if self._abort is not None:
            if to_list:
                self._mark_list_failure(to_list, "not_sent", self._abort)
            for p in positions.tolist():
                if plan.status[p] is None:
                    self._fail([p], "not_sent", f"not sent: {self._abort}")

    def _submit_adds(
        self, pool: ThreadPoolExecutor, to_list: list[int], *, full_only: bool
    ) -> set[Future[list[int]]]:
        """List adds for buffered lead positions (only full batches when ``full_only``)."""
        futures: set[Future[list[int]]] = set()
        if self.target is None:
            to_list.clear()  # no list: nothing to add
            return futures
        if self._abort is not None:
            return futures  # kept in to_list: run() marks them failed
        while len(to_list) >= BATCH_SIZE or (to_list and not full_only):
            futures.add(pool.submit(self._add, to_list[:BATCH_SIZE]))
            del to_list[:BATCH_SIZE]
        return futures

    def _drain(
        self, outstanding: set[Future[list[int]]], to_list: list[int]
    ) -> set[Future[list[int]]]:
        done, rest = wait(outstanding, return_when=FIRST_COMPLETED)
        for fut in done:
            to_list.extend(fut.result())  # re-raises programming errors
        return set(rest)

    # ---------------------------------------------------------------- tasks
    def _upsert(self, batch: np.ndarray, text: str) -> list[int]:
        """Send one batch; fill statuses; return positions to add to the list."""
        plan = self.plan
        if self._abort is not None:
            return []
        keys = plan.keys.many(batch)
        batch_id = (
            self.journal.begin_batch(keys, plan.fps[batch], action=self.action)
            if self.journal is not None
            else 0
        )
        try:
            results = self.client.sync_lead_batch(
                text,
                len(batch),
                action=self.action,
                lookup_field=self.lookup_field,
                partition=self.partition,
            )
        except MarketoError as exc:
            reason = failure_reason(exc)
            if isinstance(exc, QuotaExceeded | MarketoAuthError):
                self._abort = reason
            self._fail(batch.tolist(), exc.code or "error", reason)
            if self.journal is not None:
                self.journal.finish_batch(
                    batch_id,
                    [RowOutcome(k, "failed", None, None, "failed", exc.code, reason) for k in keys],
                )
            return []
        if len(results) != len(batch):
            raise SyncError(
                f"Marketo answered {len(results)} results for a batch of {len(batch)} records; "
                "cannot match results to rows (nothing was marked synced for this batch)"
            )
        outcomes: list[RowOutcome] = []
        synced: list[int] = []
        recovered = self._recover_created(batch, results)
        fps = plan.fps[batch].tolist()
        status_col, lead_col = plan.status, plan.lead_id
        for p, key, res, fp in zip(batch.tolist(), keys, results, fps, strict=True):
            if res.status in _DONE or p in recovered:
                status = SyncStatus.CREATED.value if p in recovered else res.status.value
                lead = recovered.get(p, res.id)
                status_col[p], lead_col[p] = status, lead
                outcomes.append(RowOutcome(key, "synced", fp, lead, status))
                synced.append(p)
            else:
                plan.status[p] = SyncStatus.SKIPPED.value
                plan.reason_code[p] = res.reason_code
                plan.reason[p] = res.reason
                outcomes.append(
                    RowOutcome(key, "skipped", None, None, "skipped", res.reason_code, res.reason)
                )
        if self.journal is not None:
            self.journal.finish_batch(batch_id, outcomes)
        self._tick(len(batch) - (len(synced) if self.target is not None else 0))
        return synced

    def _recover_created(self, batch: np.ndarray, results: list[Any]) -> dict[int, int | None]:
        """createOnly resumed after an interruption: a ``1005 lead already exists`` on a
        row the journal had in flight means the interrupted run created it. Returns
        position -> lead id for those rows (ids read back by lookup value)."""
        if self.action != SyncAction.CREATE_ONLY.value:
            return {}
        hits = [
            int(p)
            for p, r in zip(batch.tolist(), results, strict=True)
            if r.status == RecordStatus.SKIPPED and r.reason_code == "1005" and self.plan.pending[p]
        ]
        if not hits:
            return {}
        found: dict[str, int] = {}
        try:
            leads = self.client.get_leads(
                self.lookup_field,
                [self.plan.keys[p] for p in hits],
                fields=["id", self.lookup_field],
            )
            for lead in leads:
                value = lead.get(self.lookup_field)
                if value is not None:
                    found[str(value).strip().lower()] = int(lead["id"])
        except MarketoError:
            pass  # ids stay unknown; the rows are still created
        return {p: found.get(str(self.plan.keys[p]).lower()) for p in hits}

    def _add(self, positions: list[int]) -> list[int]:
        """Add the leads of ``positions`` to the target list (<= 300 ids)."""
        plan = self.plan
        assert self.target is not None
        with_id = [p for p in positions if plan.lead_id[p] is not None]
        no_id = [p for p in positions if plan.lead_id[p] is None]
        if no_id:
            self._mark_list_failure(no_id, "no_lead_id", "Marketo returned no lead id")
        if not with_id:
            self._tick(len(positions))
            return []
        try:
            ids = [int(plan.lead_id[p]) for p in with_id]
            answers = self.client.add_to_list(self.target.id, ids)
        except MarketoError as exc:
            if isinstance(exc, QuotaExceeded | MarketoAuthError):
                self._abort = failure_reason(exc)
            self._mark_list_failure(with_id, exc.code or "error", failure_reason(exc))
            self._tick(len(positions))
            return []
        by_id = {a.id: a for a in answers}
        ok_keys: list[str] = []
        keys = plan.keys.many(with_id)
        for p, lead_id, key in zip(with_id, ids, keys, strict=True):
            answer = by_id.get(lead_id)
            if answer is not None and answer.status is ListMemberStatus.ADDED:
                ok_keys.append(key)
                if plan.status[p] == SyncStatus.UNCHANGED.value:
                    plan.reason[p] = f"values unchanged; added to list {self.target.name!r}"
            else:
                code = answer.reasons[0].code if answer and answer.reasons else "list_add"
                msg = answer.reasons[0].message if answer and answer.reasons else "not added"
                self._mark_list_failure([p], code, msg)
        if self.journal is not None and ok_keys:
            self.journal.mark_listed(ok_keys)
        self._tick(len(positions))
        return []

    # ---------------------------------------------------------------- helpers
    def _mark_list_failure(self, positions: list[int], code: str, message: str) -> None:
        name = self.target.name if self.target else "?"
        for p in positions:
            prior = self.plan.status[p]
            self.plan.status[p] = SyncStatus.FAILED.value
            self.plan.reason_code[p] = code
            again = "" if "run the same sync again" in message else "; run the same sync again"
            self.plan.reason[p] = f"lead {prior} but not added to list {name!r}: {message}{again}"

    def _fail(self, positions: list[int], code: str, reason: str) -> None:
        for p in positions:
            self.plan.status[p] = SyncStatus.FAILED.value
            self.plan.reason_code[p] = code
            self.plan.reason[p] = reason
        self._tick(len(positions))

    def _tick(self, rows: int) -> None:
        """Progress: a row counts once it is settled (listed, when there is a list)."""
        if self._bar is None:
            return
        with self._lock:
            self._bar.update(rows)
            self._bar.set_postfix(calls=calls_made(self.client) - self._calls_base, refresh=False)


def failure_reason(exc: MarketoError) -> str:
    if isinstance(exc, QuotaExceeded):
        when = exc.resets_at.isoformat() if exc.resets_at is not None else "the daily reset"
        return (
            f"Marketo daily API quota reached ({exc.code or '607'}); rows done so far are kept; "
            f"run the same sync again after {when} to resume"
        )
    return f"{exc}; run the same sync again to retry"


def calls_made(client: Any, route: str | None = None) -> int:
    """API calls the client made so far (retries included), or those to ``route``
    (``"GET /rest/v1/leads/describe.json"``): the one count every display shows."""
    stats = getattr(client, "stats", None)
    if route is not None:
        return int(getattr(stats, "per_path", {}).get(route, 0))
    return int(getattr(stats, "calls", 0) or 0)


def want_progress(progress: bool | None) -> bool:
    """Show a progress bar? None: in a Jupyter kernel or on a terminal."""
    if progress is not None:
        return bool(progress)
    # In a Jupyter kernel IPython is already loaded; never import it from the core.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
