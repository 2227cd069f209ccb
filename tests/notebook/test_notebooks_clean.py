"""The committed tutorial notebooks: executed, checked by nbval where it matters, and free of
secrets (no private key, no full JWT, no client secret, no password in saved widget state)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb"))
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


def test_the_four_tutorials_exist() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_executed_checked_and_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "re-execute the notebook"
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in code)
    text = path.read_text()
    assert "PRIVATE KEY" not in text
    assert not JWT.search(text)
    assert not re.search(r"client_secret[\"']?\s*[:=]\s*[\"'](?!\*)[^\"'\s]{6,}", text)
    widgets = json.dumps(nb.metadata.get("widgets", {}))
    for state in re.findall(r'"_model_name": "PasswordModel".*?"value": "([^"]*)"', widgets):
        assert state == ""
