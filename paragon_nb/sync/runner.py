"""``sync_leads``: leads into Marketo (and a static list), one result row per input row.

Flow: describe + list lookup (once per sync) -> for each chunk of the input: plan (map,
validate, de-duplicate, diff against the journal; errors here stop the sync before any
write) -> verify what the journal settled -> batches of <= 300 upserted by worker threads
through the one shared client (its limiter keeps us within Marketo's rate and concurrency
limits) -> list adds pipelined behind the upserts -> result rows. A DataFrame is one chunk
and its result stays in memory; an iterable, a CSV/Parquet path, a Dask or a PySpark
DataFrame is streamed: each chunk's rows go to a Parquet report on disk as it finishes.

    result = sync_leads(df, client, list="Newsletter", create_list=True)
    result = sync_leads("leads.csv", client, list="Newsletter", chunk_size=50_000)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import ConfigurationError, SyncError
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import SyncAction
from paragon_nb.sync import dryrun, lists
from paragon_nb.sync.journal import Journal, instance_of
from paragon_nb.sync.options import (
    DEFAULT_BULK_THRESHOLD,
    DEFAULT_CHUNK_SIZE,
    SyncOptions,
)
from paragon_nb.sync.plan import Plan, make_plan
from paragon_nb.sync.result import SyncResult
from paragon_nb.sync.sender import BatchSender, calls_made, want_progress
from paragon_nb.sync.sources import open_source
from paragon_nb.sync.stream import stream_sync
from paragon_nb.sync.verify import verify_settled

__all__ = ["DEFAULT_BULK_THRESHOLD", "DEFAULT_CHUNK_SIZE", "run_sync", "sync_leads"]

DEFAULT_WORKERS = 8
DESCRIBE = "GET /rest/v1/leads/describe.json"


def sync_leads(
    df: Any,
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
    fill_ids: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    report: str | Path | None = None,
    clock: Clock | None = None,
) -> SyncResult:
    """Upsert every row of ``df`` into Marketo and (optionally) a static list.

    - ``df``: a pandas DataFrame, an iterable of DataFrames (``pd.read_csv(path,
      chunksize=...)``), a CSV or Parquet path, a Dask DataFrame (extra ``dask``) or a
      PySpark DataFrame (extra ``spark``). All but a DataFrame are streamed in chunks of
      ``chunk_size`` rows with memory O(chunk); their result rows go to a Parquet file as
      they finish (``result.rows_path``; ``result.rows`` loads it on use).
    - ``list``: list name or id; ``create_list=True`` creates a missing static list.
      ``mirror=True`` (DataFrames only) also removes members whose lead is not in ``df``;
      above ``mirror_threshold`` removals it needs ``confirm=True``.
    - ``mapping`` (column -> REST field) wins over auto-mapping; ``ignore`` drops columns.
    - ``on_duplicate``: ``"skip"`` (last occurrence sent, earlier rows ``skipped`` with
      reason code ``duplicate``, also across chunks) or ``"raise"`` (:class:`DuplicateKeyError`).
    - ``clear_missing``: send missing values as null (clears the field) instead of omitting.
    - ``method``: ``"rest"``, ``"bulk"`` (Bulk Import) or ``"auto"`` (bulk when at least
      ``bulk_threshold`` rows of a chunk need sending); ``fill_ids`` reads the lead ids of
      imported rows back (<= 300 per read call).
    - ``progress``: None = a tqdm bar when interactive, True/False to force.
    - ``journal``: None = ``journal.sqlite3`` under the home folder, a path, a
      :class:`Journal`, or False for none (no change detection, no resume).
      Rows the journal settles as unchanged are verified against Marketo first (one read
      call for a sample of up to 300 lead ids; all of them by id on any miss).
    - ``full_resync=True``: ignore the journal for this run (send every valid row) and
      record the results afresh; a corrupt journal file is moved aside and replaced.
    - ``report``: also write the result rows to this CSV or Parquet file.

    Raises (before any write): :class:`MappingError`, :class:`DuplicateKeyError`,
    :class:`JournalError` (corrupt or unreadable journal: move it aside or full_resync),
    :class:`SyncError` (unknown list, mirror needs confirmation), ``ConfigurationError``
    (bad option or input), and whatever ``describe`` raises (auth). Failures after writes
    started never raise: they become ``failed`` rows with the reason and when to resume.
    """
    options = SyncOptions(
        list=list,
        create_list=create_list,
        lookup_field=lookup_field,
        mapping=mapping,
        ignore=tuple(ignore),
        action=action,
        dry_run=dry_run,
        method=method,
        progress=progress,
        on_duplicate=on_duplicate,
        clear_missing=clear_missing,
        mirror=mirror,
        confirm=confirm,
        mirror_threshold=mirror_threshold,
        partition=partition,
        bulk_threshold=bulk_threshold,
        workers=workers,
        journal=journal,
        full_resync=full_resync,
        fill_ids=fill_ids,
        chunk_size=chunk_size,
        report=report,
        clock=clock,
    )
    return run_sync(df, client, options)


def run_sync(data: Any, client: MarketoClient, options: SyncOptions) -> SyncResult:
    """:func:`sync_leads` with its options as one :class:`SyncOptions`."""
    options.check()
    source = open_source(data, chunk_size=int(options.chunk_size))
    run = _Run(client, options)
    try:
        if source.streamed:
            result = stream_sync(run, source)
            if not options.dry_run:
                result._resume = _resumer(data, client, options)
        else:
            frame = next(source.frames)
            result = run.frame(frame)
            if not options.dry_run:
                result._rerun = lambda positions: run_sync(
                    frame.iloc[positions], client, replace(options, mirror=False, report=None)
                )  # a retry sends failed rows only: mirroring them would drop the others
        if options.report is not None:
            _write_report(result, Path(options.report))
        if not options.dry_run and run.journal is not None:
            report = options.report or result.rows_path
            run.journal.record_run(
                list_name=result.list_name,
                input=source.description,
                started_at=run.wall_start,
                counts=result.counts,
                calls=result.calls,
                report=str(Path(report).resolve()) if report is not None else None,
            )
        return result
    finally:
        run.close()


def _resumer(data: Any, client: MarketoClient, options: SyncOptions) -> Any:
    """How ``retry()`` resumes a streamed sync: the same sync again over the same input,
    which the journal turns into sending only the rows not finished. Only for inputs that
    can be read a second time (a path, a Dask or Spark DataFrame) with the journal on;
    else the reason ``retry()`` gives instead."""
    if options.journal is False:
        return (
            "this streamed sync ran with journal=False, so a retry would send every row "
            "again; rerun sync_leads with the journal on (the default) to resume"
        )
    if isinstance(data, str | Path) or type(data).__module__.split(".")[0] in ("dask", "pyspark"):
        return lambda: run_sync(data, client, options)
    return (
        "a streamed sync of an iterable cannot read its input again; call sync_leads again "
        "with the same chunks: the journal sends only the rows not finished"
    )


def _write_report(result: SyncResult, path: Path) -> None:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            result.to_parquet(path)
        else:
            result.to_csv(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot write report {str(path)!r}: {exc}") from None


class _Run:
    """One sync: what every chunk shares (fields, list, journal, the verification verdict)."""

    def __init__(self, client: MarketoClient, options: SyncOptions) -> None:
        self.client, self.o = client, options
        self.clock = options.clock or system_clock
        self.started = self.clock.monotonic()
        self.wall_start = self.clock.time()
        self.calls_before = calls_made(client)
        describes_before = calls_made(client, DESCRIBE)
        self.notes: list[str] = []
        self.trusted: bool | None = None
        self.verify_calls = 0
        self.journal: Journal | None = None
        self._own_journal = False
        # Two reads that do not depend on each other: one round trip instead of two.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="paragon-sync-start") as pool:
            described = pool.submit(client.describe)
            found = (
                pool.submit(lists.find_list, client, options.list)
                if options.list is not None
                else None
            )
            self.fields = described.result()
            self.target = found.result() if found is not None else None
        if options.list is not None and self.target is None and not options.create_list:
            raise SyncError(lists.missing_list_message(client, options.list))
        # The real run repeats these calls; its describe is cached on this client by then.
        self.setup_calls = calls_made(client) - self.calls_before
        self.setup_calls -= calls_made(client, DESCRIBE) - describes_before
        # A list to create: its folder (a read) is looked up while the input is planned; the
        # list itself is created only once planning found nothing that stops the sync.
        self._folder: Future[dict[str, Any]] | None = None
        if options.list is not None and self.target is None and not options.dry_run:
            self._folder_pool = ThreadPoolExecutor(1, thread_name_prefix="paragon-sync-folder")
            self._folder = self._folder_pool.submit(client.default_list_folder)
        try:
            self._open_journal()
        except BaseException:
            self.close()
            raise

    def _open_journal(self) -> None:
        """Opened (and checked) before anything is written; a list that does not exist yet
        has no journal rows: the scope is set once the list is created."""
        j = self.o.journal
        if j is False:
            return
        if isinstance(j, Journal):
            self.journal = j
            return
        self.journal = Journal(
            instance=instance_of(self.client),
            lookup_field=self.o.lookup_field,
            list_key=str(self.target.id) if self.target is not None else "",
            path=j if isinstance(j, str | Path) else None,
            clock=self.clock,
            replace_corrupt=self.o.full_resync,
        )
        self._own_journal = True
        if self.journal.replaced is not None:
            self.notes.append(f"the corrupt journal was moved to {str(self.journal.replaced)!r}")

    def close(self) -> None:
        if self._folder is not None:
            self._folder_pool.shutdown(wait=True)
        if self.journal is not None and self._own_journal:
            self.journal.close()

    # ------------------------------------------------------------------ steps
    def diff_journal(self) -> Journal | None:
        """The journal the plan is diffed against: none for a full resync or a list that
        does not exist yet (it has no journal rows)."""
        new_list = self.o.list is not None and self.target is None
        return None if self.o.full_resync or new_list else self.journal

    def plan(self, df: pd.DataFrame, *, adjust: Callable[[Plan], None] | None = None) -> Plan:
        """Plan ``df``; ``adjust`` (a streamed sync's cross-chunk decisions) may change the
        plan before the rows the journal settled are verified against Marketo."""
        o = self.o
        plan = make_plan(
            df,
            self.fields,
            mapping=o.mapping,
            ignore=o.ignore,
            lookup_field=o.lookup_field,
            action=o.action,
            on_duplicate=o.on_duplicate,
            journal=self.diff_journal(),
            has_list=o.list is not None,
            clear_missing=o.clear_missing,
        )
        if adjust is not None:
            adjust(plan)
        before = calls_made(self.client)
        self.trusted = verify_settled(
            self.client, plan, lookup_field=o.lookup_field, trusted=self.trusted
        )
        self.verify_calls = calls_made(self.client) - before  # a real run makes them too
        return plan

    def ensure_list(self) -> None:
        o = self.o
        if o.list is None or self.target is not None:
            return
        folder = self._folder.result() if self._folder is not None else None
        self.target = self.client.create_list(str(o.list), folder=folder)
        self.notes.append(f"created static list {self.target.name!r} (id {self.target.id})")
        if self.journal is not None and self._own_journal:
            self.journal.rescope(list_key=str(self.target.id))

    def send(self, plan: Plan, *, bar: Any = None) -> None:
        o = self.o
        upsert = o.action == SyncAction.CREATE_OR_UPDATE.value
        use_bulk = o.method == "bulk" or (
            o.method == "auto"
            and upsert
            and not o.clear_missing  # a Bulk Import cannot send null
            and len(plan.send) >= o.bulk_threshold
        )
        common = dict(target=self.target, action=o.action, lookup_field=o.lookup_field,
                      partition=o.partition, bar=bar, calls_base=self.calls_before)  # fmt: skip
        progress = want_progress(o.progress)
        if use_bulk and len(plan.send):
            from paragon_nb.sync.bulk import run_bulk

            run_bulk(
                self.client,
                plan,
                self.journal,
                list_id=self.target.id if self.target else None,
                lookup_field=o.lookup_field,
                partition=o.partition,
                clock=self.clock,
                fill_ids=o.fill_ids,
            )
            if len(plan.list_only) and self.target is not None:
                # unchanged leads missing from the list: list adds only, no upserts
                BatchSender(self.client, plan, self.journal, workers=1, progress=False,
                            **common).run(send=False)  # fmt: skip
        else:
            workers = o.workers or DEFAULT_WORKERS
            BatchSender(self.client, plan, self.journal, workers=workers, progress=progress,
                        **common).run()  # fmt: skip

    def lookup_values(self, plan: Plan, df: pd.DataFrame) -> Any:
        col = plan.mapping.lookup_column
        return df[col].to_numpy(dtype=object) if col is not None and col in df.columns else None

    def meta(self) -> dict[str, Any]:
        return dict(
            calls=calls_made(self.client) - self.calls_before,
            duration=self.clock.monotonic() - self.started,
            list_id=self.target.id if self.target else None,
            list_name=self.target.name if self.target else None,
            notes=self.notes,
        )

    # ------------------------------------------------------------------ one frame
    def frame(self, df: pd.DataFrame) -> SyncResult:
        o = self.o
        plan = self.plan(df)
        lookup = (plan.mapping.lookup_column, self.lookup_values(plan, df))
        removals: list[int] = []
        if o.mirror and self.target is not None:
            removals = lists.mirror_removals(self.client, self.target, plan, o.lookup_field)
            if len(removals) > o.mirror_threshold and not o.confirm and not o.dry_run:
                raise SyncError(
                    f"mirror=True would remove {len(removals)} members of list "
                    f"{self.target.name!r} (id {self.target.id}) that are not in the input, more "
                    f"than mirror_threshold={o.mirror_threshold}; pass confirm=True to remove them"
                )
        if o.dry_run:
            return self.dry(plan, lookup, removals=len(removals), setup=self.setup_calls)
        self.ensure_list()
        self.send(plan)
        if removals:
            removed = lists.remove_members(self.client, self.target, removals)
            self.notes.append(f"mirror: removed {removed} members not in the input")
        return SyncResult(
            rows=plan.result_rows(lookup_values=lookup[1]),
            lookup_column=plan.mapping.lookup_column,
            **self.meta(),
        )

    def dry(
        self, plan: Plan, lookup: Any, *, removals: int, setup: int, first: bool = True
    ) -> SyncResult:
        """The dry run of ``plan``; ``first``: the first chunk of the sync (the one that
        counts the setup calls and a list creation)."""
        o = self.o
        return dryrun.plan_result(
            self.client,
            plan,
            lookup_field=o.lookup_field,
            list_target=self.target,
            list_name=o.list,
            create_list=o.create_list and first,
            removals=removals,
            started=self.started,
            clock=self.clock,
            calls_before=self.calls_before,
            setup_calls=setup + self.verify_calls,
            lookup=lookup if lookup[1] is not None else None,
        )
