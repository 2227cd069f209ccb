"""The run history display (``%paragon runs``): the project's runs, newest first, each opening
(``▶ steps``) onto a nested table of its steps — status, attempts, the batch it went out in,
timing, and its input and output pretty-printed and bounded.

It only reads what the runtime returns (``project.runs()`` and ``project.run(run_id)``) and
never changes state. The HTML is laid out to the cell's width (fixed table layout, wrapping
``<pre>`` blocks capped in height), so nothing spills past the right edge; colours are
JupyterLab theme variables (readable in Light and Dark).

    RunHistory.of(project, last=10)        # the last expression of a cell shows it
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paragon_nb._theme import COLOURS, STATUS_COLOURS

if TYPE_CHECKING:
    import pandas as pd

    from paragon_nb.runtime.api import RunRecord, StepRecord

__all__ = ["NO_RUNS_HINT", "RunHistory", "bounded_json"]

#: Shown under "No runs yet." when the caller has no better reason to give.
NO_RUNS_HINT = (
    "A run starts when an App Event reaches a deployed workflow that the user has enabled "
    "(Connect Portal > Configuration) with a valid Marketo connection."
)
MAX_LINES = 14
MAX_CHARS = 1200


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or str(value)
        in (
            "NaT",
            "<NA>",
        )
    )


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts, missing values (NaN/NaT) as None."""
    rows = table.to_dict(orient="records")
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in rows]


def bounded_json(value: Any, *, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> str:
    """``value`` as indented JSON, cut to ``max_lines`` lines / ``max_chars`` characters with
    a last line saying how much was left out."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    lines = text.splitlines() or [""]
    kept, size = [], 0
    for line in lines[:max_lines]:
        if size + len(line) > max_chars:
            kept.append(line[: max(0, max_chars - size)])
            break
        kept.append(line)
        size += len(line) + 1
    cut = len(text) - sum(len(k) + 1 for k in kept) + 1
    if cut > 0 and (len(kept) < len(lines) or size >= max_chars):
        kept.append(f"… ({len(lines) - len(kept)} more lines, {cut:,} more characters)")
    return "\n".join(kept)


def _seconds(value: Any) -> str:
    if _missing(value):
        return ""
    value = float(value)
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def _when(value: Any) -> str:
    if _missing(value):
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    return str(value)


_PRE = (
    "margin:0;text-align:left;white-space:pre-wrap;overflow-wrap:anywhere;max-height:16em;overflow:auto;"
    f"font-size:11px;line-height:1.35;background:{COLOURS['raised']};color:{COLOURS['text']};"
    "padding:4px 6px;border-radius:3px"
)
_TABLE = (
    f"width:100%;max-width:100%;table-layout:fixed;border-collapse:collapse;color:{COLOURS['text']}"
)
# Lab's rendered-HTML tables right-align cells: everything here reads left to right. Words
# break only when one alone is wider than its column (long ids, URLs).
_CELL = (
    "padding:3px 6px;vertical-align:top;text-align:left;overflow-wrap:break-word;"
    f"border-bottom:1px solid {COLOURS['line']}"
)


def _status(value: Any) -> str:
    if _missing(value):
        return ""
    colour = STATUS_COLOURS.get(str(value), COLOURS["text"])
    return f"<b style='color:{colour}'>{_esc(value)}</b>"


def _pre(value: Any) -> str:
    text = bounded_json(value)
    return f"<pre style='{_PRE}'>{_esc(text)}</pre>" if text else ""


class RunHistory:
    """The project's runs, newest first (only ``last`` of them).

    ``runs`` is what ``project.runs()`` returns (a DataFrame); ``details(run_id)`` returns one
    run's :class:`~paragon_nb.runtime.api.RunRecord` (``project.run``). ``hint`` replaces
    :data:`NO_RUNS_HINT` under "No runs yet." (e.g. why the last event started no run).
    """

    columns = ("run", "workflow", "user", "status", "started", "duration", "error")
    _widths = ("11%", "23%", "10%", "12%", "18%", "10%", "16%")

    def __init__(
        self,
        runs: pd.DataFrame,
        *,
        details: Callable[[str], RunRecord] | None = None,
        last: int | None = 10,
        hint: str | None = None,
    ) -> None:
        records = _records(runs)
        records.sort(key=lambda r: str(r.get("started") or ""), reverse=True)
        self.runs = records[:last] if last else records
        self._details = details
        self.hint = hint or NO_RUNS_HINT

    @classmethod
    def of(cls, project: Any, *, last: int | None = 10, hint: str | None = None) -> RunHistory:
        return cls(project.runs(), details=project.run, last=last, hint=hint)

    def steps(self, run_id: str) -> list[StepRecord]:
        """The step records of one run (empty without ``details``)."""
        if self._details is None:
            return []
        return list(self._details(run_id).steps)

    # text ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if not self.runs:
            return f"No runs yet. {self.hint}"
        lines = []
        for r in self.runs:
            err = f" error={r.get('error')}" if r.get("error") else ""
            lines.append(f"{r.get('workflow')} · {r.get('status')}{err}")
        return "\n".join(lines)

    # html ------------------------------------------------------------------------------------
    def _steps_html(self, steps: Sequence[StepRecord], run_started: float | None) -> str:
        head = ("step", "status", "attempts", "batch", "timing", "input", "output / error")
        widths = ("16%", "12%", "10%", "8%", "10%", "22%", "22%")
        cols = "".join(f"<col style='width:{w}'>" for w in widths)
        ths = "".join(f"<th style='{_CELL};text-align:left'>{h}</th>" for h in head)
        rows = []
        for s in steps:
            offset = ""
            if s.started is not None and run_started is not None:
                offset = f"at +{_seconds(max(0.0, s.started - run_started))}"
            batch = s.batch_id
            batch_cell = (
                f"<code title='{_esc(batch)}'>{_esc(str(batch)[:8])}</code>"
                if not _missing(batch)
                else f"<span style='color:{COLOURS['muted']}'>alone</span>"
            )
            out = _pre(s.output)
            if not _missing(s.error):
                out += f"<div style='color:{COLOURS['error']}'>{_esc(s.error)}</div>"
            took = _seconds(s.duration)
            timing = "<br>".join(t for t in (offset, f"took {took}" if took else "") if t)
            rows.append(
                "<tr>"
                f"<td style='{_CELL}'><code>{_esc(s.step_id)}</code><br>"
                f"<small style='color:{COLOURS['muted']}'>{_esc(s.action)}</small>"
                f"</td><td style='{_CELL}'>{_status(s.status)}</td>"
                f"<td style='{_CELL}'>{_esc(s.attempts)}</td>"
                f"<td style='{_CELL}'>{batch_cell}</td>"
                f"<td style='{_CELL}'>{timing}</td>"
                f"<td style='{_CELL}'>{_pre(s.input)}</td>"
                f"<td style='{_CELL}'>{out}</td></tr>"
            )
        return (
            f"<table class='paragon-steps' style='{_TABLE}'><colgroup>{cols}</colgroup>"
            f"<tr>{ths}</tr>{''.join(rows)}</table>"
        )

    def _run_html(self, run: Mapping[str, Any]) -> str:
        run_id = str(run.get("run_id") or run.get("id") or "")
        cells = [
            f"<code title='{_esc(run_id)}'>{_esc(run_id[:8])}</code>",
            _esc(run.get("workflow") or ""),
            _esc(run.get("user") or ""),
            _status(run.get("status")),
            _esc(_when(run.get("started"))),
            _esc(_seconds(run.get("duration"))),
            f"<span style='color:{COLOURS['error']}'>{_esc(run.get('error') or '')}</span>",
        ]
        row = "<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in cells) + "</tr>"
        detail = self._details(run_id) if (self._details and run_id) else None
        if detail is None or not detail.steps:
            return row
        steps = detail.steps
        drill = (
            f"<details><summary style='cursor:pointer;text-align:left;color:{COLOURS['muted']}'>"
            f"steps ({len(steps)})</summary>"
            f"{self._steps_html(steps, detail.started)}</details>"
        )
        colspan = len(self.columns)
        return row + f"<tr><td colspan='{colspan}' style='padding:0 0 6px 24px'>{drill}</td></tr>"

    def _repr_html_(self) -> str:
        if not self.runs:
            return (
                f"<div class='paragon-runs' style='color:{COLOURS['text']}'><i>No runs yet.</i> "
                f"<span style='color:{COLOURS['muted']}'>{_esc(self.hint)}</span></div>"
            )
        cols = "".join(f"<col style='width:{w}'>" for w in self._widths)
        head = "".join(f"<th style='{_CELL};text-align:left'>{c}</th>" for c in self.columns)
        body = "".join(self._run_html(r) for r in self.runs)
        return (
            f"<div class='paragon-runs' style='max-width:100%'><table style='{_TABLE}'>"
            f"<colgroup>{cols}</colgroup><tr>{head}</tr>{body}</table></div>"
        )
