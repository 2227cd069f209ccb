"""Vectorised validation and coercion of DataFrame columns to Marketo field types.

Each column is checked and converted as a whole with pandas/numpy (no per-row model on
the hot path), following the field's ``dataType`` from describe:

=====================  =====================================================  ==============
dataType               accepted                                               sent as
=====================  =====================================================  ==============
email                  trimmed, ``paragon_nb._email`` (dot-atom), <= length  str
string/phone/url/...   anything; floats that are integers lose ``.0``; <= len  str
text                   anything, <= length (default 30,000) UTF-8 bytes       str
integer/score          ints, integral floats/strings (``12.0`` -> 12), int32  Int64
float/currency/percent numbers and numeric strings, finite                    Float64
boolean                bools, 1/0, true/false/yes/no (any case)               boolean
date                   dates, Timestamps (local date), parseable strings      ``YYYY-MM-DD``
datetime               Timestamps/strings; tz-aware converted to UTC          ISO 8601 ``Z``
=====================  =====================================================  ==============

Missing values (None, NaN, NaT, ``""``, whitespace only) are missing, never invalid.
A value that fails its field's rule makes the row invalid, with a reason naming the field
and the value; invalid rows are never sent.

    age = LeadField(id=1, displayName="Age", dataType="integer", name="age")
    col = coerce_column(df["age"], age)
    col.values, col.bad   # Int64 series (NA where missing or bad), bool mask of bad values
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from paragon_nb._email import valid_emails
from paragon_nb.marketo.models import LeadField
from paragon_nb.sync.mapping import ColumnMapping
from paragon_nb.sync.serialise import arrow_text

__all__ = ["Coerced", "Prepared", "coerce_column", "prepare"]

# (U) Marketo integer fields are 32-bit; values outside are reported invalid here.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# (U) describe gives no length for some string fields: 255 characters as documented for
# string; text (textarea) fields are limited to 30,000 bytes of UTF-8.
DEFAULT_STRING_LENGTH = 255
DEFAULT_TEXT_BYTES = 30_000
_TRUE = ("true", "yes", "1", "1.0")
_FALSE = ("false", "no", "0", "0.0")


@dataclass
class Coerced:
    """One coerced column: ``values`` (NA where missing or bad), ``bad`` (bool array of
    present-but-invalid values), ``code`` (reason code) and ``rule`` (what was expected)."""

    values: pd.Series
    bad: np.ndarray
    code: str
    rule: str


@dataclass
class Prepared:
    """The frame ready to send: ``frame`` has REST-name columns on a 0..n-1 index;
    ``invalid`` flags rows never to send; ``reasons``/``codes`` explain them by position;
    ``lookup`` holds the normalised lookup value per row (NA when missing)."""

    frame: pd.DataFrame
    invalid: np.ndarray
    reasons: dict[int, str]
    codes: dict[int, str]
    lookup: pd.Series


# --------------------------------------------------------------------------- helpers


def _as_text(s: pd.Series) -> pd.Series:
    """Values as a ``str`` series (NaN for missing); integral floats lose their ``.0``."""
    if ptypes.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        out = s.astype("str")
        whole = np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) < 2**53)
        if whole.any():
            out = out.where(
                ~whole, pd.Series(arr, index=s.index).where(whole, 0).astype("int64").astype("str")
            )
        return out.where(~np.isnan(arr))
    if ptypes.is_bool_dtype(s.dtype):
        return s.astype("str").str.lower().where(s.notna())
    if isinstance(s.dtype, pd.StringDtype):
        return s.astype("str")
    return s.astype("str").where(s.notna())


def _utf8_lengths(text: pd.Series) -> pd.Series:
    """UTF-8 byte length of each value (0 where missing), computed by pyarrow."""
    lengths = pc.fill_null(pc.binary_length(arrow_text(text)), 0)
    return pd.Series(lengths.to_numpy(zero_copy_only=False), index=text.index)


def _missing(text: pd.Series) -> np.ndarray:
    """Missing, empty or whitespace only (Arrow's Unicode whitespace, as ``str.strip``)."""
    arr = arrow_text(text)
    blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
    return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)


def _bad_mask(present: np.ndarray, ok: pd.Series | np.ndarray) -> np.ndarray:
    okarr = ok.to_numpy(dtype=bool, na_value=False) if isinstance(ok, pd.Series) else ok
    return present & ~okarr


# --------------------------------------------------------------------------- per type


def _coerce_email(s: pd.Series, f: LeadField, *, normalise: bool) -> Coerced:
    text = _as_text(s).str.strip()
    present = ~_missing(text)
    ok = valid_emails(text)  # the one rule, shared with the sandbox (paragon_nb._email)
    limit = f.length or DEFAULT_STRING_LENGTH
    too_long = present & (text.str.len().to_numpy(dtype="float64", na_value=0) > limit)
    bad = _bad_mask(present, ok) | too_long
    if normalise:
        # (U) Marketo matches email lookups case-insensitively; we send the lower-cased form.
        text = text.str.lower()
    values = text.where(present & ~bad)
    return Coerced(values, bad, "invalid_email", f"an email address (ASCII, <= {limit} chars)")


def _coerce_string(s: pd.Series, f: LeadField, *, text_field: bool) -> Coerced:
    text = _as_text(s)
    present = ~_missing(text)
    if text_field:
        limit = f.length or DEFAULT_TEXT_BYTES
        sizes = _utf8_lengths(text)
        unit = "UTF-8 bytes"
    else:
        limit = f.length or DEFAULT_STRING_LENGTH
        sizes = text.str.len()
        unit = "characters"
    too_long = present & (sizes.to_numpy(dtype="float64", na_value=0) > limit)
    values = text.where(present & ~too_long)
    return Coerced(values, too_long, "too_long", f"at most {limit} {unit}")


def _numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float64 values, present mask, parse-ok mask) for any input dtype."""
    if ptypes.is_bool_dtype(s.dtype):
        present = s.notna().to_numpy(dtype=bool)
        return np.full(len(s), np.nan), present, np.zeros(len(s), dtype=bool)
    if ptypes.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(arr)
        return arr, present, present.copy()
    text = _as_text(s).str.strip()
    present = ~_missing(text)
    # Booleans stored in object columns arrive as "True"/"False": not numbers.
    arr = pd.to_numeric(text.where(present), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    return arr, present, present & ~np.isnan(arr)


def _coerce_integer(s: pd.Series, f: LeadField) -> Coerced:
    arr, present, parsed = _numbers(s)
    with np.errstate(invalid="ignore"):
        ok = (
            parsed & np.isfinite(arr) & (np.floor(arr) == arr) & (arr >= INT_MIN) & (arr <= INT_MAX)
        )
    bad = present & ~ok
    values = pd.Series(np.where(ok, arr, 0), index=s.index).astype("int64").astype("Int64")
    values = values.where(ok)
    return Coerced(values, bad, "invalid_integer", "a whole number (32-bit)")


def _coerce_float(s: pd.Series, f: LeadField) -> Coerced:
    arr, present, parsed = _numbers(s)
    ok = parsed & np.isfinite(arr)
    bad = present & ~ok
    values = pd.Series(arr, index=s.index).astype("Float64").where(ok)
    return Coerced(values, bad, f"invalid_{f.data_type}", "a finite number")


def _coerce_boolean(s: pd.Series, f: LeadField) -> Coerced:
    if ptypes.is_bool_dtype(s.dtype):
        values = s.astype("boolean")
        return Coerced(values, np.zeros(len(s), dtype=bool), "invalid_boolean", "")
    text = _as_text(s).str.strip().str.lower()
    present = ~_missing(text)
    is_true = text.isin(_TRUE).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).to_numpy(dtype=bool)
    ok = is_true | is_false
    bad = present & ~ok
    values = pd.Series(is_true, index=s.index).astype("boolean").where(ok)
    return Coerced(values, bad, "invalid_boolean", "true/false, yes/no or 1/0")


def _parse_times(text: pd.Series, *, utc: bool) -> pd.Series:
    """Strings -> datetime64 (NaT where unparseable): fast ISO 8601 first, then the rest."""
    out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    retry = out.isna() & text.notna()
    if retry.any():
        sub = text[retry]
        try:
            again = pd.to_datetime(sub, errors="coerce", format="mixed", utc=utc)
        except (ValueError, TypeError):  # mixed offsets without utc, out-of-bounds...
            again = pd.Series(
                [_one_time(v, utc=utc) for v in sub], index=sub.index, dtype=out.dtype
            )
        out = out.copy()
        out[retry] = again
    return out


def _one_time(value: str, *, utc: bool) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if utc:
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _all_plain_dates(text: pd.Series) -> bool:
    """Whether every value present is a real ``YYYY-MM-DD`` date (the usual column), checked
    at once by Arrow's strict date parser (exactly that form, real days of the month)."""
    try:
        arrow_text(text).cast(pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _coerce_date(s: pd.Series, f: LeadField) -> Coerced:
    if ptypes.is_datetime64_any_dtype(s.dtype):
        present = s.notna().to_numpy(dtype=bool)
        values = s.dt.strftime("%Y-%m-%d").astype("str").where(present)
        return Coerced(values, np.zeros(len(s), dtype=bool), "invalid_date", "")
    text = _as_text(s).str.strip()
    present = ~_missing(text)
    text = text.where(present)
    if _all_plain_dates(text):
        return Coerced(text, np.zeros(len(s), dtype=bool), "invalid_date", "a date (YYYY-MM-DD)")
    # Plain YYYY-MM-DD strings are checked by parsing and sent as they are.
    plain = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool, na_value=False)
    checked = pd.to_datetime(text.where(plain), errors="coerce", format="%Y-%m-%d")
    ok = plain & checked.notna().to_numpy(dtype=bool)
    values = text.where(ok)
    rest = present & ~plain
    if rest.any():
        sub = text[rest]
        # ISO date-times (also tz-aware: their local date) keep their date part.
        iso = sub.str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T][0-9:.]+(Z|[+-]\d{2}:?\d{2})?")
        iso = iso.to_numpy(dtype=bool, na_value=False)
        parsed = pd.to_datetime(sub.str.slice(0, 10).where(iso), errors="coerce",
                                format="%Y-%m-%d")  # fmt: skip
        other = ~iso
        if other.any():
            more = _parse_times(sub[other], utc=False)
            if isinstance(more.dtype, pd.DatetimeTZDtype):
                more = more.dt.tz_localize(None)
            parsed = parsed.copy()
            parsed[other] = more.dt.normalize()
        good = parsed.notna().to_numpy(dtype=bool)
        text_dates = parsed.dt.strftime("%Y-%m-%d").astype("str")
        values = values.copy()
        positions = np.flatnonzero(rest)[good]
        values.iloc[positions] = text_dates.to_numpy()[good]
        ok = ok.copy()
        ok[positions] = True
    bad = present & ~ok
    return Coerced(values.where(ok), bad, "invalid_date", "a date (YYYY-MM-DD)")


def _coerce_datetime(s: pd.Series, f: LeadField) -> Coerced:
    if ptypes.is_datetime64_any_dtype(s.dtype):
        ts = s  # (U) sent with second precision (Marketo shows seconds)
        if isinstance(ts.dtype, pd.DatetimeTZDtype):
            ts = ts.dt.tz_convert("UTC")
        else:
            # (U) naive datetimes are taken to be UTC.
            ts = ts.dt.tz_localize("UTC")
        present = ts.notna().to_numpy(dtype=bool)
        values = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str").where(present)
        return Coerced(values, np.zeros(len(s), dtype=bool), "invalid_datetime", "")
    text = _as_text(s).str.strip()
    present = ~_missing(text)
    parsed = _parse_times(text.where(present), utc=True)
    ok = parsed.notna().to_numpy(dtype=bool)
    bad = present & ~ok
    values = parsed.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str").where(ok)
    return Coerced(values, bad, "invalid_datetime", "a date-time (ISO 8601)")


_BY_TYPE: dict[str, Callable[[pd.Series, LeadField], Coerced]] = {
    "integer": _coerce_integer,
    "score": _coerce_integer,
    "float": _coerce_float,
    "currency": _coerce_float,
    "percent": _coerce_float,
    "boolean": _coerce_boolean,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "text": lambda s, f: _coerce_string(s, f, text_field=True),
}


def coerce_column(s: pd.Series, f: LeadField, *, normalise: bool = False) -> Coerced:
    """Check and convert one column for field ``f``. ``normalise`` (lookup columns) also
    lower-cases emails. Unknown data types are treated as strings (``# (U)``)."""
    if f.data_type == "email":
        return _coerce_email(s, f, normalise=normalise)
    fn = _BY_TYPE.get(f.data_type)
    if fn is None:
        # string, phone, url, reference, formula and anything an instance adds. (U)
        return _coerce_string(s, f, text_field=False)
    return fn(s, f)


# --------------------------------------------------------------------------- frames


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def prepare(df: pd.DataFrame, cm: ColumnMapping) -> Prepared:
    """Coerce every mapped column of ``df``; collect invalid rows with their reasons.

    Rows whose lookup value is missing are invalid too (``missing_lookup``).
    """
    n = len(df)
    columns: dict[str, pd.Series] = {}
    invalid = np.zeros(n, dtype=bool)
    bad_lookup = np.zeros(n, dtype=bool)  # lookup value present but invalid (already explained)
    messages: dict[int, list[str]] = {}
    codes: dict[int, str] = {}
    for col, f in cm.fields.items():
        assert f.name is not None
        raw = df[col].reset_index(drop=True)
        out = coerce_column(raw, f, normalise=col == cm.lookup_column)
        columns[f.name] = out.values
        if out.bad.any():
            invalid |= out.bad
            if col == cm.lookup_column:
                bad_lookup |= out.bad
            positions = np.flatnonzero(out.bad)
            for pos, value in zip(positions.tolist(), raw.iloc[positions], strict=True):
                messages.setdefault(pos, []).append(
                    f"field {f.name!r} (column {col!r}): {_show(value)} is not {out.rule}"
                )
                codes.setdefault(pos, out.code)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n))
    lookup_name = cm.lookup_field.name
    assert lookup_name is not None
    lookup = frame[lookup_name].astype("str").where(frame[lookup_name].notna())
    # An invalid lookup value is blanked by coercion: it is not "empty", so say it once.
    missing_key = lookup.isna().to_numpy(dtype=bool) & ~bad_lookup
    if missing_key.any():
        for pos in np.flatnonzero(missing_key).tolist():
            messages.setdefault(pos, []).append(
                f"lookup field {lookup_name!r} (column {cm.lookup_column!r}) is empty; "
                "Marketo needs it to find or create the lead"
            )
            codes.setdefault(pos, "missing_lookup")
        invalid |= missing_key
    reasons = {pos: "; ".join(msgs) for pos, msgs in messages.items()}
    return Prepared(frame=frame, invalid=invalid, reasons=reasons, codes=codes, lookup=lookup)
