"""MkDocs hooks: the tutorials come from notebooks/, outside docs/.

``TUTORIALS`` says which files are rendered. Each tutorial's one source is its jupytext
percent script ``notebooks/0N_*.py``; the site renders the ``.ipynb`` generated from it
(``./dev notebooks``; a test fails on drift) because that one carries the stored outputs.
``"notebooks/0*.py"`` renders the scripts instead (mkdocs-jupyter reads them with jupytext,
without outputs); nothing is executed either way.
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
