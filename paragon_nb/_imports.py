"""Deferred imports: lazy package exports, and work that waits until a module is imported.

Both keep ``import paragon_nb`` cheap (no httpx, pandas, IPython) while the public names and
``df.marketo`` still appear whenever they are used::

    __getattr__, __dir__ = lazy_exports(__name__, {"MarketoClient": "paragon_nb.marketo.client"})
    when_imported("pandas", "paragon_nb.sync.accessor")   # now if pandas is loaded, else on import
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - importlib.abc alone loads importlib.resources, pathlib...
    from importlib.machinery import ModuleSpec

__all__ = ["lazy_exports", "when_imported"]


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Iterable[str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for a package whose names load on first use.

    ``exports`` maps a public name to the module defining it; the value is imported on first
    access and cached in the package's namespace. An unknown name is the usual AttributeError.
    ``dir()`` lists ``public`` (default: the exported names), sorted.
    """
    namespace = sys.modules[package].__dict__
    listed = sorted(exports if public is None else public)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(listed)

    return __getattr__, __dir__


def when_imported(target: str, module: str) -> None:
    """Import ``module`` as soon as ``target`` is imported (at once if it already is).

    Used to register the ``df.marketo`` accessor whatever the order of ``import pandas`` and
    ``import paragon_nb`` without loading pandas ourselves. Registering the same pair twice
    does nothing more.
    """
    if target in sys.modules:
        importlib.import_module(module)
        return
    # Called while a module is being imported; the import system's locks serialise those.
    finder = next((f for f in sys.meta_path if isinstance(f, _PostImportFinder)), None)
    if finder is None:
        finder = _PostImportFinder()
        sys.meta_path.insert(0, finder)
    waiting = finder.hooks.setdefault(target, [])
    if module not in waiting:
        waiting.append(module)


class _PostImportFinder:
    """A ``sys.meta_path`` finder (duck-typed: ``importlib.abc`` costs more than all of this).

    It finds nothing itself: for a watched name it asks the other finders, then wraps the
    loader so that the waiting modules are imported right after the target module ran.

    Python has no post-import hook (PEP 369 was withdrawn); wrapt.importer does the same
    with a loader proxy. Ours restores the real loader on the module and removes itself
    from ``sys.meta_path`` once nothing is left to watch.
    """

    def __init__(self) -> None:
        self.hooks: dict[str, list[str]] = {}
        self._finding: set[str] = set()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.hooks or fullname in self._finding:
            return None
        import importlib.util

        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders (we answer None)
        finally:
            self._finding.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _ThenImport(spec.loader, self, fullname)
        return spec

    def fire(self, fullname: str) -> None:
        waiting = self.hooks.pop(fullname, [])
        if not self.hooks and self in sys.meta_path:
            sys.meta_path.remove(self)
        for module in waiting:
            importlib.import_module(module)


class _ThenImport:
    """The real loader, then the waiting imports."""

    def __init__(self, loader: Any, finder: _PostImportFinder, fullname: str) -> None:
        self._loader, self._finder, self._fullname = loader, finder, fullname

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader (importlib.resources and reload() look at it).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._finder.fire(self._fullname)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)
