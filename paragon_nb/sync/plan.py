"""Everything a sync decides before its first write: mapping, validation, duplicates,
change detection against the journal, and the per-batch JSON records.

``make_plan`` never calls Marketo (the caller passes describe's fields) and never writes;
it raises :class:`MappingError` / :class:`DuplicateKeyError` before any write.

    plan = make_plan(df, fields, lookup_field="email", journal=journal)
    plan.send          # positions to upsert, in input order
    plan.records(plan.send[:300])   # JSON-ready dicts (missing values omitted)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from paragon_nb.errors import DuplicateKeyError, PayloadTooLarge
from paragon_nb.marketo.batching import ENVELOPE_ALLOWANCE, MAX_BATCH, MAX_BODY_BYTES
from paragon_nb.marketo.models import LeadField
from paragon_nb.sync.journal import Journal
from paragon_nb.sync.mapping import ColumnMapping, build_mapping
from paragon_nb.sync.result import ROW_SCHEMA, SyncStatus, rows_frame
from paragon_nb.sync.serialise import (
    RowJson,
    array_texts,
    arrow_text,
    contiguous,
    row_fingerprints,
    text_hashes,
)
from paragon_nb.sync.validate import Prepared, prepare

__all__ = ["BODY_BUDGET", "Plan", "make_plan"]

# Bytes of ``input`` one Sync Leads body may carry (the 1 MB limit less the envelope).
BODY_BUDGET = MAX_BODY_BYTES - ENVELOPE_ALLOWANCE
# Rows serialised (and fingerprinted) per step: bounds the step's temporaries to a few MB.
SERIALISE_ROWS = 25_000


class Keys:
    """The normalised lookup value of each row, kept in Arrow: Python strings are made only
    for the positions asked for (a million of them would cost ~80 MB)."""

    def __init__(self, lookup: pd.Series) -> None:
        self.array = arrow_text(lookup)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, position: int) -> str | None:
        return self.array[int(position)].as_py()

    def many(self, positions: np.ndarray | list[int]) -> list[str | None]:
        """Values at ``positions`` as a list."""
        return self.array.take(pa.array(np.asarray(positions, dtype=np.int64))).to_pylist()

    def __iter__(self) -> Iterator[str | None]:
        for start in range(0, len(self.array), 100_000):
            yield from self.array.slice(start, 100_000).to_pylist()


def _split(nbytes: np.ndarray, size: int, budget: int) -> Iterator[tuple[int, int]]:
    """``(lo, hi)`` ranges over rows of ``nbytes`` bytes each: <= ``size`` rows and
    ``budget`` bytes (texts plus separating commas) per range."""
    n = len(nbytes)
    cost = nbytes.astype(np.int64) + 1
    ends = np.cumsum(cost)
    starts = np.arange(0, n, size)
    # Fast path: every fixed window of ``size`` rows fits.
    window = ends[np.minimum(starts + size, n) - 1] - np.concatenate([[0], ends])[starts]
    if (window <= budget).all():
        for lo in starts.tolist():
            yield lo, min(lo + size, n)
        return
    lo, used = 0, 0
    for i, c in enumerate(cost.tolist()):
        if c > budget:
            raise PayloadTooLarge(
                f"one row is {c:,} bytes of JSON, over the 1 MB body limit of a Marketo call; "
                "shorten its text fields",
                code="413",
            )
        if i - lo >= size or used + c > budget:
            yield lo, i
            lo, used = i, 0
        used += c
    if lo < n:
        yield lo, n


def _duplicates(keys: Keys, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of earlier duplicates, position of the kept last occurrence for each)
    among the ``valid`` positions (which all have a key).

    Keys are compared by 64-bit hash first (keys with different hashes differ), then
    exactly, by Arrow's dictionary encoding, among the few rows whose hash repeats."""
    if len(valid) == 0:
        return valid, valid
    whole = len(valid) == len(keys)  # no invalid row: no copy of the keys
    hashes = text_hashes(keys.array if whole else keys.array.take(pa.array(valid)))
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return valid[:0], valid[:0]  # every key distinct (the usual case)
    candidates = valid[np.isin(hashes, repeated)]
    encoded = pc.dictionary_encode(keys.array.take(pa.array(candidates)))
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.arange(len(codes), dtype=np.int64)
    last = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    np.maximum.at(last, codes, order)
    kept = last[codes]
    dup = kept != order
    return candidates[dup], candidates[kept[dup]]


@dataclass
class Plan:
    """Per-row decisions, by position (0..n-1) in the input.

    ``status``/``lead_id``/``reason_code``/``reason`` are pre-filled for rows settled
    locally (invalid, duplicate, unchanged); ``send`` are the rows to upsert; ``list_only``
    rows were upserted by an earlier (interrupted) run but not yet added to the list.
    ``pending`` flags rows a previous run left in flight; ``settled`` are the rows the
    journal settled (unchanged values, including the list-only ones), which
    :func:`~paragon_nb.sync.verify.verify_settled` checks against Marketo.
    """

    index: pd.Index
    mapping: ColumnMapping
    prepared: Prepared
    keys: Keys  # normalised lookup values (None where missing)
    fps: np.ndarray  # int64 fingerprints
    cols: dict[str, np.ndarray]  # one object array per ROW_SCHEMA column (the result)
    send: np.ndarray  # int positions
    list_only: np.ndarray  # int positions
    pending: np.ndarray  # bool
    settled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    clear_missing: bool = False
    _texts: pa.ChunkedArray | None = None  # JSON text per fingerprinted row (see fingerprints)
    _text_at: np.ndarray | None = None  # position -> index into _texts, -1 when absent
    _json: RowJson | None = None  # the frame's column value texts, made on first use

    @property
    def n(self) -> int:
        return len(self.index)

    # The result columns the sync logic fills (views on ``cols``).
    status = property(lambda self: self.cols["status"])
    lead_id = property(lambda self: self.cols["lead_id"])
    reason_code = property(lambda self: self.cols["reason_code"])
    reason = property(lambda self: self.cols["reason"])

    def result_rows(self, *, lookup_values: Any = None) -> pd.DataFrame:
        """The result frame (``ROW_SCHEMA`` columns, the lookup column first when
        ``lookup_values`` are given)."""
        lookup = self.mapping.lookup_column
        pair = (lookup, lookup_values) if lookup is not None and lookup_values is not None else None
        return rows_frame(self.index, self.cols, lookup=pair)

    def resend(self, positions: np.ndarray) -> None:
        """Un-settle ``positions`` (their leads are gone from Marketo): send them again."""
        if len(positions) == 0:
            return
        self.status[positions] = None
        self.lead_id[positions] = None
        self.reason[positions] = None
        self.send = np.union1d(self.send, positions).astype(np.int64)
        self.list_only = np.setdiff1d(self.list_only, positions).astype(np.int64)
        self.settled = np.setdiff1d(self.settled, positions).astype(np.int64)

    def _rows(self, positions: np.ndarray) -> pa.Array | pa.ChunkedArray:
        """The JSON object texts of ``positions``: taken from the texts the fingerprints
        were computed from (one serialisation per row), else serialised now."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._texts is not None and len(positions):
            at = self._text_at[positions]
            if (at >= 0).all():
                if contiguous(at):
                    return self._texts.slice(int(at[0]), len(at))
                return self._texts.take(pa.array(at))
        if self._json is None:
            self._json = RowJson(
                self.prepared.frame,
                clear_missing=self.clear_missing,
                first=self.mapping.lookup_field.name,
            )
        return self._json.rows(positions)

    def records(self, positions: np.ndarray) -> list[dict[str, object]]:
        """The JSON records for ``positions`` (REST names; missing values omitted unless
        ``clear_missing``, then sent as null to clear the field)."""
        return json.loads(self.batch_text(positions))

    def batch_text(self, positions: np.ndarray) -> str:
        """The JSON array text of ``positions`` (the ``input`` of one sync call)."""
        return array_texts(self._rows(positions), [0, len(positions)])[0]

    def iter_batches(
        self, positions: np.ndarray, *, size: int = MAX_BATCH, per_chunk: int = 100
    ) -> Iterator[tuple[np.ndarray, str]]:
        """``(batch positions, JSON array text)`` for consecutive batches of <= ``size``
        rows and <= 1 MB of body: exactly the Sync Leads calls a real run makes (the dry
        run counts them). Rows are serialised ``per_chunk`` batches at a time, so memory
        stays bounded; the text is the one the fingerprints were taken of. The first steps
        are 1, 4, 16... batches, so the first call leaves before the rest of the input is
        serialised (30k rows: ~50 ms sooner)."""
        start, batches = 0, 1
        while start < len(positions):
            chunk = positions[start : start + size * batches]
            start += len(chunk)
            batches = min(per_chunk, batches * 4)
            rows = self._rows(chunk)
            nbytes = pc.binary_length(rows).to_numpy(zero_copy_only=False)
            ranges = list(_split(nbytes, size, BODY_BUDGET))
            bounds = [lo for lo, _ in ranges] + [ranges[-1][1]] if ranges else [0]
            texts = array_texts(rows, bounds)
            for (lo, hi), text in zip(ranges, texts, strict=True):
                yield chunk[lo:hi], text

    def batch_count(self, positions: np.ndarray) -> int:
        """How many Sync Leads calls :meth:`iter_batches` makes for ``positions``."""
        return sum(1 for _ in self.iter_batches(positions))

    def fingerprints(self, positions: np.ndarray, *, keep: bool = False) -> np.ndarray:
        """Fingerprints of the JSON texts of ``positions``; ``keep=True`` keeps the texts
        (Arrow buffers, about the size of the JSON) so the batches send the very text
        that was fingerprinted instead of serialising the rows again. Serialised
        ``SERIALISE_ROWS`` rows at a time: the temporaries of a step stay small."""
        parts: list[pa.Array] = []
        fps: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for start in range(0, len(positions), SERIALISE_ROWS):
            texts = self._rows(positions[start : start + SERIALISE_ROWS])
            fps.append(row_fingerprints(texts, np.arange(len(texts))))
            if keep:
                parts.append(texts)
        if keep:
            self._text_at = np.full(self.n, -1, dtype=np.int64)
            self._text_at[positions] = np.arange(len(positions))
            self._texts = pa.chunked_array(parts, type=pa.large_string())
            self._json = None  # every row to send is in _texts now
        return np.concatenate(fps)


def make_plan(
    df: pd.DataFrame,
    fields: list[LeadField],
    *,
    mapping: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    lookup_field: str = "email",
    action: str = "createOrUpdate",
    on_duplicate: str = "skip",
    journal: Journal | None = None,
    has_list: bool = False,
    clear_missing: bool = False,
    fingerprint: bool = True,
) -> Plan:
    """Map, validate, de-duplicate and diff ``df`` against the journal (no writes).
    ``fingerprint=False`` skips fingerprints (and so the journal diff): benchmarks only."""
    if on_duplicate not in ("skip", "raise"):
        raise ValueError(f"on_duplicate must be 'skip' or 'raise', got {on_duplicate!r}")
    cm = build_mapping(
        list(df.columns),
        fields,
        mapping=mapping,
        ignore=ignore,
        lookup_field=lookup_field,
        action=action,
    )
    prepared = prepare(df, cm)
    n = len(df)
    cols = {name: np.full(n, None, dtype=object) for name in ROW_SCHEMA}
    status, reason_code, reason = cols["status"], cols["reason_code"], cols["reason"]
    for pos, text in prepared.reasons.items():
        status[pos] = SyncStatus.INVALID.value
        reason_code[pos] = prepared.codes.get(pos, "invalid")
        reason[pos] = text
    keys = Keys(prepared.lookup)
    valid = np.flatnonzero(~prepared.invalid)
    dup_positions, kept_positions = _duplicates(keys, valid)
    if len(dup_positions):
        if on_duplicate == "raise":
            sample = [
                f"{keys[p]!r} at rows {df.index[p]!r} and {df.index[k]!r}"
                for p, k in zip(
                    dup_positions[:5].tolist(), kept_positions[:5].tolist(), strict=True
                )
            ]
            raise DuplicateKeyError(
                f"{len(dup_positions)} rows repeat a {lookup_field} value already in the input "
                f"({'; '.join(sample)}); remove them, or pass on_duplicate='skip' to send the "
                "last occurrence"
            )
        for p, keep in zip(dup_positions.tolist(), kept_positions.tolist(), strict=True):
            status[p] = SyncStatus.SKIPPED.value
            reason_code[p] = "duplicate"
            reason[p] = (
                f"duplicate {lookup_field} {keys[p]!r}: row {df.index[keep]!r} "
                "(its last occurrence) was sent instead"
            )
    todo = np.flatnonzero(pd.isna(status))
    plan = Plan(
        index=df.index,
        mapping=cm,
        prepared=prepared,
        keys=keys,
        fps=np.zeros(n, dtype=np.int64),
        cols=cols,
        send=todo,
        list_only=np.zeros(0, dtype=np.int64),
        pending=np.zeros(n, dtype=bool),
        clear_missing=clear_missing,
    )
    if fingerprint and len(todo):
        plan.fps[todo] = plan.fingerprints(todo, keep=True)
    if journal is not None and fingerprint and len(todo):
        _diff(plan, journal, todo, has_list=has_list)
    return plan


def _diff(plan: Plan, journal: Journal, todo: np.ndarray, *, has_list: bool) -> None:
    """Settle rows the journal says are synced with the same fingerprint: ``unchanged``
    (list-only when not yet in the list); flag rows a previous run left pending. Pending,
    failed and skipped journal rows are sent again."""
    if journal.count() == 0:
        return  # a first sync: nothing to compare with
    keys = plan.keys.many(todo)
    known = journal.lookup(keys)
    if not len(known):
        return
    j = known.reindex(keys)
    # Exact int64 comparison (a missing fingerprint never equals anything).
    has_fp = j["fingerprint"].notna().to_numpy(dtype=bool)
    jfp = j["fingerprint"].to_numpy(dtype=np.int64, na_value=0)
    same = has_fp & (jfp == plan.fps[todo])
    state = j["state"].to_numpy(dtype=object, na_value=None)
    synced = state == "synced"
    listed = j["listed"].to_numpy(dtype=object, na_value=False).astype(bool) | (not has_list)
    plan.pending[todo] = state == "pending"
    done = synced & same
    ids = j["lead_id"].to_numpy(dtype=object, na_value=None)
    plan.lead_id[todo[done]] = ids[done]
    plan.status[todo[done]] = SyncStatus.UNCHANGED.value
    plan.send = todo[~done]
    plan.list_only = todo[done & ~listed]
    plan.settled = todo[done]
