"""``{{ ... }}`` templates for workflow steps: parse, list references, render. No eval.

A reference is a dotted path into the run context: ``event.email``, ``settings.marketo_list``,
``steps.upsert_lead.id``, ``user.id``, ``user.meta.Name``, ``secrets.CRM_TOKEN`` (an environment
secret: resolved from the run's ``secrets`` mapping, which is never stored; every record of
the rendered value is masked by the run). Segments are identifiers
(letters, digits, ``_``, ``-``), list indexes (``items.0`` or ``items[0]``) or quoted keys
(``event["first name"]``; keys containing braces cannot be referenced). Resolution only
indexes dicts and lists: no attribute access into Python objects, no expressions.

A value that is exactly one reference (``"{{event.age}}"``) keeps its JSON type; anything else is
string interpolation (``None`` -> ``""``, booleans -> ``true``/``false``, dicts/lists -> JSON)::

    render({"n": "{{event.n}}", "s": "n={{event.n}}"}, {"event": {"n": 3}})
    # -> {"n": 3, "s": "n=3"}

Failure modes: a malformed template raises :class:`TemplateError` naming the text; a path that
does not resolve raises :class:`TemplateError` naming the full path and the missing segment.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from paragon_nb.errors import TemplateError

__all__ = [
    "ROOTS",
    "Reference",
    "Template",
    "format_path",
    "parse",
    "references",
    "render",
    "resolve",
]

#: the namespaces a reference may start with
ROOTS = ("event", "request", "settings", "steps", "user", "secrets")

_OPEN, _CLOSE = "{{", "}}"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+")
_SEGMENT = re.compile(
    r"""\s*(?:
        \.\s*(?P<dot>[A-Za-z0-9_\-]+)            # .name or .0
      | \[\s*(?P<idx>-?[0-9]+)\s*\]             # [0]
      | \[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\]     # ["key with spaces"]
      | \[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\]     # ['key']
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Reference:
    """One ``{{ path }}``: ``path`` is a tuple of str keys and int indexes."""

    path: tuple[str | int, ...]
    text: str  # the source between the braces, stripped

    @property
    def root(self) -> str:
        return str(self.path[0])

    def __str__(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class Template:
    """A parsed string: literal text and references, in order."""

    parts: tuple[str | Reference, ...]

    @property
    def single(self) -> Reference | None:
        """The reference when the whole string is exactly one ``{{ }}``; else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Reference):
            return self.parts[0]
        return None

    @property
    def refs(self) -> tuple[Reference, ...]:
        return tuple(p for p in self.parts if isinstance(p, Reference))


def format_path(path: tuple[str | int, ...]) -> str:
    """``("event", "a b", 0)`` -> ``event["a b"][0]`` (the inverse of the parser)."""
    out = ""
    for i, seg in enumerate(path):
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", seg):
            out += seg if i == 0 else f".{seg}"
        else:
            out += '["' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out


def _parse_path(text: str, source: str) -> tuple[str | int, ...]:
    body = text.strip()
    head = _IDENT.match(body)
    if not body or head is None or head.group(0).isdigit():
        raise TemplateError(
            f"malformed reference {{{{{text}}}}} in {source!r}: a reference starts with one of "
            f"{', '.join(ROOTS)}, e.g. {{{{event.email}}}}"
        )
    path: list[str | int] = [head.group(0)]
    pos = head.end()
    while pos < len(body):
        m = _SEGMENT.match(body, pos)
        if m is None or m.end() == pos:
            raise TemplateError(
                f"malformed reference {{{{{text}}}}} in {source!r} at {body[pos:]!r}: use "
                'dots (event.items.0.name), [0] or ["key with spaces"]; expressions are not allowed'
            )
        if m.group("dot") is not None:
            seg = m.group("dot")
            path.append(int(seg) if seg.isdigit() else seg)
        elif m.group("idx") is not None:
            path.append(int(m.group("idx")))
        else:
            raw = m.group("dq") if m.group("dq") is not None else m.group("sq")
            path.append(re.sub(r"\\(.)", r"\1", raw))
        pos = m.end()
    return tuple(path)


@functools.lru_cache(maxsize=4096)  # templates repeat across runs; Template is immutable
def parse(text: str) -> Template:
    """Split ``text`` into literals and references. Raises TemplateError when malformed."""
    parts: list[str | Reference] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        if start < 0:
            if pos < len(text):
                parts.append(text[pos:])
            break
        end = text.find(_CLOSE, start + 2)
        if end < 0:
            raise TemplateError(f"unclosed '{{{{' in {text!r}: every '{{{{' needs a '}}}}'")
        if start > pos:
            parts.append(text[pos:start])
        inner = text[start + 2 : end]
        if _OPEN in inner:
            raise TemplateError(f"nested '{{{{' in {text!r}: references cannot contain braces")
        parts.append(Reference(_parse_path(inner, text), inner.strip()))
        pos = end + 2
    return Template(tuple(parts))


def references(value: Any) -> Iterator[Reference]:
    """Every reference in a nested value (strings inside dicts/lists), in document order."""
    if isinstance(value, str):
        if _OPEN in value:
            yield from parse(value).refs
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from references(item)


def resolve(path: tuple[str | int, ...], context: Mapping[str, Any]) -> Any:
    """Walk ``path`` through dicts and lists only. Raises TemplateError naming the path."""
    current: Any = context
    for depth, seg in enumerate(path):
        if isinstance(current, Mapping):
            key: Any = seg if seg in current else str(seg)
            if key not in current:
                keys = ", ".join(sorted(map(str, current))) or "none"
                where = format_path(path[: depth + 1])
                raise TemplateError(
                    f"{{{{{format_path(path)}}}}}: no value at {where} (available: {keys})"
                )
            current = current[key]
        elif isinstance(current, list):
            if not isinstance(seg, int) or not -len(current) <= seg < len(current):
                where = format_path(path[: depth + 1])
                raise TemplateError(
                    f"{{{{{format_path(path)}}}}}: no item {seg!r} at {where} "
                    f"(the list has {len(current)} items)"
                )
            current = current[seg]
        else:
            where = format_path(path[: depth + 1])
            raise TemplateError(
                f"{{{{{format_path(path)}}}}}: cannot look up {seg!r} at {where}: the value "
                f"before it is a {type(current).__name__}, not an object or list"
            )
    return current


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template in a nested value against ``context`` (a new value is returned)."""
    if isinstance(value, str):
        if _OPEN not in value:
            return value
        template = parse(value)
        single = template.single
        if single is not None:
            return resolve(single.path, context)
        return "".join(
            p if isinstance(p, str) else _to_text(resolve(p.path, context)) for p in template.parts
        )
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, context) for v in value]
    return value
