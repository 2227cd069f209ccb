"""Single tutorial cells, run as a reader re-runs them (from the jupytext sources)."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _cell(source: str, needle: str) -> str:
    nb = jupytext.read(NOTEBOOKS / source)
    (cell,) = [c.source for c in nb.cells if c.cell_type == "code" and needle in c.source]
    return cell


@pytest.mark.parametrize(
    "source",
    [
        "01_marketo_integration_tutorial.py",
        "02_bulk_sync_from_dataframe.py",
        "03_prototyping_workflows.py",
    ],
)
def test_running_the_sandbox_cell_twice_keeps_the_running_sandbox(source: str) -> None:
    code = compile(_cell(source, "MarketoSandbox("), source, "exec")
    namespace: dict = {"os": __import__("os")}
    exec(code, namespace)
    first = namespace["sandbox"]
    try:
        exec(code, namespace)  # the reader runs the cell again
        assert namespace["sandbox"] is first and first.running
        first.stop()
        exec(code, namespace)  # a stopped sandbox is replaced by a new one
        assert namespace["sandbox"] is not first and namespace["sandbox"].running
        namespace["sandbox"].stop()
    finally:
        first.stop()
