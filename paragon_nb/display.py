"""Notebook displays: the workflow diagram, the App Event schema and the run history.

Each is a small object with ``_repr_html_`` (plain HTML + inline SVG, so JupyterLab shows it
without any extension) and a deterministic ``__repr__`` (what nbval compares). They only
read what the runtime returns; nothing here changes state.

    WorkflowDiagram(yaml.safe_load(spec))     # trigger -> steps, settings
    EventSchema("Lead Created", schema)       # field -> type table
    RunHistory.of(project, last=10)           # status colours, drill-down into steps
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["STATUS_COLOURS", "EventSchema", "RunHistory", "WorkflowDiagram", "schema_fields"]

STATUS_COLOURS = {
    "succeeded": "#1b7f3b",
    "failed": "#b00020",
    "running": "#1565c0",
    "queued": "#6d6d6d",
    "retrying": "#ef6c00",
    "skipped": "#6d6d6d",
}

_BOX_W, _BOX_H, _GAP = 340, 46, 26


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
        boxes = [("trigger", self.trigger, "#e3f2fd", "#1565c0")]
        for i, (path, step) in enumerate(self.flat_steps(), 1):
            sid, kind = _step_label(step)
            tag = f"step {i}" + (f" · if {path}" if path else "")
            fill = "#fff8e1" if kind == "condition" else "#f5f5f5"
            boxes.append((tag, f"{sid} · {kind}", fill, "#616161"))
        height = len(boxes) * (_BOX_H + _GAP)
        parts = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{_BOX_W + 20}' height='{height}' "
            "role='img' aria-label='workflow diagram' style='font-family:sans-serif'>",
            "<defs><marker id='pnb-arrow' markerWidth='8' markerHeight='8' refX='4' refY='4' "
            "orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#757575'/></marker></defs>",
        ]
        for i, (tag, text, fill, stroke) in enumerate(boxes):
            y = i * (_BOX_H + _GAP) + 2
            parts.append(
                f"<rect x='10' y='{y}' width='{_BOX_W}' height='{_BOX_H}' rx='8' "
                f"fill='{fill}' stroke='{stroke}'/>"
                f"<text x='22' y='{y + 17}' font-size='11' fill='#757575'>{_esc(tag)}</text>"
                f"<text x='22' y='{y + 35}' font-size='14' fill='#212121'>{_esc(text)}</text>"
            )
            if i < len(boxes) - 1:
                x, y1 = 10 + _BOX_W // 2, y + _BOX_H
                parts.append(
                    f"<line x1='{x}' y1='{y1}' x2='{x}' y2='{y1 + _GAP - 4}' stroke='#757575' "
                    "marker-end='url(#pnb-arrow)'/>"
                )
        parts.append("</svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{_esc(s.get('id'))}</code></td><td>{_esc(s.get('label', ''))}</td>"
            f"<td>{_esc(s.get('type', 'text'))}</td>"
            f"<td>{'yes' if s.get('required') else ''}</td></tr>"
            for s in self.settings
        )
        settings = (
            "<table><tr><th>setting</th><th>label</th><th>type</th><th>required</th></tr>"
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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _records(table: Any) -> list[dict[str, Any]]:
    """Rows as dicts (from a DataFrame or records), missing values (NaN/NaT) as None."""
    rows = table.to_dict(orient="records") if hasattr(table, "to_dict") else table
    out = []
    for row in rows:
        out.append(
            {
                k: (None if _missing(v) or str(v) in ("NaT", "<NA>") else v)
                for k, v in dict(row).items()
            }
        )
    return out


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


class RunHistory:
    """The project's runs, newest first: a table with status colours; each row opens
    (``<details>``) onto its steps with status, attempts and error.

    ``runs`` is what ``project.runs()`` returns (DataFrame or records); ``details(run_id)``
    fetches one run's steps (``project.run``). Only ``last`` runs are shown.
    """

    columns = ("run_id", "workflow", "user", "event", "status", "started", "duration", "error")

    def __init__(self, runs: Any, *, details: Any = None, last: int | None = 10) -> None:
        records = _records(runs)
        records.sort(key=lambda r: str(r.get("started") or ""), reverse=True)
        self.runs = records[:last] if last else records
        self._details = details

    @classmethod
    def of(cls, project: Any, *, last: int | None = 10) -> RunHistory:
        return cls(project.runs(), details=project.run, last=last)

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        if self._details is None:
            return []
        run = self._details(run_id)
        return [s if isinstance(s, dict) else dict(vars(s)) for s in _get(run, "steps", []) or []]

    def __repr__(self) -> str:
        if not self.runs:
            return "No runs yet."
        lines = []
        for r in self.runs:
            err = f" error={r.get('error')}" if r.get("error") else ""
            lines.append(f"{r.get('workflow')} · {r.get('status')}{err}")
        return "\n".join(lines)

    def _cell(self, key: str, value: Any) -> str:
        if _missing(value):
            return "<td></td>"
        if key in ("run_id", "id") and len(str(value)) > 12:
            return f"<td title='{_esc(value)}'><code>{_esc(str(value)[:8])}</code></td>"
        if key == "started" and hasattr(value, "strftime"):
            return f"<td>{_esc(value.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        if key == "duration" and isinstance(value, int | float):
            return f"<td>{value * 1000:,.0f} ms</td>"
        if key == "status":
            colour = STATUS_COLOURS.get(str(value), "#424242")
            return f"<td><b style='color:{colour}'>{_esc(value)}</b></td>"
        return f"<td>{_esc(value)}</td>"

    def _run_html(self, run: Mapping[str, Any]) -> str:
        run_id = run.get("run_id") or run.get("id")
        cells = "".join(self._cell(k, run.get(k)) for k in self.columns)
        steps = self.steps(str(run_id)) if run_id else []
        step_rows = "".join(
            "<tr>"
            + self._cell("id", s.get("step_id") or s.get("id"))
            + self._cell("status", s.get("status"))
            + self._cell("attempts", s.get("attempts"))
            + f"<td><code>{_esc(json.dumps(s.get('output'), default=str)[:200])}</code></td>"
            + self._cell("error", s.get("error"))
            + "</tr>"
            for s in steps
        )
        drill = (
            "<details><summary>steps</summary><table><tr><th>step</th><th>status</th>"
            f"<th>attempts</th><th>output</th><th>error</th></tr>{step_rows}</table></details>"
            if steps
            else ""
        )
        return f"<tr>{cells}<td>{drill}</td></tr>"

    def _repr_html_(self) -> str:
        if not self.runs:
            return "<i>No runs yet.</i>"
        head = "".join(f"<th>{c}</th>" for c in self.columns)
        body = "".join(self._run_html(r) for r in self.runs)
        return f"<table class='paragon-runs'><tr>{head}<th></th></tr>{body}</table>"
