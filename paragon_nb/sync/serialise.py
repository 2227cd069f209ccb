"""Vectorised JSON serialisation of the coerced frame: one JSON object text per row.

Each column becomes ``"name":value`` fragments with pyarrow compute (strings escaped,
numbers in shortest round-trip form, booleans ``true``/``false``); a row's fragments are
joined in REST-name order, skipping missing values (or sending ``null`` to clear them).
The texts are what a batch body's ``input`` holds, so they also give the fingerprint of
what was synced. Rows with characters pyarrow cannot escape cheaply (control characters
other than ``\\n \\r \\t \\b \\f``) fall back to ``json.dumps`` for that value.

    rows = row_json(prepared.frame)                 # pyarrow large_string array
    body = batch_text(rows, positions[:300])        # '[{"email":"a@x.com",...},...]'
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_text", "batch_records", "batch_text", "row_fingerprints", "row_json"]

_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
            ("\b", "\\b"), ("\f", "\\f"))  # fmt: skip
_OTHER_CONTROL = r"[\x00-\x07\x0b\x0e-\x1f]"


CHUNK_ROWS = 100_000


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, type=pa.large_string())


def arrow_text(s: pd.Series) -> pa.Array:
    """The values of ``s`` as text in one Arrow string array (null where missing)."""
    arr = pa.array(s.astype("str").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _arrow_strings(s: pd.Series) -> pa.Array:
    return arrow_text(s).cast(pa.large_string())


def _escaped(s: pd.Series) -> pa.Array:
    """String values escaped for the inside of JSON quotes (null where missing)."""
    arr = _arrow_strings(s)
    data = arr.buffers()[2]
    if data is None or len(arr) == 0:
        return arr
    raw = np.frombuffer(data, dtype=np.uint8)
    # One pass over the bytes: most columns hold no quote, backslash or control char.
    if not ((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any():
        return arr
    for old, new in _ESCAPES:
        arr = pc.replace_substring(arr, old, new)
    odd = pc.fill_null(pc.match_substring_regex(arr, _OTHER_CONTROL), False)
    if pc.any(odd).as_py():
        texts = arr.to_pylist()
        source = s.astype("str").to_numpy(dtype=object, na_value=None)
        for i in np.flatnonzero(odd.to_numpy(zero_copy_only=False)).tolist():
            texts[i] = json.dumps(source[i], ensure_ascii=False)[1:-1]
        arr = pa.array(texts, type=pa.large_string())
    return arr


def _values(s: pd.Series) -> tuple[pa.Array, bool]:
    """(JSON value texts without quotes, quoted?) for one coerced column."""
    dtype = s.dtype
    if isinstance(dtype, pd.BooleanDtype):
        arr = pa.array(s, type=pa.bool_(), from_pandas=True)
        return pc.if_else(arr, _s("true"), _s("false")), False
    if isinstance(dtype, pd.Int64Dtype):
        return pa.array(s, type=pa.int64(), from_pandas=True).cast(pa.large_string()), False
    if isinstance(dtype, pd.Float64Dtype):
        # Arrow prints doubles in shortest round-trip form ("0.1", "1000", "1e+300").
        return pa.array(s, type=pa.float64(), from_pandas=True).cast(pa.large_string()), False
    return _escaped(s), True


def row_json(
    frame: pd.DataFrame, *, clear_missing: bool = False, first: str | None = None
) -> pa.Array:
    """One JSON object text per row of ``frame``: ``first`` (the lookup field) then the
    other fields in sorted order. Missing values are omitted, or ``null`` with
    ``clear_missing``. Rows where ``first`` is missing get no valid text: they are
    invalid and never sent.

    Built without a per-row Python step: every row is a list of pieces (constant
    ``,"name":"`` prefixes and value texts) taken from one pool and joined by pyarrow.
    """
    names = sorted(str(c) for c in frame.columns)
    if first in names:
        names.remove(first)
        names.insert(0, first)
    n = len(frame)
    if not names:
        return pa.array(["{}"] * n, type=pa.large_string())
    consts: list[str] = ["{", "}", '"', "null"]
    columns: list[tuple[pa.Array, bool, int, int]] = []  # values, quoted, prefix, bare prefix
    for j, name in enumerate(names):
        values, quoted = _values(frame[name])
        key = ("" if j == 0 else ",") + json.dumps(name) + ":"
        consts.append(key + ('"' if quoted else ""))
        consts.append(key)
        columns.append((values, quoted, len(consts) - 2, len(consts) - 1))
    pool_parts = [pa.array(consts, type=pa.large_string())]
    bases = []
    offset = len(consts)
    for values, *_ in columns:
        bases.append(offset)
        pool_parts.append(values)
        offset += len(values)
    pool = pa.concat_arrays(pool_parts)
    slots = [1]
    for _, quoted, _, _ in columns:
        slots.append(slots[-1] + (3 if quoted else 2))
    width = slots[-1] + 1
    out = []
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        m = stop - start
        rows = np.arange(start, stop, dtype=np.int64)
        idx = np.empty((m, width), dtype=np.int64)
        idx[:, 0] = 0
        idx[:, -1] = 1
        complete = True
        for j, (values, quoted, prefix, bare) in enumerate(columns):
            col = slots[j]
            chunk = values.slice(start, m)
            if chunk.null_count == 0:
                idx[:, col] = prefix
                idx[:, col + 1] = bases[j] + rows
                if quoted:
                    idx[:, col + 2] = 2
                continue
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            idx[:, col] = np.where(valid, prefix, bare if clear_missing else -1)
            idx[:, col + 1] = np.where(valid, bases[j] + rows, 3 if clear_missing else -1)
            if quoted:
                idx[:, col + 2] = np.where(valid, 2, -1)
            complete = complete and clear_missing and not quoted  # else gaps (-1)
        if complete:
            flat = idx.ravel()
            offsets = np.arange(0, (m + 1) * width, width, dtype=np.int64)
        else:
            keep = idx >= 0
            flat = idx[keep]
            offsets = np.zeros(m + 1, dtype=np.int64)
            np.cumsum(keep.sum(axis=1), out=offsets[1:])
        pieces = pool.take(pa.array(flat))
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), pieces)
        out.append(pc.binary_join(lists, _s("")))
    return pa.concat_arrays(out) if len(out) > 1 else out[0]


def batch_text(rows: pa.Array, positions: Sequence[int] | np.ndarray) -> str:
    """The JSON array text of the rows at ``positions``."""
    taken = rows.take(pa.array(np.asarray(positions, dtype=np.int64)))
    return "[" + ",".join(taken.to_pylist()) + "]"


def batch_records(rows: pa.Array, positions: Sequence[int] | np.ndarray) -> list[dict]:
    """The rows at ``positions`` as dicts (what ``MarketoClient.sync_leads`` takes)."""
    return json.loads(batch_text(rows, positions))


def row_fingerprints(rows: pa.Array, positions: np.ndarray) -> np.ndarray:
    """64-bit fingerprints (int64) of the JSON texts at ``positions``; the same text gives
    the same number in every process (SipHash with pandas' fixed key)."""
    if len(positions) == 0:
        return np.zeros(0, dtype=np.int64)
    taken = rows.take(pa.array(np.asarray(positions, dtype=np.int64)))
    texts = np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)
    return pd.util.hash_array(texts, categorize=False).view(np.int64)
