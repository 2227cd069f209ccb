"""MkDocs hooks: the tutorials come from notebooks/, outside docs/.

``TUTORIALS`` says which files are the tutorials. When the notebooks' text sources
(jupytext percent ``.py``) become the one source, point it at them; mkdocs-jupyter renders
either without executing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

TUTORIALS = "notebooks/*.ipynb"


def _tutorials(config: Any) -> list[str]:
    root = Path(config.config_file_path).parent
    return [p.relative_to(root).as_posix() for p in sorted(root.glob(TUTORIALS))]


def on_config(config: Any) -> Any:
    for section in config.nav:
        if isinstance(section, dict) and "Tutorials" in section:
            section["Tutorials"] = _tutorials(config)  # titles: each notebook's first heading
    return config


@event_priority(100)  # before mkdocs-jupyter turns matching files into notebook pages
def on_files(files: Files, config: Any) -> Files:
    root = str(Path(config.config_file_path).parent)
    for path in _tutorials(config):
        files.append(File(path, root, config.site_dir, config.use_directory_urls))
    return files
