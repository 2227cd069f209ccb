from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


class ReRaisingShell(InteractiveShell):
    """A headless shell whose run_cell re-raises what the cell raised (jupysql's habit)."""

    def run_cell(self, raw_cell: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        result = super().run_cell(raw_cell, *args, **kwargs)
        result.raise_error()
        return result


@pytest.fixture
def ip() -> Iterator[ReRaisingShell]:
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = ReRaisingShell(config=cfg)
    shell.run_line_magic("load_ext", "paragon_nb")
    try:
        yield shell
    finally:
        magics = shell.magics_manager.registry["ParagonMagics"]
        if magics._project is not None:
            magics._project.close()
        if magics._sandbox is not None:
            magics._sandbox.stop()
        shell.cleanup()
        ReRaisingShell.clear_instance()
