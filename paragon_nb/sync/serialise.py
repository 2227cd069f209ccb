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
_OTHER_CONTROL_BYTES = frozenset([*range(0x00, 0x08), 0x0B, *range(0x0E, 0x20)])


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
    special = (raw < 0x20) | (raw == 0x22) | (raw == 0x5C)
    if not special.any():
        return arr
    present = set(np.unique(raw[special]).tolist())  # which of them: only those passes
    for old, new in _ESCAPES:
        if ord(old) in present:
            arr = pc.replace_substring(arr, old, new)
    if not present & _OTHER_CONTROL_BYTES:
        return arr
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

    Built without a per-row Python step: each column becomes ``"name":value`` fragments
    (null where the value is missing) and pyarrow joins a row's fragments with commas,
    skipping the nulls, in one pass over all columns.
    """
    names = sorted(str(c) for c in frame.columns)
    if first in names:
        names.remove(first)
        names.insert(0, first)
    if not names:
        return pa.array(["{}"] * len(frame), type=pa.large_string())
    fragments = []
    for name in names:
        values, quoted = _values(frame[name])
        key = json.dumps(name) + ":"
        if quoted:
            fragment = pc.binary_join_element_wise(_s(key + '"'), values, _s('"'), _s(""))
        else:
            fragment = pc.binary_join_element_wise(_s(key), values, _s(""))
        if clear_missing:
            fragment = pc.fill_null(fragment, _s(key + "null"))
        fragments.append(fragment)
    inner = pc.binary_join_element_wise(*fragments, _s(","), null_handling="skip")
    out = pc.binary_join_element_wise(_s("{"), inner, _s("}"), _s(""))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


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
    positions = np.asarray(positions, dtype=np.int64)
    whole = len(positions) == len(rows) and bool((positions == np.arange(len(rows))).all())
    taken = rows if whole else rows.take(pa.array(positions))
    texts = np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object)
    return pd.util.hash_array(texts, categorize=False).view(np.int64)
