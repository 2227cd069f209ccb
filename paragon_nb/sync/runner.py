"""``sync_leads``: a DataFrame into Marketo (and a static list), one result row per input row.

Flow: describe -> plan (map, validate, de-duplicate, diff against the journal; errors here
stop the sync before any write) -> resolve the list -> batches of <= 300 upserted by worker
threads through the one shared client (its limiter keeps us within Marketo's rate and
concurrency limits) -> list adds pipelined behind the upserts -> result frame. Each batch
is journaled before it is sent and after it is answered, so a second call with the same
input resumes an interrupted run and skips unchanged rows.

    result = sync_leads(df, client, list="Newsletter", create_list=True)
    result.rows.status.value_counts()
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import (
    ConfigurationError,
    MarketoAuthError,
    MarketoError,
    QuotaExceeded,
    SyncError,
)
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import RecordStatus, StaticList, SyncAction
from paragon_nb.sync import dryrun, lists
from paragon_nb.sync.journal import Journal, RowOutcome
from paragon_nb.sync.plan import Plan, make_plan
from paragon_nb.sync.result import SyncResult, SyncStatus, empty_rows

__all__ = ["BATCH_SIZE", "DEFAULT_BULK_THRESHOLD", "sync_leads"]

BATCH_SIZE = 300
DEFAULT_BULK_THRESHOLD = 250_000
DEFAULT_WORKERS = 8


def sync_leads(
    df: pd.DataFrame,
    client: MarketoClient,
    *,
    list: str | int | None = None,
    create_list: bool = False,
    lookup_field: str = "email",
    mapping: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    action: str = "createOrUpdate",
    dry_run: bool = False,
    method: str = "auto",
    progress: bool | None = None,
    on_duplicate: str = "skip",
    clear_missing: bool = False,
    mirror: bool = False,
    confirm: bool = False,
    mirror_threshold: int = 100,
    partition: str | None = None,
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
    workers: int | None = None,
    journal: Journal | str | Path | bool | None = None,
    clock: Clock | None = None,
) -> SyncResult:
    """Upsert every row of ``df`` into Marketo and (optionally) a static list.

    - ``list``: list name or id; ``create_list=True`` creates a missing static list.
      ``mirror=True`` also removes members whose lead is not in ``df``; above
      ``mirror_threshold`` removals it needs ``confirm=True``.
    - ``mapping`` (column -> REST field) wins over auto-mapping; ``ignore`` drops columns.
    - ``on_duplicate``: ``"skip"`` (last occurrence sent, earlier rows ``skipped`` with
      reason code ``duplicate``) or ``"raise"`` (:class:`DuplicateKeyError`).
    - ``clear_missing``: send missing values as null (clears the field) instead of omitting.
    - ``method``: ``"rest"``, ``"bulk"`` (Bulk Import) or ``"auto"`` (bulk when at least
      ``bulk_threshold`` rows need sending).
    - ``progress``: None = a tqdm bar when interactive, True/False to force.
    - ``journal``: None = ``journal.sqlite3`` under the home folder, a path, a
      :class:`Journal`, or False for none (no change detection, no resume).

    Raises (before any write): :class:`MappingError`, :class:`DuplicateKeyError`,
    :class:`SyncError` (unknown list, mirror needs confirmation), ``ConfigurationError``
    (bad option), and whatever ``describe`` raises (auth). Failures after writes started
    never raise: they become ``failed`` rows with the reason and when to resume.
    """
    clock = clock or system_clock
    started = clock.monotonic()
    if not isinstance(df, pd.DataFrame):
        raise ConfigurationError(f"sync_leads needs a pandas DataFrame, got {type(df).__name__}")
    valid_actions = [a.value for a in SyncAction]
    if action not in valid_actions:
        raise ConfigurationError(f"action {action!r} is not one of {valid_actions}")
    if method not in ("auto", "rest", "bulk"):
        raise ConfigurationError(f"method {method!r} is not one of 'auto', 'rest', 'bulk'")
    if method == "bulk" and action != SyncAction.CREATE_OR_UPDATE.value:
        raise ConfigurationError(
            f"method='bulk' imports with createOrUpdate semantics only, not {action!r}; "
            "use method='rest' for other actions"
        )
    calls_before = _calls(client)
    # Two reads that do not depend on each other: one round trip instead of two.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="paragon-sync-start") as pool:
        described = pool.submit(client.describe)
        found = pool.submit(lists.find_list, client, list) if list is not None else None
        fields = described.result()
        target = found.result() if found is not None else None
    if list is not None and target is None and not create_list:
        raise SyncError(lists.missing_list_message(client, list))
    own_journal = not isinstance(journal, Journal) and journal is not False

    def open_journal(list_key: str) -> Journal | None:
        if journal is False:
            return None
        if isinstance(journal, Journal):
            return journal
        return Journal(
            instance=client.instance_key,
            lookup_field=lookup_field,
            list_key=list_key,
            path=journal if isinstance(journal, str | Path) else None,
            clock=clock,
        )

    # A list that does not exist yet has no journal rows: plan without one, open it later.
    jr: Journal | None = None
    if list is None or target is not None:
        jr = open_journal(str(target.id) if target is not None else "")
    try:
        plan = make_plan(
            df,
            fields,
            mapping=mapping,
            ignore=ignore,
            lookup_field=lookup_field,
            action=action,
            on_duplicate=on_duplicate,
            journal=jr,
            has_list=list is not None,
            clear_missing=clear_missing,
        )
        removals: list[int] = []
        if mirror and target is not None:
            removals = lists.mirror_removals(client, target, plan, lookup_field)
            if len(removals) > mirror_threshold and not confirm and not dry_run:
                raise SyncError(
                    f"mirror=True would remove {len(removals)} members of list "
                    f"{target.name!r} (id {target.id}) that are not in the input, more than "
                    f"mirror_threshold={mirror_threshold}; pass confirm=True to remove them"
                )
        if dry_run:
            return dryrun.plan_result(
                client,
                plan,
                lookup_field=lookup_field,
                list_target=target,
                list_name=list,
                create_list=create_list,
                removals=len(removals),
                started=started,
                clock=clock,
                calls_before=calls_before,
            )
        notes: list[str] = []
        if list is not None and target is None:
            target = client.create_list(str(list))
            notes.append(f"created static list {target.name!r} (id {target.id})")
            if jr is None:
                jr = open_journal(str(target.id))
        upsert = action == SyncAction.CREATE_OR_UPDATE.value
        use_bulk = method == "bulk" or (
            method == "auto" and upsert and len(plan.send) >= bulk_threshold
        )
        if use_bulk and len(plan.send):
            from paragon_nb.sync.bulk import run_bulk

            run_bulk(
                client,
                plan,
                jr,
                list_id=target.id if target else None,
                lookup_field=lookup_field,
                partition=partition,
                clock=clock,
            )
            if len(plan.list_only) and target is not None:
                _Runner(
                    client,
                    plan,
                    jr,
                    target=target,
                    action=action,
                    lookup_field=lookup_field,
                    partition=partition,
                    workers=1,
                    progress=False,
                ).run(send=False)
        else:
            _Runner(
                client,
                plan,
                jr,
                target=target,
                action=action,
                lookup_field=lookup_field,
                partition=partition,
                workers=workers or DEFAULT_WORKERS,
                progress=_want_progress(progress),
            ).run()
        if removals:
            removed = lists.remove_members(client, target, removals)
            notes.append(f"mirror: removed {removed} members not in the input")
        result = _result(plan, clock.monotonic() - started, _calls(client) - calls_before)
        result.list_id = target.id if target else None
        result.list_name = target.name if target else None
        result.notes = notes
        result.lookup_column = plan.mapping.lookup_column
        result._rerun = _rerunner(
            df,
            client,
            dict(
                list=list,
                create_list=create_list,
                lookup_field=lookup_field,
                mapping=mapping,
                ignore=tuple(ignore),
                action=action,
                method=method,
                progress=progress,
                clear_missing=clear_missing,
                partition=partition,
                bulk_threshold=bulk_threshold,
                workers=workers,
                journal=journal,
                clock=clock,
            ),
        )
        return result
    finally:
        if jr is not None and own_journal:
            jr.close()


# --------------------------------------------------------------------------- execution


class _Runner:
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
        self._bar: Any = None

    def run(self, *, send: bool = True) -> None:
        """Send the plan's rows (``send=False``: only the pending list adds)."""
        plan = self.plan
        positions = plan.send if send else np.array([], dtype=np.int64)
        total = len(positions) + len(plan.list_only)
        if self.progress and total:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="rows", desc="sync", leave=True)
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
            while outstanding:
                outstanding = self._drain(outstanding, to_list)
                outstanding |= self._submit_adds(pool, to_list, full_only=False)
            outstanding |= self._submit_adds(pool, to_list, full_only=False)
            while outstanding:
                outstanding = self._drain(outstanding, to_list)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if self._bar is not None:
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
        if self.target is None or self._abort is not None:
            to_list.clear() if self.target is None else None
            return futures
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
            records = json.loads(text)
            results = self.client.sync_leads(
                records,
                action=self.action,
                lookup_field=self.lookup_field,
                partition=self.partition,
            )
        except MarketoError as exc:
            reason = _failure_reason(exc)
            if isinstance(exc, QuotaExceeded | MarketoAuthError):
                self._abort = reason
            self._fail(batch.tolist(), exc.code or "error", reason)
            if self.journal is not None:
                self.journal.finish_batch(
                    batch_id,
                    [(k, "failed", None, None, "failed", exc.code, reason) for k in keys],
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
        for p, key, res in zip(batch.tolist(), keys, results, strict=True):
            p = int(p)
            if res.status in (RecordStatus.CREATED, RecordStatus.UPDATED) or p in recovered:
                status = SyncStatus.CREATED.value if p in recovered else res.status.value
                lead = recovered.get(p, res.id)
                plan.status[p], plan.lead_id[p] = status, lead
                outcomes.append((key, "synced", int(plan.fps[p]), lead, status, None, None))
                synced.append(p)
            else:
                plan.status[p] = SyncStatus.SKIPPED.value
                plan.reason_code[p] = res.reason_code
                plan.reason[p] = res.reason
                outcomes.append(
                    (key, "skipped", None, None, "skipped", res.reason_code, res.reason)
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
                self._abort = _failure_reason(exc)
            self._mark_list_failure(with_id, exc.code or "error", _failure_reason(exc))
            self._tick(len(positions))
            return []
        by_id = {a.id: a for a in answers}
        ok_keys: list[str] = []
        for p in with_id:
            answer = by_id.get(int(plan.lead_id[p]))
            if answer is not None and answer.status.value == "added":
                ok_keys.append(plan.keys[p])
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
            self._bar.set_postfix(calls=_calls(self.client), refresh=False)


def _failure_reason(exc: MarketoError) -> str:
    if isinstance(exc, QuotaExceeded):
        when = exc.resets_at.isoformat() if exc.resets_at is not None else "the daily reset"
        return (
            f"Marketo daily API quota reached ({exc.code or '607'}); rows done so far are kept; "
            f"run the same sync again after {when} to resume"
        )
    return f"{exc}; run the same sync again to retry"


def _calls(client: Any) -> int:
    stats = getattr(client, "stats", None)
    return int(getattr(stats, "calls", 0) or 0)


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    except ImportError:  # pragma: no cover
        pass
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _result(plan: Plan, duration: float, calls: int) -> SyncResult:
    rows = empty_rows(plan.index)
    rows["status"] = pd.array(plan.status, dtype="str")
    rows["lead_id"] = pd.array(plan.lead_id, dtype="Int64")
    rows["reason_code"] = pd.array(plan.reason_code, dtype="str")
    rows["reason"] = pd.array(plan.reason, dtype="str")
    return SyncResult(rows=rows, calls=calls, duration=duration)


def _rerunner(df: pd.DataFrame, client: MarketoClient, kwargs: dict[str, Any]) -> Any:
    def rerun(positions: np.ndarray) -> SyncResult:
        return sync_leads(df.iloc[positions], client, **kwargs)

    return rerun
