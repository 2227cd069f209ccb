"""The notebook displays: run history drill-down (bounded, laid out to the cell), error blocks,
and theme colours (JupyterLab CSS variables only, so Light and Dark both read well)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from paragon_nb.display import ErrorSummary, RunHistory, WorkflowDiagram
from paragon_nb.errors import MappingError
from paragon_nb.run_history import bounded_json
from paragon_nb.runtime.api import RunRecord, RunStatus, StepRecord

PACKAGE = Path(__file__).resolve().parents[2] / "paragon_nb"


def _history(**step: object) -> RunHistory:
    runs = pd.DataFrame(
        [
            {
                "run_id": "run-0001-aaaa-bbbb",
                "workflow": "Sync new leads",
                "user": "user-1",
                "status": "succeeded",
                "started": pd.Timestamp("2026-12-01 10:00:00"),
                "duration": 0.25,
                "error": None,
            }
        ]
    )
    base = {
        "step_id": "upsert_lead",
        "action": "marketo.create_or_update_lead",
        "status": "succeeded",
        "attempts": 2,
        "started": 100.02,
        "finished": 100.07,
        "input": {"email": "ada@example.com", "firstName": "Ada"},
        "output": {"id": 7, "status": "created"},
        "error": None,
        "batch_id": "batch-1234-5678",
    }
    base.update(step)
    run = RunRecord(
        run_id="run-0001-aaaa-bbbb", workflow="Sync new leads", workflow_id="wf-1", version=1,
        user="user-1", status=RunStatus.SUCCEEDED, error=None, created=100.0, started=100.0,
        ended=100.25, replay_of=None, not_before=None, task_count=1, event=None,
        steps=(StepRecord(**base),),  # type: ignore[arg-type]
    )  # fmt: skip
    return RunHistory(runs, details=lambda _id: run)


def test_steps_show_input_output_timing_attempts_and_batch() -> None:
    html = _history()._repr_html_()
    assert "<details>" in html and "steps (1)" in html
    assert "&quot;email&quot;: &quot;ada@example.com&quot;" in html  # input, pretty-printed
    assert "&quot;status&quot;: &quot;created&quot;" in html  # output
    assert "at +20 ms" in html and "took 50 ms" in html  # offset in the run, duration
    assert "<td style='padding:3px 6px;vertical-align:top" in html
    assert "title='batch-1234-5678'" in html
    assert "alone" in _history(batch_id=None)._repr_html_()


def test_the_drill_down_never_widens_the_cell() -> None:
    huge = {"rows": [{"email": f"reader{i}@example.com", "note": "x" * 300} for i in range(200)]}
    html = _history(output=huge, error="E" * 2000)._repr_html_()
    tables = re.findall(r"<table[^>]*style='([^']*)'", html)
    assert tables and all("table-layout:fixed" in t and "width:100%" in t for t in tables)
    assert "white-space:pre-wrap" in html and "overflow-wrap:anywhere" in html
    assert "more lines" in html and len(html) < 20_000  # bounded, not 60 kB of JSON


def test_bounded_json_keeps_short_values_whole_and_cuts_long_ones() -> None:
    assert bounded_json({"a": 1}) == '{\n  "a": 1\n}'
    cut = bounded_json(list(range(100)), max_lines=5)
    assert cut.splitlines()[-1].startswith("… (9")
    assert len(cut.splitlines()) == 6
    assert bounded_json(None) == ""


def test_no_runs_says_why() -> None:
    empty = RunHistory(pd.DataFrame(columns=["run_id", "started"]), hint="workflow 'X' is off")
    assert repr(empty) == "No runs yet. workflow 'X' is off"
    assert "workflow &#x27;X&#x27; is off" in empty._repr_html_()


def test_error_summary_is_message_hint_and_a_details_toggle() -> None:
    block = ErrorSummary(MappingError("column 'x' maps to nothing; map it"), details="Trace")
    assert repr(block) == "MappingError: column 'x' maps to nothing\n  map it"
    html = block._repr_html_()
    assert "<details><summary" in html and ">details</summary>" in html and "Trace" in html


def test_every_colour_is_a_jupyterlab_variable() -> None:
    skins = [
        PACKAGE / "display.py",
        PACKAGE / "run_history.py",
        PACKAGE / "sync" / "result.py",
        *PACKAGE.glob("widgets/*.py"),
    ]
    for path in skins:
        hexes = re.findall(r"#[0-9a-fA-F]{6}\b", path.read_text())
        assert not hexes, f"{path.name} hard-codes {hexes}: use paragon_nb._theme.COLOURS"
    theme = (PACKAGE / "_theme.py").read_text()
    for line in re.findall(r'"[\w ]+": "([^"]+)"', theme):
        assert line.startswith("var(--jp-"), line


def test_the_workflow_diagram_is_themed() -> None:
    spec = {"name": "W", "trigger": {"app_event": "E"}, "steps": [{"id": "a", "action": "x"}]}
    svg = WorkflowDiagram(spec)._svg()
    assert "fill='#" not in svg and "fill:var(--jp-layout-color" in svg
    assert "fill:var(--jp-ui-font-color1" in svg


def test_a_dry_runs_rows_show_every_reason_whole() -> None:
    """Issue 13: ``plan.rows`` in a notebook cut ``reason`` at 50 characters with "…"."""
    import html

    from paragon_nb import sync_leads
    from paragon_nb.sandbox.app import SandboxApp

    leads = pd.DataFrame(
        {
            "email": ["ada@example.com", "not-an-email", "bob@example.com"],
            "numberOfEmployees": ["12", "twelve and a half thousand, roughly", "7"],
        }
    )
    with SandboxApp().client() as client:
        plan = sync_leads(leads, client, dry_run=True, progress=False)
    reasons = plan.rows["reason"].dropna().tolist()
    assert reasons and max(len(r) for r in reasons) > pd.get_option("display.max_colwidth")
    for frame in (plan.rows, plan.invalid, plan.rows[plan.rows["status"] == "invalid"]):
        page = frame._repr_html_()
        assert all(html.escape(r, quote=False) in page for r in reasons), page
        assert "…" not in page and "..." not in page
        assert isinstance(frame, pd.DataFrame)
    assert "..." in pd.DataFrame(plan.rows)._repr_html_()  # what pandas alone shows
