from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.errors import RuntimeStateError
from paragon_nb.runtime.events import check_path, infer_schema, validate_example, validate_payload

from .conftest import LEAD_EXAMPLE

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


def test_infers_types_of_every_field() -> None:
    schema = infer_schema(
        {"s": "a", "i": 1, "f": 1.5, "b": True, "n": None, "l": [1], "o": {"x": []}}
    )
    props = schema["properties"]
    assert schema["type"] == "object" and schema["required"] == ["s", "i", "f", "b", "n", "l", "o"]
    assert [props[k]["type"] for k in "sifbnlo"] == [
        "string",
        "integer",
        "number",
        "boolean",
        "null",
        "array",
        "object",
    ]
    assert props["l"]["items"] == {"type": "integer"}
    assert props["o"]["properties"]["x"] == {"type": "array", "items": {}}


def test_mixed_arrays_use_any_of() -> None:
    assert infer_schema([1, "a", 2]) == {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    }


@pytest.mark.parametrize(
    ("example", "needle"),
    [
        ([1, 2], "must be a JSON object"),
        ({1: "a"}, "keys are strings"),
        ({"a": {1, 2}}, "not a JSON value"),
        ({"a": math.nan}, "NaN"),
        ({"a": [object()]}, r"example\.a\[0\]"),
    ],
)
def test_non_json_examples_are_refused_clearly(example: object, needle: str) -> None:
    with pytest.raises(RuntimeStateError, match=needle):
        validate_example(example)


def test_validation_reports_each_field() -> None:
    schema = infer_schema({**LEAD_EXAMPLE, "score": 1.5, "addr": {"city": "x"}})
    payload = {"email": 3, "first_name": "B", "score": 2, "addr": {"city": None}}
    errors = validate_payload(payload, schema)
    fields = {e["field"]: e["message"] for e in errors}
    assert fields["email"] == "expected string, got integer"
    assert fields["last_name"] == "required field is missing"
    assert fields["addr.city"] == "expected string, got null"
    assert "score" not in fields  # an integer is a number
    assert validate_payload({**LEAD_EXAMPLE, "extra": 1}, infer_schema(LEAD_EXAMPLE)) == []


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_an_example_always_validates_against_its_own_schema(example: dict) -> None:
    assert validate_payload(example, infer_schema(example)) == []


def test_check_path_names_available_fields_and_suggests() -> None:
    schema = infer_schema({"email": "a", "items": [{"sku": "x"}]})
    assert check_path(schema, ("email",)) is None
    assert check_path(schema, ("items", 0, "sku")) is None
    msg = check_path(schema, ("emial",), prefix=("event",))
    assert "event.emial does not exist; available: email, items" in msg
    assert "did you mean event.email?" in msg
    assert "use an index" in check_path(schema, ("items", "sku"))
    assert "has no fields" in check_path(schema, ("email", "x"))
    assert check_path({"type": "object"}, ("anything", "deep")) is None  # open object
