"""Each tutorial has ONE source, its jupytext percent script (notebooks/0N_*.py); the committed
.ipynb is generated from it (``./dev notebooks``). These tests fail when the two drift apart:
someone edited the notebook in Lab without jupytext, or the script without rebuilding."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("0*.py"))


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_has_a_source_and_every_source_a_notebook() -> None:
    assert [p.stem for p in SOURCES] == [p.stem for p in sorted(NOTEBOOKS.glob("0*.ipynb"))]
    assert len(SOURCES) == 4


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_notebook_matches_its_source(source: Path) -> None:
    from_text = jupytext.read(source)
    stored = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    expected, actual = _cells(from_text), _cells(stored)
    for i, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, (
            f"{source.with_suffix('.ipynb').name} cell {i} differs from {source.name}; "
            "run ./dev notebooks to rebuild it"
        )
    assert len(actual) == len(expected), f"cell count differs; run ./dev notebooks {source.stem}"
    assert stored.metadata["kernelspec"] == from_text.metadata["kernelspec"]


def test_magic_cells_stay_magics_in_the_notebook() -> None:
    """``%%workflow``/``%%app_event`` bodies are YAML/JSON: the script comments them out (so
    ruff can lint it) and jupytext turns them back into cell magics (custom_cell_magics)."""
    nb = jupytext.read(NOTEBOOKS / "01_marketo_integration_tutorial.py")
    firsts = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code" and c.source]
    assert "%%app_event Lead Created" in firsts
    assert "%%workflow --deploy" in firsts
