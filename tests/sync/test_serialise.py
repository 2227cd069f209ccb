"""Vectorised JSON rows: exactly the values, missing ones omitted, stable fingerprints."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.sync.mapping import build_mapping
from paragon_nb.sync.serialise import batch_records, row_fingerprints, row_json
from paragon_nb.sync.validate import prepare

from ._fields import FIELDS

maybe_text = st.one_of(st.none(), st.text(max_size=15))


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "firstName": maybe_text,
                "company": maybe_text,
                "numberOfEmployees": st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
                "annualRevenue": st.one_of(
                    st.none(), st.floats(allow_nan=False, allow_infinity=False)
                ),
                "unsubscribed": st.one_of(st.none(), st.booleans()),
            }
        ),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_rows_are_exactly_the_values(rows: list[dict], clear: bool) -> None:
    """Whatever the text holds (quotes, backslashes, control characters, unicode, `"k":null`)
    and whatever the numbers are, the JSON rows parse back to the values; missing values
    are omitted (or null with clear_missing)."""
    df = pd.DataFrame([{"email": f"u{i}@x.com", **r} for i, r in enumerate(rows)])
    df = df.astype(object)
    prepared = prepare(df, build_mapping(df.columns, FIELDS))
    got = batch_records(
        row_json(prepared.frame, clear_missing=clear, first="email"), np.arange(len(rows))
    )
    expected = []
    for i, r in enumerate(rows):
        full = {"email": f"u{i}@x.com"}
        for k, v in r.items():
            missing = v is None or (isinstance(v, str) and v.strip() == "")
            if not missing:
                full[k] = v
            elif clear:
                full[k] = None
        expected.append(full)
    assert got == expected
    for g in got:
        for k in ("numberOfEmployees",):
            assert k not in g or g[k] is None or type(g[k]) is int
        assert "unsubscribed" not in g or g["unsubscribed"] in (True, False, None)


def test_key_order_is_sorted_and_texts_are_compact() -> None:
    df = pd.DataFrame({"lastName": ['a"b'], "email": ["x@y.io"], "firstName": ["line\nbreak"]})
    prepared = prepare(df, build_mapping(df.columns, FIELDS))
    text = row_json(prepared.frame)[0].as_py()
    assert text == '{"email":"x@y.io","firstName":"line\\nbreak","lastName":"a\\"b"}'
    assert json.loads(text)["lastName"] == 'a"b'


def test_fingerprints_stable_and_column_order_free() -> None:
    a = pd.DataFrame({"email": ["a@x.com", "b@x.com"], "numberOfEmployees": [12, 3]})
    b = pd.DataFrame({"numberOfEmployees": ["12.0", "4"], "email": [" A@x.com ", "b@x.com"]})
    fa = row_fingerprints(row_json(prepare(a, build_mapping(a.columns, FIELDS)).frame),
                          np.arange(2))  # fmt: skip
    fb = row_fingerprints(row_json(prepare(b, build_mapping(b.columns, FIELDS)).frame),
                          np.arange(2))  # fmt: skip
    assert fa[0] == fb[0]  # same values, other spelling and column order
    assert fa[1] != fb[1]  # 3 vs 4 employees
    assert fa.dtype == np.int64


def test_rows_with_every_value_missing_keep_their_place() -> None:
    """pyarrow's join with null_handling="skip" drops a row whose inputs are all null
    (pyarrow 26); the texts must still line up one to one with the rows."""
    df = pd.DataFrame(
        {"email": ["a@x.com", None, None, "d@x.com"], "company": [None, None, "C", None]}
    )
    frame = prepare(df.astype(object), build_mapping(df.columns, FIELDS)).frame
    assert row_json(frame, first="email").to_pylist() == [
        '{"email":"a@x.com"}',
        "{}",
        '{"company":"C"}',
        '{"email":"d@x.com"}',
    ]
    assert row_json(frame, first="email", clear_missing=True).to_pylist() == [
        '{"email":"a@x.com","company":null}',
        '{"email":null,"company":null}',
        '{"email":null,"company":"C"}',
        '{"email":"d@x.com","company":null}',
    ]


def test_texts_and_fingerprints_are_pinned() -> None:
    """The row texts and their fingerprints are what journals hold: these values were
    made by the first vectorised serialiser (main 290bda4); a faster encoding must give the
    same bytes and numbers, or existing journals would call every row changed."""
    df = pd.DataFrame(
        {
            "email": [" Ada@X.com", "b@y.org", "zoe@z.io"],
            "firstName": ["Zoë", 'say "hi"\\', "tab\tnew\nline\x01"],
            "numberOfEmployees": [12.0, None, "7"],
            "annualRevenue": [0.1, 1e300, None],
            "unsubscribed": ["yes", None, False],
        }
    ).astype(object)
    frame = prepare(df, build_mapping(df.columns, FIELDS)).frame
    rows = row_json(frame, first="email")
    assert rows.to_pylist() == [
        '{"email":"ada@x.com","annualRevenue":0.1,"firstName":"Zoë","numberOfEmployees":12,'
        '"unsubscribed":true}',
        '{"email":"b@y.org","annualRevenue":1e+300,"firstName":"say \\"hi\\"\\\\"}',
        '{"email":"zoe@z.io","firstName":"tab\\tnew\\nline\\u0001","numberOfEmployees":7,'
        '"unsubscribed":false}',
    ]
    assert row_fingerprints(rows, np.arange(3)).tolist() == [
        1931375243124983752,
        7439971987079793233,
        7464748907391826247,
    ]
    cleared = row_json(frame, first="email", clear_missing=True)
    assert row_fingerprints(cleared, np.array([2, 1])).tolist() == [
        401469706462203881,
        1029623437743836358,
    ]
