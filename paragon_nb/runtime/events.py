"""App Event schemas: infer a JSON Schema from an example payload, validate live payloads
(strict projects only), and check template paths against a schema at deploy time.

The inferred schema uses a small subset of JSON Schema: ``type`` (object, array, string,
integer, number, boolean, null), ``properties``/``required`` for objects and ``items`` for
arrays; ``anyOf`` when an example array mixes types. An object schema *without*
``properties`` is open (any key is accepted): step outputs such as a Marketo lead use that.

    schema = infer_schema({"email": "a@x.com", "tags": ["x"]})
    validate_payload({"email": 3}, schema)
    # -> [{"field": "email", "message": "expected string, got integer"},
    #     {"field": "tags", "message": "required field is missing"}]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from paragon_nb.errors import RuntimeStateError, closest
from paragon_nb.runtime.templating import format_path

__all__ = [
    "ANY",
    "OPEN_OBJECT",
    "check_path",
    "infer_schema",
    "json_type",
    "validate_example",
    "validate_payload",
]

ANY: dict[str, Any] = {}
OPEN_OBJECT: dict[str, Any] = {"type": "object"}


def json_type(value: Any, *, where: str = "value") -> str:
    """The JSON type name of a Python value; raises RuntimeStateError for non-JSON values."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuntimeStateError(f"{where} is {value!r}: JSON has no NaN or Infinity")
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    raise RuntimeStateError(
        f"{where} is a {type(value).__name__} ({value!r:.60}), which is not a JSON value; "
        "use strings, numbers, booleans, null, lists and dicts with string keys"
    )


def validate_example(example: Any, *, name: str = "example") -> dict[str, Any]:
    """Check that ``example`` is a JSON object (string keys, JSON values) and return a copy."""
    if not isinstance(example, Mapping):
        raise RuntimeStateError(
            f"the {name} must be a JSON object (a dict), got {type(example).__name__}; "
            'e.g. {"email": "ada@example.com", "first_name": "Ada"}'
        )
    _walk_json(example, name)
    return json.loads(json.dumps(example))


def _walk_json(value: Any, where: str) -> None:
    kind = json_type(value, where=where)
    if kind == "object":
        for key, item in value.items():
            if not isinstance(key, str):
                raise RuntimeStateError(
                    f"{where} has the key {key!r} ({type(key).__name__}); JSON keys are strings"
                )
            _walk_json(item, f"{where}.{key}")
    elif kind == "array":
        for i, item in enumerate(value):
            _walk_json(item, f"{where}[{i}]")


def infer_schema(example: Any) -> dict[str, Any]:
    """A JSON Schema for ``example`` (every key of every object is ``required``)."""
    kind = json_type(example)
    if kind == "object":
        return {
            "type": "object",
            "properties": {k: infer_schema(v) for k, v in example.items()},
            "required": list(example),
        }
    if kind == "array":
        item_schemas: list[dict[str, Any]] = []
        for item in example:
            schema = infer_schema(item)
            if schema not in item_schemas:
                item_schemas.append(schema)
        if not item_schemas:
            return {"type": "array", "items": ANY}
        if len(item_schemas) == 1:
            return {"type": "array", "items": item_schemas[0]}
        return {"type": "array", "items": {"anyOf": item_schemas}}
    return {"type": kind}


def _type_ok(value: Any, expected: str) -> bool:
    actual = json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def validate_payload(payload: Any, schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """Field errors of ``payload`` against an inferred schema (empty list: valid).

    Each error is ``{"field": "address.city", "message": "..."}``; the root is ``""``.
    Extra keys are allowed. # (U) strict mode requires every key of the example and the
    example's types (integers are accepted where the example had a float).
    """
    errors: list[dict[str, str]] = []
    _validate(payload, schema, (), errors)
    return errors


def _validate(
    value: Any, schema: Mapping[str, Any], path: tuple[str | int, ...], errors: list[dict[str, str]]
) -> None:
    field = format_path(path)
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            trial: list[dict[str, str]] = []
            _validate(value, option, path, trial)
            if not trial:
                return
        kinds = "/".join(str(o.get("type", "any")) for o in schema["anyOf"])
        errors.append({"field": field, "message": f"expected {kinds}"})
        return
    expected = schema.get("type")
    if expected is None:
        return
    try:
        ok = _type_ok(value, expected)
    except RuntimeStateError as exc:
        errors.append({"field": field, "message": str(exc)})
        return
    if not ok:
        errors.append({"field": field, "message": f"expected {expected}, got {json_type(value)}"})
        return
    if expected == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(
                    {"field": format_path((*path, key)), "message": "required field is missing"}
                )
        for key, sub in props.items():
            if key in value:
                _validate(value[key], sub, (*path, key), errors)
    elif expected == "array" and schema.get("items"):
        for i, item in enumerate(value):
            _validate(item, schema["items"], (*path, i), errors)


def check_path(
    schema: Mapping[str, Any], path: tuple[str | int, ...], *, prefix: tuple[str | int, ...] = ()
) -> str | None:
    """None when ``path`` can exist in values of ``schema``; else a message naming the bad
    segment and the names available there (with a did-you-mean)."""
    current: Mapping[str, Any] = schema
    for depth, seg in enumerate(path):
        where = format_path((*prefix, *path[: depth + 1]))
        if "anyOf" in current:
            # accept when any alternative accepts the rest of the path
            rest = path[depth:]
            done = (*prefix, *path[:depth])
            msgs = [check_path(opt, rest, prefix=done) for opt in current["anyOf"]]
            return None if any(m is None for m in msgs) else msgs[0]
        kind = current.get("type")
        if kind is None:
            return None  # ANY: nothing more is known
        if kind == "object":
            props = current.get("properties")
            if props is None:
                return None  # open object
            if str(seg) not in props:
                names = sorted(props)
                hint = closest(str(seg), names)
                did = (
                    f"; did you mean {format_path((*prefix, *path[:depth], hint))}?" if hint else ""
                )
                return f"{where} does not exist; available: {', '.join(names) or 'none'}{did}"
            current = props[str(seg)]
        elif kind == "array":
            if not isinstance(seg, int):
                return f"{where}: the value before it is a list; use an index such as .0"
            current = current.get("items") or ANY
        else:
            return f"{where}: the value before it is a {kind}, which has no fields"
    return None
