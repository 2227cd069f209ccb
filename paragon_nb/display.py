"""Notebook displays: the workflow diagram, the App Event schema and the run history.

Each is a small object with ``_repr_html_`` (plain HTML + inline SVG, so JupyterLab shows it
without any extension) and a deterministic ``__repr__`` (what nbval compares). They only
read what the runtime returns; nothing here changes state.

    WorkflowDiagram(yaml.safe_load(spec))     # trigger -> steps, settings
    EventSchema("Lead Created", schema)       # field -> type table
    RunHistory.of(project, last=10)           # runs, drill-down into steps (run_history.py)
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from paragon_nb._theme import BORDER, COLOURS, STATUS_COLOURS, status_html
from paragon_nb.run_history import RunHistory

__all__ = [
    "BORDER",
    "COLOURS",
    "STATUS_COLOURS",
    "ErrorSummary",
    "EventSchema",
    "RunHistory",
    "WorkflowDiagram",
    "schema_fields",
    "status_html",
]

_BOX_W, _BOX_H, _GAP = 340, 46, 26
_LEFT = " style='text-align:left'"  # Lab right-aligns rendered table cells


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _step_label(step: Mapping[str, Any]) -> tuple[str, str]:
    kind = step.get("action") or step.get("type") or ("condition" if "if" in step else "step")
    return str(step.get("id", "?")), str(kind)


class WorkflowDiagram:
    """The workflow as boxes: its trigger, then each step in order, then its user settings.

    ``spec`` is the workflow spec as a dict (the YAML of ``%%workflow``). Unknown keys are
    ignored; a spec without steps draws just the trigger.
    """

    def __init__(self, spec: Mapping[str, Any], *, status: str | None = None) -> None:
        self.spec = dict(spec)
        self.status = status

    @property
    def trigger(self) -> str:
        trig = self.spec.get("trigger") or {}
        if isinstance(trig, Mapping):
            if "app_event" in trig:
                return f"App Event: {trig['app_event']}"
            return ", ".join(f"{k}: {v}" for k, v in trig.items()) or "(no trigger)"
        return str(trig)

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        return [s for s in self.spec.get("steps") or [] if isinstance(s, Mapping)]

    def flat_steps(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(branch path, step) depth first: a condition's ``then``/``else`` steps follow it
        with a path like ``is_vip.then``."""
        out: list[tuple[str, Mapping[str, Any]]] = []

        def visit(steps: Any, path: str) -> None:
            for step in steps or []:
                if not isinstance(step, Mapping):
                    continue
                out.append((path, step))
                for branch in ("then", "else"):
                    visit(step.get(branch), f"{step.get('id')}.{branch}")

        visit(self.spec.get("steps"), "")
        return out

    @property
    def settings(self) -> list[Mapping[str, Any]]:
        return [s for s in self.spec.get("user_settings") or [] if isinstance(s, Mapping)]

    def __repr__(self) -> str:
        lines = [f"Workflow {self.spec.get('name', '(unnamed)')!r}", f"  trigger: {self.trigger}"]
        for i, (path, step) in enumerate(self.flat_steps(), 1):
            sid, kind = _step_label(step)
            where = f" [{path}]" if path else ""
            lines.append(f"  {i}. {sid} ({kind}){where}")
        for s in self.settings:
            req = ", required" if s.get("required") else ""
            lines.append(f"  setting {s.get('id')}: {s.get('type', 'text')}{req}")
        if self.status:
            lines.append(f"  status: {self.status}")
        return "\n".join(lines)

    def _svg(self) -> str:
        c = COLOURS
        boxes = [("trigger", self.trigger, c["surface"], c["info"])]
        for i, (path, step) in enumerate(self.flat_steps(), 1):
            sid, kind = _step_label(step)
            tag = f"step {i}" + (f" · if {path}" if path else "")
            stroke = c["warn"] if kind == "condition" else c["muted"]
            boxes.append((tag, f"{sid} · {kind}", c["raised"], stroke))
        height = len(boxes) * (_BOX_H + _GAP)
        parts = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{_BOX_W + 20}' height='{height}' "
            "role='img' aria-label='workflow diagram' style='font-family:sans-serif'>",
            "<defs><marker id='pnb-arrow' markerWidth='8' markerHeight='8' refX='4' refY='4' "
            f"orient='auto'><path d='M0,0 L8,4 L0,8 z' style='fill:{c['faint']}'/></marker>"
            "</defs>",
        ]
        for i, (tag, text, fill, stroke) in enumerate(boxes):
            y = i * (_BOX_H + _GAP) + 2
            parts.append(
                f"<rect x='10' y='{y}' width='{_BOX_W}' height='{_BOX_H}' rx='8' "
                f"style='fill:{fill};stroke:{stroke}'/>"
                f"<text x='22' y='{y + 17}' font-size='11' style='fill:{c['muted']}'>"
                f"{_esc(tag)}</text>"
                f"<text x='22' y='{y + 35}' font-size='14' style='fill:{c['text']}'>"
                f"{_esc(text)}</text>"
            )
            if i < len(boxes) - 1:
                x, y1 = 10 + _BOX_W // 2, y + _BOX_H
                parts.append(
                    f"<line x1='{x}' y1='{y1}' x2='{x}' y2='{y1 + _GAP - 4}' "
                    f"style='stroke:{c['faint']}' marker-end='url(#pnb-arrow)'/>"
                )
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td{_LEFT}><code>{_esc(s.get('id'))}</code></td>"
            f"<td{_LEFT}>{_esc(s.get('label', ''))}</td>"
            f"<td{_LEFT}>{_esc(s.get('type', 'text'))}</td>"
            f"<td{_LEFT}>{'yes' if s.get('required') else ''}</td></tr>"
            for s in self.settings
        )
        settings = (
            "<table class='paragon-settings'><tr>"
            + "".join(f"<th{_LEFT}>{h}</th>" for h in ("setting", "label", "type", "required"))
            + "</tr>"
            f"{rows}</table>"
            if rows
            else "<i>no user settings</i>"
        )
        status = f" <small>({_esc(self.status)})</small>" if self.status else ""
        return (
            f"<div class='paragon-workflow'><b>{_esc(self.spec.get('name', '(unnamed)'))}</b>"
            f"{status}<div style='display:flex;gap:24px;align-items:flex-start'>"
            f"<div>{self._svg()}</div><div><b>User settings</b>{settings}</div></div></div>"
        )


def schema_fields(schema: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(path, type) for every property of a JSON Schema, depth first, in declared order."""
    out: list[tuple[str, str]] = []
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}{key}"
        kind = sub.get("type", "any")
        kind = "|".join(kind) if isinstance(kind, list) else str(kind)
        out.append((path, kind))
        if kind == "object":
            out.extend(schema_fields(sub, prefix=f"{path}."))
        elif kind == "array" and isinstance(sub.get("items"), Mapping):
            items = sub["items"]
            out.append((f"{path}[]", str(items.get("type", "any"))))
            if items.get("type") == "object":
                out.extend(schema_fields(items, prefix=f"{path}[]."))
    return out


class EventSchema:
    """An App Event and the schema inferred from its example: ``{{event.<path>}}`` names."""

    def __init__(self, name: str, schema: Mapping[str, Any]) -> None:
        self.name = name
        self.schema = dict(schema)

    def __repr__(self) -> str:
        lines = [f"App Event {self.name!r}"]
        lines += [f"  event.{path}: {kind}" for path, kind in schema_fields(self.schema)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{{{{event.{_esc(p)}}}}}</code></td><td>{_esc(k)}</td></tr>"
            for p, k in schema_fields(self.schema)
        )
        return (
            f"<div class='paragon-event'><b>App Event “{_esc(self.name)}”</b>"
            f"<table><tr><th>reference</th><th>type</th></tr>{rows}</table></div>"
        )


class ErrorSummary:
    """A ``ParagonError`` as one short block: what went wrong, what to do, and the traceback
    behind a "details" toggle (what the notebook shows instead of a 40-line traceback).

    The message is split at its first ``"; "`` (the house style is "what; next step").
    """

    def __init__(self, error: BaseException, *, details: str = "") -> None:
        self.name = type(error).__name__
        text = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
        text, _, hint = text.partition("; ")
        self.message = text
        self.hint = hint
        self.details = details

    def __repr__(self) -> str:
        hint = f"\n  {self.hint}" if self.hint else ""
        return f"{self.name}: {self.message}{hint}"

    def _repr_html_(self) -> str:
        c = COLOURS
        hint = f"<div style='color:{c['text']}'>{_esc(self.hint)}</div>" if self.hint else ""
        details = (
            f"<details><summary style='cursor:pointer;color:{c['muted']}'>details</summary>"
            f"<pre style='white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;"
            f"color:{c['text']}'>{_esc(self.details)}</pre></details>"
            if self.details
            else ""
        )
        return (
            f"<div class='paragon-error-summary' style='border-left:3px solid {c['error']};"
            f"padding:4px 10px;color:{c['text']}'><b style='color:{c['error']}'>"
            f"{_esc(self.name)}</b>: {_esc(self.message)}{hint}{details}</div>"
        )
