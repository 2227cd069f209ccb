from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paragon_nb.errors import TemplateError
from paragon_nb.runtime.templating import format_path, parse, references, render, resolve

CTX = {
    "event": {"email": "a@x.com", "age": 41, "tags": ["x", "y"], "first name": "Ada", "n": None},
    "settings": {"marketo_list": 1001, "flag": True},
    "steps": {"upsert_lead": {"id": 7, "status": "created"}},
    "user": {"id": "u1", "meta": {"Name": "Ada"}},
}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


def test_single_reference_keeps_json_type() -> None:
    assert render("{{event.age}}", CTX) == 41
    assert render("{{ settings.flag }}", CTX) is True
    assert render("{{event.tags}}", CTX) == ["x", "y"]
    assert render("{{event.n}}", CTX) is None
    assert render(["{{steps.upsert_lead.id}}"], CTX) == [7]


def test_interpolation_formats_values_as_text() -> None:
    assert render("hi {{user.meta.Name}} ({{event.age}})", CTX) == "hi Ada (41)"
    assert render("{{settings.flag}}/{{event.n}}/", CTX) == "true//"
    assert render("tags={{event.tags}}", CTX) == 'tags=["x", "y"]'


def test_paths_index_lists_and_quoted_keys() -> None:
    assert render("{{event.tags.1}}", CTX) == "y"
    assert render("{{event.tags[0]}}", CTX) == "x"
    assert render('{{event["first name"]}}', CTX) == "Ada"
    assert render("{{event.tags[-1]}}", CTX) == "y"


def test_nested_structures_render_recursively() -> None:
    value = {"a": ["{{event.email}}", {"b": "{{user.id}}"}], "c": 3}
    assert render(value, CTX) == {"a": ["a@x.com", {"b": "u1"}], "c": 3}


def test_missing_value_names_the_path() -> None:
    with pytest.raises(TemplateError, match=r"event\.emial.*available: .*email"):
        render("{{event.emial}}", CTX)
    with pytest.raises(TemplateError, match=r"no item 5 at event\.tags\[5\]"):
        render("{{event.tags.5}}", CTX)
    with pytest.raises(TemplateError, match="is a int"):
        render("{{event.age.x}}", CTX)


@pytest.mark.parametrize(
    "text",
    [
        "{{",
        "x {{event.a",
        "{{}}",
        "{{ 1abc }}",
        "{{event.a + 1}}",
        "{{event.__class__()}}",
        "{{event.a {{b}} }}",
        "{{event..a}}",
    ],
)
def test_malformed_templates_raise_template_error(text: str) -> None:
    with pytest.raises(TemplateError):
        parse(text)


def test_no_attribute_access_into_python_objects() -> None:
    class Obj:
        secret = "s3"

    with pytest.raises(TemplateError, match="not an object or list"):
        resolve(("event", "obj", "secret"), {"event": {"obj": Obj()}})
    with pytest.raises(TemplateError):
        render("{{event.email.upper}}", CTX)


def test_references_lists_every_reference_in_order() -> None:
    refs = list(references({"a": "{{event.x}} {{steps.s.id}}", "b": ["{{user.id}}", 3]}))
    assert [str(r) for r in refs] == ["event.x", "steps.s.id", "user.id"]


@settings(deadline=None)
@given(st.text(alphabet=string.printable.replace("{", ""), max_size=40))
def test_text_without_braces_renders_to_itself(text: str) -> None:
    assert render(text, CTX) == text


@settings(deadline=None)
@given(json_values)
def test_a_single_reference_returns_the_value_unchanged(value: object) -> None:
    assert render("{{event.v}}", {"event": {"v": value}}) == value


@settings(deadline=None)
@given(st.lists(idents, min_size=1, max_size=4), json_scalars)
def test_nested_paths_resolve(keys: list[str], value: object) -> None:
    data: object = value
    for key in reversed(keys):
        data = {key: data}
    path = "event." + ".".join(keys)
    assert render("{{" + path + "}}", {"event": data}) == value


@settings(deadline=None)
@given(
    st.lists(
        st.text(max_size=6).filter(lambda k: "{" not in k and "}" not in k), min_size=1, max_size=3
    ),
    st.integers(-5, 5),
)
def test_format_path_round_trips_through_the_parser(keys: list[str], index: int) -> None:
    path = ("event", *keys, index)
    assert parse("{{" + format_path(path) + "}}").single.path == path


@settings(deadline=None)
@given(st.text(max_size=30))
def test_parser_only_raises_template_errors(text: str) -> None:
    try:
        parse(text)
    except TemplateError:
        pass


@settings(deadline=None)
@given(st.text(alphabet=string.ascii_letters + " -", max_size=10), json_scalars)
def test_interpolation_embeds_the_text_form(prefix: str, value: object) -> None:
    out = render(prefix + "{{event.v}}!", {"event": {"v": value}})
    if value is None:
        expected = ""
    elif isinstance(value, bool):
        expected = "true" if value else "false"
    elif isinstance(value, str):
        expected = value
    else:
        expected = json.dumps(value)
    assert out == prefix + expected + "!"
