"""Splitting work into Marketo-sized pieces (reference §3, §8).

- records for a write: <= 300 per call AND <= 1 MB of serialised JSON per body;
- filter values for a query: <= 300 per call, none containing a comma;
- a query URL must stay under 8 KB, else it is sent as POST with ``_method=GET``.

::

    for batch in split_batches(records):             # lists of records, input order kept
        post({"input": batch})
    chunks(lead_ids, 300)                             # plain fixed-size chunks
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from paragon_nb.errors import MarketoRequestError, PayloadTooLarge

__all__ = [
    "ENVELOPE_ALLOWANCE",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "MAX_URL_BYTES",
    "RawJSON",
    "batch_ranges",
    "chunks",
    "dumps",
    "record_size",
    "split_batches",
]

T = TypeVar("T")

MAX_BATCH = 300
# Marketo refuses bodies over 1 MB with HTTP 413. (U) "1 MB" read as 1,000,000 bytes (the
# smaller reading); a fixed allowance below covers the envelope around ``input``.
MAX_BODY_BYTES = 1_000_000
ENVELOPE_ALLOWANCE = 2_048
# URIs over 8 KB get HTTP 414; stay a little below (host and headers vary).
MAX_URL_BYTES = 8_000


def _default(value: Any) -> Any:
    """JSON for the values a DataFrame row typically holds (datetimes, numpy scalars)."""
    if isinstance(value, _dt.date):  # datetime too (a date subclass)
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    item = getattr(value, "item", None)  # numpy / pandas scalars
    if callable(item):
        return item()
    isoformat = getattr(value, "isoformat", None)  # pandas.Timestamp
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} to Marketo: {value!r}")


class RawJSON:
    """JSON text made elsewhere (the sync's vectorised serialiser), sent as is: ``dumps``
    splices it into the body instead of re-encoding it. The caller vouches it is valid JSON.

        dumps({"action": "createOrUpdate", "input": RawJSON('[{"email":"a@x.com"}]')})
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({len(self.text):,} chars)"


def _splice(payload: dict[str, Any]) -> bytes:
    """A dict whose values may be :class:`RawJSON`: every other value goes through dumps."""
    parts = [
        dumps(key)
        + b":"
        + (value.text.encode("utf-8") if isinstance(value, RawJSON) else dumps(value))
        for key, value in payload.items()
    ]
    return b"{" + b",".join(parts) + b"}"


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON exactly as the client sends it (so sizes measured here hold).
    Top-level dict values that are :class:`RawJSON` are spliced in as they are.

    Raises ``MarketoRequestError`` for NaN/inf or values JSON cannot express.
    """
    if isinstance(payload, dict) and any(isinstance(v, RawJSON) for v in payload.values()):
        return _splice(payload)
    try:
        return json.dumps(
            payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise MarketoRequestError(
            f"cannot encode the request as JSON: {exc}; convert NaN to None (clears the "
            f"field) or drop the key, and convert other values to str/int/float/bool"
        ) from None


def record_size(record: Mapping[str, Any]) -> int:
    """Bytes ``record`` takes in the ``input`` array (its JSON plus a separating comma)."""
    return len(dumps(record)) + 1


def batch_ranges(
    records: Sequence[Mapping[str, Any]],
    *,
    max_records: int = MAX_BATCH,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[range]:
    """Index ranges covering ``records`` in order, each <= ``max_records`` records and
    <= ``max_bytes`` of body. Raises ``PayloadTooLarge`` naming a record that alone is
    too big to send."""
    if max_records < 1:
        raise ValueError(f"max_records must be >= 1, got {max_records}")
    budget = max_bytes - ENVELOPE_ALLOWANCE
    ranges: list[range] = []
    start, used = 0, 0
    for i, record in enumerate(records):
        size = record_size(record)
        if size > budget:
            raise PayloadTooLarge(
                f"record {i} is {size:,} bytes of JSON, over the {max_bytes:,}-byte body limit "
                f"of one Marketo call; shorten its text fields",
                code="413",
            )
        if i - start >= max_records or used + size > budget:
            ranges.append(range(start, i))
            start, used = i, 0
        used += size
    if start < len(records):
        ranges.append(range(start, len(records)))
    return ranges


def split_batches(
    records: Sequence[Mapping[str, Any]],
    *,
    max_records: int = MAX_BATCH,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[list[Mapping[str, Any]]]:
    """Records split into consecutive batches of <= ``max_records`` and <= ``max_bytes``
    serialised JSON (envelope included). Concatenating the batches gives ``records`` back,
    so results map to inputs by position."""
    return [
        [records[i] for i in r]
        for r in batch_ranges(records, max_records=max_records, max_bytes=max_bytes)
    ]


def chunks(items: Sequence[T], size: int = MAX_BATCH) -> list[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def filter_value_chunks(values: Sequence[Any], size: int = MAX_BATCH) -> list[list[str]]:
    """Filter values as strings, chunked <= ``size``; Marketo joins them with commas, so a
    value containing a comma cannot be queried (``MarketoRequestError`` names it)."""
    texts: list[str] = []
    for value in values:
        text = str(value.item() if hasattr(value, "item") else value)
        if "," in text:
            raise MarketoRequestError(
                f"filter value {text!r} contains a comma, which Marketo's filterValues cannot "
                f"express; query it by another field (e.g. id)"
            )
        texts.append(text)
    return chunks(texts, size)
