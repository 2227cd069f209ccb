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

__all__ = [
    "RowJson",
    "array_texts",
    "arrow_text",
    "batch_records",
    "batch_text",
    "contiguous",
    "row_fingerprints",
    "row_json",
    "text_hashes",
]

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


class RowJson:
    """The JSON object texts of a coerced frame's rows, made column-wise.

    Each column's value texts (escaped, numbers and booleans as JSON) are made once for
    the whole frame; :meth:`rows` then joins the rows asked for in one pyarrow call over
    all columns: the ``"name":`` keys of columns with no missing value are folded into the
    literal pieces between values, and a column with missing values gives a
    ``,"name":value`` fragment that is null (so skipped) where the value is missing, or
    ``,"name":null`` with ``clear_missing``. The field order is ``first`` (the lookup
    field) then the other fields sorted by name.
    """

    def __init__(
        self, frame: pd.DataFrame, *, clear_missing: bool = False, first: str | None = None
    ) -> None:
        names = sorted(str(c) for c in frame.columns)
        if first in names:
            names.remove(first)
            names.insert(0, first)
        self.n = len(frame)
        self.clear_missing = clear_missing
        self.columns = [(name, *_values(frame[name])) for name in names]

    def __len__(self) -> int:
        return self.n

    def rows(self, positions: np.ndarray | None = None) -> pa.Array:
        """The texts of the rows at ``positions`` (all rows when None), in that order."""
        where = _where(positions, self.n)
        size = where[1] if isinstance(where, tuple) else len(where)
        if not self.columns:
            return pa.array(["{}"] * size, type=pa.large_string())
        args: list[pa.Array | pa.Scalar] = []
        literal = "{"  # the text since the last value
        lead_may_miss = False
        for i, (name, values, quoted) in enumerate(self.columns):
            values = _select(values, where)
            key = ("," if i else "") + json.dumps(name) + ":"
            opening, closing = ('"', '"') if quoted else ("", "")
            if values.null_count == 0:
                args += [_s(literal + key + opening), values]
                literal = closing
                continue
            fragment = pc.binary_join_element_wise(_s(key + opening), values, _s(closing), _s(""))
            if self.clear_missing:
                fragment = pc.fill_null(fragment, _s(key + "null"))
            else:
                lead_may_miss |= i == 0
            if literal:
                args.append(_s(literal))
            args.append(fragment)
            literal = ""
        args.append(_s(literal + "}"))
        out = pc.binary_join_element_wise(*args, _s(""), null_handling="skip")
        if lead_may_miss:
            # Rows missing the first field: the next present one brought its comma. (They
            # are invalid rows, never sent, when the first field is the lookup field.)
            out = pc.replace_substring_regex(out, r"^\{,", "{", max_replacements=1)
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def row_json(
    frame: pd.DataFrame, *, clear_missing: bool = False, first: str | None = None
) -> pa.Array:
    """One JSON object text per row of ``frame``: ``first`` (the lookup field) then the
    other fields in sorted order. Missing values are omitted, or ``null`` with
    ``clear_missing``. Built without a per-row Python step (see :class:`RowJson`)."""
    return RowJson(frame, clear_missing=clear_missing, first=first).rows()


def _where(positions: np.ndarray | None, n: int) -> tuple[int, int] | pa.Array:
    """``(offset, length)`` for a run of consecutive positions (a zero-copy slice), else the
    positions as an Arrow index array."""
    if positions is None:
        return 0, n
    positions = np.asarray(positions, dtype=np.int64)
    if contiguous(positions):
        return int(positions[0]), len(positions)
    return pa.array(positions)


def _select(array: pa.Array, where: tuple[int, int] | pa.Array) -> pa.Array:
    return array.slice(*where) if isinstance(where, tuple) else array.take(where)


def contiguous(positions: np.ndarray) -> bool:
    """Whether ``positions`` are consecutive ascending (a slice, no copy needed)."""
    n = len(positions)
    return (
        n > 0
        and int(positions[-1]) - int(positions[0]) == n - 1
        and bool((np.diff(positions) == 1).all())
    )


def array_texts(rows: pa.Array | pa.ChunkedArray, bounds: Sequence[int] | np.ndarray) -> list[str]:
    """JSON array texts of consecutive runs of ``rows``: run ``i`` is rows
    ``bounds[i]:bounds[i + 1]``, joined with commas inside brackets by pyarrow (one call
    for all runs, no Python string per row)."""
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    lists = pa.LargeListArray.from_arrays(pa.array(np.asarray(bounds, dtype=np.int64)), rows)
    joined = pc.binary_join(lists, _s(","))
    return pc.binary_join_element_wise(_s("["), joined, _s("]"), _s("")).to_pylist()


def batch_text(rows: pa.Array, positions: Sequence[int] | np.ndarray) -> str:
    """The JSON array text of the rows at ``positions``."""
    taken = rows.take(pa.array(np.asarray(positions, dtype=np.int64)))
    return array_texts(taken, [0, len(taken)])[0]


def batch_records(rows: pa.Array, positions: Sequence[int] | np.ndarray) -> list[dict]:
    """The rows at ``positions`` as dicts (what ``MarketoClient.sync_leads`` takes)."""
    return json.loads(batch_text(rows, positions))


def text_hashes(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes (uint64) of non-null Arrow texts: pandas' SipHash with its fixed key
    over the UTF-8 bytes, so the same text gives the same number in every process. Hashed
    as ``bytes`` objects: the same numbers as for the ``str`` values, without encoding each
    one again."""
    data = texts.cast(pa.large_binary()).to_numpy(zero_copy_only=False)
    return pd.util.hash_array(np.asarray(data, dtype=object), categorize=False)


def row_fingerprints(rows: pa.Array, positions: np.ndarray) -> np.ndarray:
    """64-bit fingerprints (int64) of the JSON texts at ``positions`` (:func:`text_hashes`:
    the numbers existing journals hold)."""
    if len(positions) == 0:
        return np.zeros(0, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    whole = len(positions) == len(rows) and bool((positions == np.arange(len(rows))).all())
    taken = rows if whole else rows.take(pa.array(positions))
    return text_hashes(taken).view(np.int64)
