"""Batching bounds (hypothesis), JSON encoding, filter-value chunks, paging cursors."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.errors import MarketoRequestError, PayloadTooLarge
from paragon_nb.marketo.batching import chunks, dumps, filter_value_chunks, split_batches
from paragon_nb.marketo.paging import OffsetPager, TokenPager

records_strategy = st.lists(
    st.fixed_dictionaries(
        {"email": st.emails(), "note": st.text(max_size=3000)},
        optional={"score": st.integers(), "ok": st.booleans()},
    ),
    max_size=900,
)


@settings(max_examples=40, deadline=None)
@given(records=records_strategy, max_records=st.integers(1, 300))
def test_batches_bounded_by_count_and_bytes_and_keep_order(
    records: list[dict], max_records: int
) -> None:
    max_bytes = 60_000
    batches = split_batches(records, max_records=max_records, max_bytes=max_bytes)
    assert [r for b in batches for r in b] == records
    for batch in batches:
        assert 1 <= len(batch) <= max_records
        body = dumps({"action": "createOrUpdate", "lookupField": "email", "input": batch})
        assert len(body) <= max_bytes


def test_default_bounds_are_300_records_and_1_mb() -> None:
    small = [{"email": f"u{i}@x.com"} for i in range(901)]
    assert [len(b) for b in split_batches(small)] == [300, 300, 300, 1]
    big = [{"email": f"u{i}@x.com", "address": "x" * 20_000} for i in range(120)]
    batches = split_batches(big)
    assert len(batches) == 3
    assert all(len(dumps({"input": b})) <= 1_000_000 for b in batches)


def test_a_record_too_big_alone_is_named() -> None:
    with pytest.raises(PayloadTooLarge, match="record 1 "):
        split_batches([{"a": 1}, {"a": "x" * 1_100_000}])


def test_dumps_handles_dates_and_numpy_and_refuses_nan() -> None:
    import numpy as np

    body = dumps({"d": dt.date(2026, 1, 2), "n": np.int64(5), "f": np.float64(1.5)})
    assert body == b'{"d":"2026-01-02","n":5,"f":1.5}'
    with pytest.raises(MarketoRequestError, match="NaN"):
        dumps({"x": math.nan})


def test_filter_values_chunked_and_commas_refused() -> None:
    assert [len(c) for c in filter_value_chunks(list(range(650)))] == [300, 300, 50]
    with pytest.raises(MarketoRequestError, match="'a,b'"):
        filter_value_chunks(["ok", "a,b"])
    assert chunks([1, 2, 3], 2) == [[1, 2], [3]]


def test_token_pager_stops_without_token_or_rows() -> None:
    pager = TokenPager()
    assert pager.params() == {}
    assert pager.advance({"result": [1, 2], "nextPageToken": "T1"}) == [1, 2]
    assert pager.params() == {"nextPageToken": "T1"} and not pager.done
    pager.advance({"result": [3]})
    assert pager.done
    spinning = TokenPager()
    spinning.advance({"result": [], "nextPageToken": "T"})
    assert spinning.done


def test_offset_pager_stops_on_short_page_or_missing_result() -> None:
    pager = OffsetPager(2)
    pager.advance({"result": [1, 2]})
    assert pager.params() == {"offset": 2, "maxReturn": 2}
    pager.advance({"warnings": ["No assets found for the given search criteria."]})
    assert pager.done
    with pytest.raises(ValueError):
        OffsetPager(201)
