"""Column -> field mapping: auto rules, explicit mapping, did-you-mean, refusals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paragon_nb.errors import MappingError
from paragon_nb.sync.mapping import build_mapping, normalise_name, suggest_mapping

from ._fields import BY_NAME, FIELDS

WRITABLE = [f for f in FIELDS if not f.read_only]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def test_exact_snake_display_and_case_insensitive() -> None:
    cm = build_mapping(
        ["email", "first_name", "Last Name", "NUMBEROFEMPLOYEES", "number-of-employees"][:4],
        FIELDS,
    )
    assert cm.rest_names == {
        "email": "email",
        "first_name": "firstName",
        "Last Name": "lastName",
        "NUMBEROFEMPLOYEES": "numberOfEmployees",
    }
    assert cm.lookup_column == "email"


def test_display_name_that_differs_from_rest_name() -> None:
    cm = build_mapping(["Email Address", "Company Name", "Job Title"], FIELDS)
    expected = {"Email Address": "email", "Company Name": "company", "Job Title": "title"}
    assert cm.rest_names == expected


def test_explicit_mapping_wins_over_auto() -> None:
    cm = build_mapping(
        ["email", "title", "E-mail2"], FIELDS, mapping={"title": "company", "E-mail2": "website"}
    )
    assert cm.rest_names["title"] == "company"
    assert cm.rest_names["E-mail2"] == "website"


def test_unknown_column_stops_with_did_you_mean() -> None:
    with pytest.raises(MappingError) as err:
        build_mapping(["email", "frist_name"], FIELDS)
    text = str(err.value)
    assert "'frist_name'" in text and "firstName" in text and "ignore" in text


def test_ignore_drops_columns_on_purpose() -> None:
    cm = build_mapping(["email", "notes", "frist_name"], FIELDS, ignore=["notes", "frist_name"])
    assert list(cm.fields) == ["email"]
    assert cm.ignored == ("notes", "frist_name")


def test_read_only_field_is_refused() -> None:
    with pytest.raises(MappingError, match="read-only field 'createdAt'"):
        build_mapping(["email", "created_at"], FIELDS)


def test_id_lookup_allowed_for_update_only() -> None:
    cm = build_mapping(["id", "firstName"], FIELDS, lookup_field="id", action="updateOnly")
    assert cm.lookup_column == "id"
    with pytest.raises(MappingError, match="read-only"):
        build_mapping(["id", "email"], FIELDS)


def test_two_columns_one_field_refused() -> None:
    with pytest.raises(MappingError, match="both map to field 'firstName'"):
        build_mapping(["email", "firstName", "first_name"], FIELDS)


def test_missing_lookup_column_refused() -> None:
    with pytest.raises(MappingError, match="no column maps to the lookup field 'email'"):
        build_mapping(["firstName"], FIELDS)
    with pytest.raises(MappingError, match="not a Marketo lead field"):
        build_mapping(["firstName"], FIELDS, lookup_field="nope")


def test_mapping_naming_unknown_column_or_field() -> None:
    with pytest.raises(MappingError, match="does not have"):
        build_mapping(["email"], FIELDS, mapping={"zzz": "email"})
    with pytest.raises(MappingError, match=r"no Marketo field 'frstName'.*firstName"):
        build_mapping(["email", "x"], FIELDS, mapping={"x": "frstName"})


@given(
    st.lists(st.sampled_from(WRITABLE), min_size=1, max_size=8, unique_by=lambda f: f.name),
    st.data(),
)
def test_every_spelling_of_a_field_maps_to_it(fields: list, data: st.DataObject) -> None:
    """REST, snake_case, display name and case variants all land on the same field;
    no column is silently dropped."""
    chosen = {BY_NAME["email"].name: BY_NAME["email"], **{f.name: f for f in fields}}
    columns = []
    for f in chosen.values():
        spelling = data.draw(
            st.sampled_from(
                [
                    f.name,
                    _snake(f.name),
                    f.display_name,
                    f.name.upper(),
                    f.display_name.lower().replace(" ", "_"),
                ]
            )
        )
        columns.append(spelling)
    cm = build_mapping(columns, FIELDS)
    assert list(cm.fields) == columns
    assert [f.name for f in cm.fields.values()] == list(chosen)


@given(st.text(min_size=1, max_size=30))
def test_normalise_is_idempotent(name: str) -> None:
    assert normalise_name(normalise_name(name)) == normalise_name(name)


def test_suggest_mapping_uses_the_auto_rules_and_skips_read_only_fields() -> None:
    got = suggest_mapping(["E-Mail", "Company Name", "created_at", "shoe size"], FIELDS)
    assert got == {"E-Mail": "email", "Company Name": "company", "created_at": None,
                   "shoe size": None}  # fmt: skip
