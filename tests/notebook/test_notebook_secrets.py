"""No tutorial shows or stores a secret: each notebook is run as a reader would run it, then a
probe cell asks the kernel for every secret it holds (the sandbox's client secret, the user
token, the private signing key) and none of them may appear in any output or in the saved
widget state. The committed notebooks are checked for the same shapes (a private key, a full
JWT) in ``test_notebooks_clean.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")

PROBE = """
import json as _json, os as _os
_g = globals()
_secrets = [
    getattr(_g.get("sandbox"), "client_secret", None),
    _g.get("token"),
    getattr(_g.get("key"), "private_pem", None),
    _os.environ.get("USER_TOKEN"),
    _os.environ.get("MARKETO_CLIENT_SECRET"),
]
print("PROBE" + _json.dumps([s for s in _secrets if isinstance(s, str) and s]))
"""


def _run(path: Path, tmp_path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False)
    client.execute(cwd=str(tmp_path))
    probe = nb.cells.pop()
    text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    secrets = json.loads(text.split("PROBE", 1)[1])
    return nb, secrets


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["01_marketo_integration_tutorial", "02_bulk_sync_from_dataframe", "03_prototyping_workflows"],
)
def test_running_a_tutorial_shows_and_stores_no_secret(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTORIAL_SANDBOX_SECRET", "canary-" + "5ecret" * 4)
    nb, secrets = _run(NOTEBOOKS / f"{name}.ipynb", tmp_path)
    assert secrets, "the probe found no secret to look for"
    if name.startswith("01"):
        assert "canary-" + "5ecret" * 4 in secrets
    saved = nbformat.writes(nb)  # what Lab would save: outputs and widget state
    for secret in secrets:
        assert secret not in saved, f"{name} shows or stores a secret ({secret[:6]}…)"
    assert "PRIVATE KEY" not in saved
    assert not JWT.search(saved)
