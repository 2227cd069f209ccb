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

import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import (
    ConfigurationError,
    SyncError,
)
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import SyncAction
from paragon_nb.sync import dryrun, lists
from paragon_nb.sync.journal import Journal, instance_of
from paragon_nb.sync.plan import Plan, make_plan
from paragon_nb.sync.result import SyncResult, empty_rows
from paragon_nb.sync.sender import BatchSender, calls_made
from paragon_nb.sync.verify import verify_settled

__all__ = ["DEFAULT_BULK_THRESHOLD", "sync_leads"]

DEFAULT_BULK_THRESHOLD = 250_000
DESCRIBE = "GET /rest/v1/leads/describe.json"
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
    full_resync: bool = False,
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
      Rows the journal settles as unchanged are verified against Marketo first (one read
      call for a sample of up to 300 lead ids; all of them by id on any miss).
    - ``full_resync=True``: ignore the journal for this run (send every valid row) and
      record the results afresh; a corrupt journal file is moved aside and replaced.

    Raises (before any write): :class:`MappingError`, :class:`DuplicateKeyError`,
    :class:`JournalError` (corrupt or unreadable journal: move it aside or full_resync),
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
    calls_before = calls_made(client)
    describes_before = calls_made(client, DESCRIBE)
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
            instance=instance_of(client),
            lookup_field=lookup_field,
            list_key=list_key,
            path=journal if isinstance(journal, str | Path) else None,
            clock=clock,
            replace_corrupt=full_resync,
        )

    # Opened (and checked) before anything is written; a list that does not exist yet has
    # no journal rows: its scope is set once the list is created.
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
            journal=None if full_resync or (target is None and list is not None) else jr,
            has_list=list is not None,
            clear_missing=clear_missing,
        )
        verify_settled(client, plan, lookup_field=lookup_field)
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
                # what the real run repeats; its describe is cached on this client by then
                setup_calls=calls_made(client)
                - calls_before
                - (calls_made(client, DESCRIBE) - describes_before),
            )
        notes: list[str] = []
        if list is not None and target is None:
            target = client.create_list(str(list))
            notes.append(f"created static list {target.name!r} (id {target.id})")
            if jr is not None and not isinstance(journal, Journal):
                jr.rescope(list_key=str(target.id))
        upsert = action == SyncAction.CREATE_OR_UPDATE.value
        use_bulk = method == "bulk" or (
            method == "auto" and upsert and len(plan.send) >= bulk_threshold
        )
        sender = partial(
            BatchSender,
            client,
            plan,
            jr,
            target=target,
            action=action,
            lookup_field=lookup_field,
            partition=partition,
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
                # unchanged leads missing from the list: list adds only, no upserts
                sender(workers=1, progress=False).run(send=False)
        else:
            sender(workers=workers or DEFAULT_WORKERS, progress=_want_progress(progress)).run()
        if removals:
            removed = lists.remove_members(client, target, removals)
            notes.append(f"mirror: removed {removed} members not in the input")
        result = _result(plan, clock.monotonic() - started, calls_made(client) - calls_before)
        result.list_id = target.id if target else None
        result.list_name = target.name if target else None
        if jr is not None and jr.replaced is not None:
            notes.append(f"the corrupt journal was moved to {str(jr.replaced)!r}")
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


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    # In a Jupyter kernel IPython is already loaded; never import it from the core.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return True
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
