"""Vectorised coercion: every row ends missing, valid (right type/value) or invalid
with a reason; nothing is silently lost or mis-typed."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.sync.mapping import build_mapping
from paragon_nb.sync.validate import INT_MAX, INT_MIN, coerce_column, prepare

from ._fields import BY_NAME, FIELDS

INT = BY_NAME["numberOfEmployees"]
CUR = BY_NAME["annualRevenue"]
BOOL = BY_NAME["unsubscribed"]
DATE = BY_NAME["dateOfBirth"]
DT = BY_NAME["lastActivity"]
EMAIL = BY_NAME["email"]
STR40 = BY_NAME["sicCode"]
TEXT = BY_NAME["address"]


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


anything = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["12", " 12.0 ", "12.5", "yes", "NO", "2024-02-30", "2024-02-29", "x@y.io"]),
    st.dates().map(lambda d: d),
)


@pytest.mark.parametrize("f", [INT, CUR, BOOL, DATE, DT, EMAIL, STR40, TEXT], ids=lambda f: f.name)
@given(values=st.lists(anything, max_size=30))
@settings(max_examples=60, deadline=None)
def test_every_row_is_exactly_one_of_missing_valid_invalid(f, values) -> None:
    s = pd.Series(values, dtype=object)
    out = coerce_column(s, f)
    assert len(out.values) == len(s) == len(out.bad)
    present = out.values.notna().to_numpy()
    for i, v in enumerate(values):
        missing = _is_missing(v)
        if missing:
            assert not present[i] and not out.bad[i], (v, f.name)
        else:
            assert present[i] != bool(out.bad[i]), (v, f.name, out.values[i])


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.integers(min_value=INT_MIN, max_value=INT_MAX))
def test_integers_in_every_spelling(n: int) -> None:
    s = pd.Series([n, float(n), str(n), f" {n}.0 ", np.int64(n)], dtype=object)
    out = coerce_column(s, INT)
    assert not out.bad.any()
    assert out.values.tolist() == [n] * 5
    assert str(out.values.dtype) == "Int64"


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)))
def test_non_integral_numbers_are_invalid_for_integer_fields(x: float) -> None:
    out = coerce_column(pd.Series([x, str(x)], dtype=object), INT)
    assert out.bad.all()
    assert out.values.isna().all()


def test_integer_range_and_garbage() -> None:
    out = coerce_column(pd.Series([INT_MAX + 1, "abc", True, "1e3"], dtype=object), INT)
    assert out.bad.tolist() == [True, True, True, False]
    assert out.values.iloc[3] == 1000


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_floats_round_trip(x: float) -> None:
    out = coerce_column(pd.Series([x, repr(x)], dtype=object), CUR)
    assert not out.bad.any()
    assert out.values.tolist() == [x, x]


def test_non_finite_and_percent_sign_are_invalid() -> None:
    out = coerce_column(pd.Series([float("inf"), "100%", "14c", "3.5"], dtype=object), CUR)
    assert out.bad.tolist() == [True, True, True, False]


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.sampled_from(["true", "false", "yes", "no", "1", "0"]), st.data())
def test_boolean_tokens_any_case(token: str, data: st.DataObject) -> None:
    spelled = "".join(c.upper() if data.draw(st.booleans()) else c for c in token)
    out = coerce_column(pd.Series([f" {spelled} "], dtype=object), BOOL)
    assert not out.bad.any()
    assert out.values.iloc[0] == (token in ("true", "yes", "1"))


def test_boolean_garbage_and_native() -> None:
    out = coerce_column(pd.Series(["maybe", 2, True, np.bool_(False), 1.0], dtype=object), BOOL)
    assert out.bad.tolist() == [True, True, False, False, False]
    assert out.values.tolist()[2:] == [True, False, True]
    native = coerce_column(pd.Series([True, False]), BOOL)
    assert native.values.tolist() == [True, False]


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_dates_in_every_form(d: date) -> None:
    iso = d.isoformat()
    ts = pd.Timestamp(d)
    aware = pd.Timestamp(datetime(d.year, d.month, d.day, 23, 30), tz="Asia/Tokyo")
    out = coerce_column(pd.Series([d, iso, ts, aware, f"{iso}T10:00:00Z"], dtype=object), DATE)
    assert not out.bad.any()
    assert out.values.tolist() == [iso] * 5
    native = coerce_column(pd.Series([ts]), DATE)
    assert native.values.tolist() == [iso]


def test_bad_dates_are_invalid() -> None:
    out = coerce_column(pd.Series(["2024-02-30", "yesterday", "2024-13-01", "03/04/2021"]), DATE)
    assert out.bad.tolist() == [True, True, True, False]
    assert out.values.iloc[3] == "2021-03-04"


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=7))]
        ),
    )
)
def test_aware_datetimes_become_utc_iso(dt: datetime) -> None:
    expected = dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = pd.Series([pd.Timestamp(dt), dt.isoformat()], dtype=object)
    out = coerce_column(values, DT)
    assert not out.bad.any()
    assert out.values.tolist() == [expected, expected]
    native = coerce_column(pd.Series([pd.Timestamp(dt)]), DT)
    assert native.values.tolist() == [expected]


# dot-atoms: dots only between runs (paragon_nb._email)
local = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_+-", min_size=1, max_size=8),
    min_size=1,
    max_size=3,
).map(".".join)
label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(local, label, st.sampled_from(["com", "io", "co.uk"]), st.booleans())
def test_emails_trimmed_and_lookup_normalised(user: str, host: str, tld: str, upper: bool) -> None:
    addr = f"{user}@{host}.{tld}"
    raw = f"  {addr.upper() if upper else addr} "
    out = coerce_column(pd.Series([raw]), EMAIL, normalise=True)
    assert not out.bad.any()
    assert out.values.iloc[0] == addr.lower()
    plain = coerce_column(pd.Series([raw]), EMAIL)
    assert plain.values.iloc[0] == raw.strip()


def test_bad_emails() -> None:
    bad = ["bad", "a@b", "ü@x.com", "a b@x.com", "@x.com", "a@-x.com", "x" * 250 + "@x.com",
           "dot..dot@x.com", ".lead@x.com", "trail.@x.com"]  # fmt: skip
    out = coerce_column(pd.Series(bad), EMAIL)
    assert out.bad.all()


@settings(deadline=None)  # a loaded machine is no reason to fail
@given(st.text(max_size=60))
def test_strings_are_kept_verbatim_and_length_checked(text: str) -> None:
    out = coerce_column(pd.Series([text], dtype=object), STR40)
    if text.strip() == "":
        assert out.values.isna().all() and not out.bad.any()
    elif len(text) > 40:
        assert out.bad.all()
    else:
        assert out.values.iloc[0] == text


def test_text_limit_is_bytes_and_integral_floats_in_string_fields() -> None:
    out = coerce_column(pd.Series(["é" * 15_001, "é" * 15_000]), TEXT)
    assert out.bad.tolist() == [True, False]
    phone = coerce_column(pd.Series([5551234.0, 1.5, np.nan]), BY_NAME["phone"])
    assert phone.values.tolist()[:2] == ["5551234", "1.5"]


def test_prepare_reasons_name_field_and_value_and_missing_lookup() -> None:
    df = pd.DataFrame(
        {"email": ["a@x.com", "bad", None], "number_of_employees": ["1", "1.5", "2"]},
        index=["r1", "r2", "r3"],
    )
    p = prepare(df, build_mapping(df.columns, FIELDS))
    assert p.invalid.tolist() == [False, True, True]
    assert "'email'" in p.reasons[1] and "'bad'" in p.reasons[1]
    assert "numberOfEmployees" in p.reasons[1] and "1.5" in p.reasons[1]
    assert "is empty" not in p.reasons[1]  # an invalid email is explained once, not as missing
    assert p.codes[2] == "missing_lookup" and "is empty" in p.reasons[2]
    assert p.lookup.tolist()[0] == "a@x.com"
