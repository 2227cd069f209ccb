"""The package's curated exports are complete, sorted and lazy."""

from __future__ import annotations

import subprocess
import sys

import paragon_nb.marketo as marketo


def test_all_sorted_and_resolvable() -> None:
    assert marketo.__all__ == sorted(marketo.__all__)
    for name in marketo.__all__:
        assert getattr(marketo, name) is not None


def test_importing_models_does_not_load_httpx() -> None:
    code = (
        "import sys, paragon_nb.marketo.models, paragon_nb.marketo.batching; "
        "print('httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
