"""The plan's local decisions: duplicates (last occurrence wins), exact even when keys'
hashes collide, and batch texts that are the fingerprinted row texts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.sync import plan as plan_module
from paragon_nb.sync.plan import make_plan
from paragon_nb.sync.serialise import row_fingerprints

from ._fields import FIELDS

emails = st.lists(
    st.one_of(st.none(), st.sampled_from(["a@x.com", " A@x.com", "b@x.com", "bad", "c@x.com"])),
    max_size=25,
)


def _expected_duplicates(values: list[str | None]) -> dict[int, int]:
    """Reference: position -> position of the kept last occurrence, for valid emails."""
    keys = [v.strip().lower() if v and "@" in v else None for v in values]
    last = {k: i for i, k in enumerate(keys) if k is not None}
    return {i: last[k] for i, k in enumerate(keys) if k is not None and last[k] != i}


def _statuses(values: list[str | None]) -> dict[int, int]:
    df = pd.DataFrame({"email": values, "firstName": [f"n{i}" for i in range(len(values))]})
    plan = make_plan(df.astype(object), FIELDS, fingerprint=False)
    dups = {}
    for p in np.flatnonzero(plan.reason_code == "duplicate").tolist():
        kept = int(plan.reason[p].split("row ")[1].split(" ")[0])
        dups[p] = kept
    assert set(plan.send.tolist()).isdisjoint(dups)
    return dups


@given(emails)
@settings(max_examples=80, deadline=None)
def test_duplicates_keep_the_last_occurrence(values: list[str | None]) -> None:
    assert _statuses(values) == _expected_duplicates(values)


@given(emails)
@settings(max_examples=40, deadline=None)
def test_duplicates_are_exact_when_every_hash_collides(values: list[str | None]) -> None:
    """Keys are compared by hash first; rows whose hashes repeat are compared exactly, so
    different keys sharing a hash are never called duplicates."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plan_module, "text_hashes", lambda texts: np.zeros(len(texts), np.uint64))
        assert _statuses(values) == _expected_duplicates(values)


def test_batches_send_the_fingerprinted_texts() -> None:
    df = pd.DataFrame(
        {
            "email": [f"u{i}@x.com" for i in range(700)],
            "company": ['Acme "A"' if i % 3 else None for i in range(700)],
            "numberOfEmployees": [i if i % 2 else None for i in range(700)],
        }
    )
    plan = make_plan(df, FIELDS)
    seen = []
    for batch, text in plan.iter_batches(plan.send):
        rows = json.loads(text)
        assert len(rows) == len(batch) <= 300
        # The body's row texts (no text here holds ',{"email"'), fingerprinted again.
        first, *rest = text[1:-1].split(',{"email"')
        texts = pa.array([first, *('{"email"' + t for t in rest)])
        fps = row_fingerprints(texts, np.arange(len(texts)))
        assert fps.tolist() == plan.fps[batch].tolist()
        seen += batch.tolist()
    assert seen == list(range(700))
