"""Things said once in the package, checked in its source (issue 10, "Said once")."""

from __future__ import annotations

import ast
from pathlib import Path

import paragon_nb
from paragon_nb.errors import close_matches

PACKAGE = Path(paragon_nb.__file__).parent


def _modules() -> dict[str, ast.Module]:
    return {
        str(p.relative_to(PACKAGE.parent)): ast.parse(p.read_text())
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def test_difflib_is_used_by_errors_only() -> None:
    """Every did-you-mean goes through errors.close_matches / closest / did_you_mean."""
    users = [
        path
        for path, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(
            (getattr(node, "module", None) or alias.name).split(".")[0] == "difflib"
            for alias in node.names
        )
    ]
    assert users == ["paragon_nb/errors.py"]


def test_the_integration_name_is_declared_once() -> None:
    """``"marketo"`` as a constant's value only in runtime/api.py (MARKETO)."""
    declared = [
        f"{path}:{node.lineno}"
        for path, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and node.value.value == "marketo"
    ]
    assert len(declared) == 1 and declared[0].startswith("paragon_nb/runtime/api.py:")


def test_close_matches_are_best_first_and_bounded() -> None:
    assert close_matches("emial", ["firstName", "mail", "email"]) == ["email", "mail"]
    assert close_matches("emial", ["email", "mail"], n=1) == ["email"]
    assert close_matches("zzz", ["email"]) == []
