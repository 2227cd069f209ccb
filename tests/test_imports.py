"""The package's import rules (ARCHITECTURE.md "Layers"), read from the source with ``ast``:

- no import cycle among paragon_nb modules, counting imports inside functions and a module
  named in a string (``importlib.import_module(name)``, lazy export tables, import hooks);
  only ``if TYPE_CHECKING:`` imports are free;
- the core never imports the notebook skin (magics, widgets/, display, cli, demo) nor
  IPython/ipywidgets. ``paragon_nb/__init__.py`` is the front door of both (``%load_ext
  paragon_nb`` finds ``load_ipython_extension`` there), so it is neither core nor skin;
- marketo/ never imports sandbox/ (the client speaks HTTP to it like to a real Marketo).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

import paragon_nb

SKIN = ("paragon_nb.magics", "paragon_nb.widgets", "paragon_nb.display", "paragon_nb.cli")
SKIN += ("paragon_nb.demo",)
SKIN_LIBRARIES = ("IPython", "ipywidgets")
FRONT_DOOR = "paragon_nb"

# Known violations, each (importer, imported) -> why it is tolerated and who removes it.
# Empty since http's issue-10 fix (runtime/http.py; the Connect Portal found through the
# "paragon_nb.portals" entry point) removed the runtime cycle and sdk's widget import.
# test_allow_list_has_no_stale_entry says when an entry can go.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    where: str  # path:line, for the failure message

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} ({self.where})"


def find_modules(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every .py file of the package under ``root``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_edges(root: Path, package: str) -> list[Edge]:
    """Every import of one of the package's modules by another, wherever it is written."""
    modules = find_modules(root, package)
    edges = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for target, line, exact, _ in _imports(ast.parse(path.read_text()), name, is_package):
            # `from a.b import c`: the module a.b.c if there is one, else a.b
            resolved = target if target in modules or exact else target.rpartition(".")[0]
            if resolved in modules and resolved != name:
                edges.append(Edge(name, resolved, f"{path.relative_to(root)}:{line}"))
    return edges


class Found(NamedTuple):
    name: str  # dotted; for `from a import b`, "a.b"
    line: int
    exact: bool  # a string: it must name the module itself
    lazy: bool  # inside a function, or guarded by `except ImportError`


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[Found]:
    found: list[Found] = []
    package = module if is_package else module.rpartition(".")[0]
    named = f"{module.split('.')[0]}."  # a string starting so may name one of our modules

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, lazy)
            return
        lazy = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        lazy = lazy or (isinstance(node, ast.Try) and _catches_import_error(node))
        if isinstance(node, ast.Import):
            found.extend(Found(alias.name, node.lineno, False, lazy) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.extend(
                Found(f"{base}.{alias.name}", node.lineno, False, lazy) for alias in node.names
            )
        elif _names_a_module(node, named):
            found.append(Found(node.value, node.lineno, True, lazy))  # type: ignore[attr-defined]
        elif _is_get_logger(node):  # a logger named after a module does not import it
            return
        for child in ast.iter_child_nodes(node):
            visit(child, lazy)

    visit(tree, False)
    return found


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError"}
    for handler in node.handlers:
        caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(c, ast.Name) and c.id in names for c in caught):
            return True
    return False


def _names_a_module(node: ast.AST, prefix: str) -> bool:
    """A string such as "paragon_nb.widgets.connect_portal" (a dotted name, nothing else)."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return node.value.startswith(prefix) and all(p.isidentifier() for p in node.value.split("."))


def _is_get_logger(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One cycle (as its edges) for each strongly connected group of modules (Tarjan)."""
    graph: dict[str, list[Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, []).append(edge)
        graph.setdefault(edge.imported, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in graph[node]:
            if edge.imported not in index:
                strongconnect(edge.imported)
                low[node] = min(low[node], low[edge.imported])
            elif edge.imported in stack:
                low[node] = min(low[node], index[edge.imported])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return [_a_cycle_in(group, graph) for group in groups]


def _a_cycle_in(group: set[str], graph: dict[str, list[Edge]]) -> list[Edge]:
    start = min(group)
    paths: dict[str, list[Edge]] = {start: []}
    todo = [start]
    while todo:  # breadth first from start, inside the group, until we are back at start
        node = todo.pop(0)
        for edge in graph[node]:
            if edge.imported == start:
                return [*paths[node], edge]
            if edge.imported in group and edge.imported not in paths:
                paths[edge.imported] = [*paths[node], edge]
                todo.append(edge.imported)
    raise AssertionError(f"no cycle in {group}")  # pragma: no cover - Tarjan said there is


def is_skin(module: str) -> bool:
    return any(module == s or module.startswith(f"{s}.") for s in SKIN)


def skin_library_imports(root: Path, package: str) -> list[Edge]:
    """Imports of IPython/ipywidgets from core modules."""
    found = []
    for name, path in find_modules(root, package).items():
        if is_skin(name) or name == FRONT_DOOR:
            continue
        for target, line, _, _ in _imports(ast.parse(path.read_text()), name, False):
            if target.split(".")[0] in SKIN_LIBRARIES:
                found.append(Edge(name, target, f"{path.relative_to(root)}:{line}"))
    return found


ROOT = Path(paragon_nb.__file__).parent.parent
EDGES = [e for e in import_edges(ROOT, "paragon_nb") if (e.importer, e.imported) not in ALLOWED]


def test_no_import_cycle() -> None:
    found = cycles(EDGES)
    assert not found, "import cycles:\n" + "\n".join(
        "  " + " | ".join(map(str, cycle)) for cycle in found
    )


def test_core_never_imports_the_notebook_skin() -> None:
    core = [e for e in EDGES if e.importer != FRONT_DOOR and not is_skin(e.importer)]
    upward = [e for e in core if is_skin(e.imported)]
    upward += skin_library_imports(ROOT, "paragon_nb")
    assert not upward, "core -> skin imports:\n" + "\n".join(f"  {e}" for e in upward)


def test_marketo_never_imports_the_sandbox() -> None:
    bad = [
        e
        for e in EDGES
        if e.importer.startswith("paragon_nb.marketo")
        and e.imported.startswith("paragon_nb.sandbox")
    ]
    assert not bad, "\n".join(map(str, bad))


def test_allow_list_has_no_stale_entry() -> None:
    present = {(e.importer, e.imported) for e in import_edges(ROOT, "paragon_nb")}
    stale = [pair for pair in ALLOWED if pair not in present]
    assert not stale, f"fixed on main: delete these ALLOWED entries in {__file__}: {stale}"


def third_party_imports(root: Path, package: str) -> list[tuple[str, Found, str]]:
    """(distribution, import, where) for every import outside the stdlib and the package."""
    dists = importlib.metadata.packages_distributions()
    found = []
    for name, path in find_modules(root, package).items():
        for imp in _imports(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            top = imp.name.split(".")[0]
            if imp.exact or top == package or top in sys.stdlib_module_names or not top:
                continue
            dist = _normalise(dists.get(top, [top])[0])
            found.append((dist, imp, f"{path.relative_to(root)}:{imp.line}"))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalise(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def test_every_import_is_a_declared_dependency() -> None:
    """Module-level imports need a core dependency; lazy ones a core one or an extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = _requirement_names(project["dependencies"])
    extras = _requirement_names(
        [
            r
            for name, reqs in project["optional-dependencies"].items()
            if name != "dev"
            for r in reqs
        ]
    )
    missing = [
        f"{where}: {imp.name} ({dist})"
        for dist, imp, where in third_party_imports(ROOT, "paragon_nb")
        if dist not in core and (not imp.lazy or dist not in extras)
    ]
    assert not missing, "imports not in pyproject's dependencies (or an extra, if lazy):\n" + (
        "\n".join(missing)
    )


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A package whose only cycle runs through a lazy import and an importlib call."""
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from toy import c\n"
        "def f():\n    from toy.sub.b import g\n"
    )
    (pkg / "sub" / "b.py").write_text(
        "import importlib\nNAME = 'toy.a'\ndef g():\n    return importlib.import_module(NAME)\n"
    )
    (pkg / "c.py").write_text(
        "import logging, toy.a\nimport IPython\nlog = logging.getLogger('toy.sub')\nKEY = 'toy.x'\n"
    )
    return tmp_path


def test_the_checker_sees_lazy_importlib_and_relative_imports(toy: Path) -> None:
    edges = {(e.importer, e.imported) for e in import_edges(toy, "toy")}
    assert edges == {
        ("toy.a", "toy.sub.b"),
        ("toy.sub.b", "toy.a"),
        ("toy.c", "toy.a"),
        ("toy.sub", "toy.sub.b"),
    }  # no toy.a -> toy.c: that one is under TYPE_CHECKING
    [cycle] = cycles(import_edges(toy, "toy"))
    assert [(e.importer, e.imported) for e in cycle] == [
        ("toy.a", "toy.sub.b"),
        ("toy.sub.b", "toy.a"),
    ]
    assert [e.imported for e in skin_library_imports(toy, "toy")] == ["IPython"]
