"""Per-dataType validation (Marketo's 1003 message form) and describe items."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paragon_nb.sandbox.fields import (
    STANDARD_FIELDS,
    FieldDef,
    InvalidValue,
    describe_item,
    is_searchable,
    validate,
)

F = STANDARD_FIELDS


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("unsubscribed", "TRUE", True),
        ("unsubscribed", 0, False),
        ("unsubscribed", None, False),  # a cleared boolean reads back false
        ("numberOfEmployees", "42", 42),
        ("numberOfEmployees", 7.0, 7),
        ("annualRevenue", "1e3", 1000.0),
        ("dateOfBirth", "1815-12-10", "1815-12-10"),
        ("email", "Ada@Example.com", "Ada@Example.com"),
        ("firstName", None, None),
        ("firstName", 12, "12"),
        ("numberOfEmployees", "", None),  # empty clears a non-string field
    ],
)
def test_accepted_values_are_normalised(field: str, value, stored) -> None:
    assert validate(F[field], value) == stored


def test_datetimes_are_stored_in_utc_z_form() -> None:
    custom = FieldDef(1000, "seenAt", "Seen At", "datetime", custom=True)
    assert validate(custom, "2021-11-23T23:57:08+01:00") == "2021-11-23T22:57:08Z"
    assert validate(custom, "2021-11-23T22:57:08Z") == "2021-11-23T22:57:08Z"
    with pytest.raises(InvalidValue, match="Invalid value for field 'seenAt' and value 'soon'"):
        validate(custom, "soon")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ümlaut@example.com"),  # email must be ASCII
        ("email", "a@b"),
        ("numberOfEmployees", 2**31),
        ("numberOfEmployees", False),
        ("annualRevenue", float("nan")),
        ("unsubscribed", 2),
        ("dateOfBirth", 20211123),
        ("firstName", ["list"]),
        ("address", "x" * 30_001),
    ],
)
def test_refused_values(field: str, value) -> None:
    with pytest.raises(InvalidValue, match=f"^Invalid value for field '{field}' and value "):
        validate(F[field], value)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_every_int32_is_a_valid_integer(n: int) -> None:
    assert validate(F["leadScore"], n) == n
    assert validate(F["leadScore"], str(n)) == n


@given(st.text(max_size=255))
def test_strings_up_to_length_round_trip(text: str) -> None:
    assert validate(F["firstName"], text) == text


@given(st.text(min_size=256, max_size=300))
def test_strings_over_length_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        validate(F["firstName"], text)


def test_searchable_fields() -> None:
    assert is_searchable(F["email"]) and is_searchable(F["id"])
    assert not is_searchable(F["firstName"])
    assert is_searchable(FieldDef(1000, "code", "Code", "integer", custom=True))
    assert not is_searchable(FieldDef(1001, "ok", "Ok", "boolean", custom=True))


def test_describe_item_has_length_only_for_string_like_fields() -> None:
    assert "length" not in describe_item(F["numberOfEmployees"])
    assert describe_item(F["sicCode"])["length"] == 40
    assert describe_item(F["mktoName"])["rest"] == {"name": "mktoName", "readOnly": True}
