"""The ``condition`` step: its operators and how a rule is evaluated.

A rule is ``{left, op, right}`` (``left``/``right`` are ``{{ }}`` templates rendered against
the run's context) or ``{all: [...]}`` / ``{any: [...]}``. Numbers compare as numbers even
when one side is a numeric string; ``equals`` of other values is plain equality. A
comparison of values that are neither numbers nor strings fails the step (StepError).

    evaluate_condition({"left": "{{event.score}}", "op": "greater_than", "right": 50}, ctx)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paragon_nb.errors import StepError, TemplateError
from paragon_nb.runtime.templating import render

__all__ = ["CONDITION_OPS", "UNARY_OPS", "evaluate_condition"]


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _eq(a: Any, b: Any) -> bool:
    if a == b and type(a) is type(b):
        return True
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def _cmp(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return op(na, nb)
    if isinstance(a, str) and isinstance(b, str):
        return op(a, b)
    raise StepError(f"cannot compare {a!r} with {b!r}: use numbers or strings")


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return str(b) in a
    if isinstance(a, list | dict):
        return b in a
    return False


def _empty(a: Any) -> bool:
    return a is None or a == "" or a == [] or a == {}


CONDITION_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _eq,
    "not_equals": lambda a, b: not _eq(a, b),
    "greater_than": lambda a, b: _cmp(a, b, lambda x, y: x > y),
    "less_than": lambda a, b: _cmp(a, b, lambda x, y: x < y),
    "greater_or_equal": lambda a, b: _cmp(a, b, lambda x, y: x >= y),
    "less_or_equal": lambda a, b: _cmp(a, b, lambda x, y: x <= y),
    "contains": _contains,
    "not_contains": lambda a, b: not _contains(a, b),
    "starts_with": lambda a, b: isinstance(a, str) and a.startswith(str(b)),
    "ends_with": lambda a, b: isinstance(a, str) and a.endswith(str(b)),
    "in": lambda a, b: isinstance(b, list) and any(_eq(a, x) for x in b),
    "not_in": lambda a, b: not (isinstance(b, list) and any(_eq(a, x) for x in b)),
    "is_empty": lambda a, _b: _empty(a),
    "is_not_empty": lambda a, _b: not _empty(a),
    "is_true": lambda a, _b: a is True or a == "true",
    "is_false": lambda a, _b: a is False or a == "false",
}
#: operators that take no ``right`` operand; a missing ``left`` value counts as null for them
UNARY_OPS = frozenset({"is_empty", "is_not_empty", "is_true", "is_false"})


def evaluate_condition(rule: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Evaluate ``{left, op, right}`` or ``{all: [...]}`` / ``{any: [...]}`` against a context."""
    if "all" in rule:
        return all(evaluate_condition(r, context) for r in rule["all"])
    if "any" in rule:
        return any(evaluate_condition(r, context) for r in rule["any"])
    op = rule["op"]
    try:
        left = render(rule.get("left"), context)
    except TemplateError:
        if op not in UNARY_OPS:
            raise
        left = None
    right = render(rule.get("right"), context)
    return bool(CONDITION_OPS[op](left, right))
