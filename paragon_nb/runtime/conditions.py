"""The ``condition`` step: its operators and how a rule is evaluated.

A rule is ``{left, op, right}`` (``left``/``right`` are ``{{ }}`` templates rendered against
the run's context), ``{all: [...]}`` / ``{any: [...]}``, or Paragon's disjunctive normal form
``{or: [[a, b], [c]]}`` ("a and b, or c"). Operators carry Paragon's names: string
contains / does_not_contain / starts_with / ends_with / is_in, number_* and date_before /
date_after comparisons, exists / does_not_exist, is_empty / is_not_empty (see OP_ALIASES for
the editor's labels and ``= > < >= <=``). Numbers compare as numbers even
when one side is a numeric string; ``equals`` of other values is plain equality. A
comparison of values that are neither numbers nor strings fails the step (StepError).

    evaluate_condition({"left": "{{event.score}}", "op": "greater_than", "right": 50}, ctx)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from paragon_nb.errors import StepError, TemplateError
from paragon_nb.runtime.templating import render

__all__ = ["CONDITION_OPS", "KNOWN_OPS", "OP_ALIASES", "UNARY_OPS", "evaluate_condition"]


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


def _date(value: Any) -> datetime:
    """A datetime from an ISO 8601 text (``Z`` allowed; a date alone is midnight UTC) or
    epoch seconds; naive values are UTC. StepError otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise StepError(
                f"{value!r} is not a date: use ISO 8601 (2026-01-31 or 2026-01-31T09:00:00Z) "
                "or epoch seconds"
            ) from None
    else:
        raise StepError(f"{value!r} is not a date: use ISO 8601 text or epoch seconds")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _number(value: Any) -> float:
    number = _num(value)
    if number is None:
        raise StepError(f"{value!r} is not a number")
    return number


def _is_in(a: Any, b: Any) -> bool:
    if isinstance(b, str):  # Paragon's "is in" also takes comma-separated text (U)
        b = [x.strip() for x in b.split(",")]
    return isinstance(b, list) and any(_eq(a, x) for x in b)


_MISSING = object()

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
    "in": _is_in,
    "not_in": lambda a, b: not _is_in(a, b),
    # Paragon's typed comparisons: numbers must be numbers, dates dates (StepError if not)
    "number_equals": lambda a, b: _number(a) == _number(b),
    "number_greater_than": lambda a, b: _number(a) > _number(b),
    "number_less_than": lambda a, b: _number(a) < _number(b),
    "number_greater_or_equal": lambda a, b: _number(a) >= _number(b),
    "number_less_or_equal": lambda a, b: _number(a) <= _number(b),
    "date_before": lambda a, b: _date(a) < _date(b),
    "date_after": lambda a, b: _date(a) > _date(b),
    "date_equals": lambda a, b: _date(a) == _date(b),
    "exists": lambda a, _b: a is not _MISSING and a is not None,
    "does_not_exist": lambda a, _b: a is _MISSING or a is None,
    "is_empty": lambda a, _b: a is _MISSING or _empty(a),
    "is_not_empty": lambda a, _b: a is not _MISSING and not _empty(a),
    "is_true": lambda a, _b: a is True or a == "true",
    "is_false": lambda a, _b: a is False or a == "false",
}
#: Paragon's operator labels (the editor's words) and symbols, as aliases of the names above.
#: (U) Paragon's stored operator identifiers are not documented; these are its UI labels.
OP_ALIASES: dict[str, str] = {
    "does_not_contain": "not_contains",
    "is_in": "in",
    "is_not_in": "not_in",
    "is_equal_to": "equals",
    "is_not_equal_to": "not_equals",
    "=": "number_equals",
    ">": "number_greater_than",
    "<": "number_less_than",
    ">=": "number_greater_or_equal",
    "<=": "number_less_or_equal",
    "is_before": "date_before",
    "is_after": "date_after",
    "is_null": "does_not_exist",
    "is_not_null": "exists",
    "array_is_empty": "is_empty",
    "array_is_not_empty": "is_not_empty",
}
#: operators that take no ``right`` operand; a missing ``left`` value counts as null for them
UNARY_OPS = frozenset(
    {"exists", "does_not_exist", "is_empty", "is_not_empty", "is_true", "is_false",
     "is_null", "is_not_null", "array_is_empty", "array_is_not_empty"}
)  # fmt: skip
#: every name a rule's ``op`` may use
KNOWN_OPS = frozenset(CONDITION_OPS) | frozenset(OP_ALIASES)


def evaluate_condition(rule: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Evaluate a rule against a context: ``{left, op, right}``; ``{all: [...]}`` /
    ``{any: [...]}`` (nest freely); or Paragon's disjunctive normal form ``{or: [[...],
    [...]]}``: true when every rule of at least one inner list holds."""
    if "all" in rule:
        return all(evaluate_condition(r, context) for r in rule["all"])
    if "any" in rule:
        return any(evaluate_condition(r, context) for r in rule["any"])
    if "or" in rule:
        return any(all(evaluate_condition(r, context) for r in group) for group in rule["or"])
    op = OP_ALIASES.get(rule["op"], rule["op"])
    try:
        left = render(rule.get("left"), context)
    except TemplateError:
        if op not in UNARY_OPS:
            raise
        left = _MISSING
    right = render(rule.get("right"), context)
    return bool(CONDITION_OPS[op](left, right))
