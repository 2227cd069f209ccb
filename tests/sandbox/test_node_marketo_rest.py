"""Third-party compatibility: node-marketo-rest (npm, pinned in .ci/run) runs a
folder-then-list flow against the sandbox over a loopback socket, in a node subprocess.

CI installs the package into the git-ignored ``.cache/node`` folder; locally run the same
step (``npm install --prefix .cache/node --no-save --ignore-scripts node-marketo-rest@0.7.8``)
or the test is skipped with that hint. Under ``CI`` a missing install fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.sandbox import MarketoSandbox

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / ".cache" / "node" / "node_modules"
SCRIPT = Path(__file__).with_name("node_folder_flow.js")
INSTALL = "npm install --prefix .cache/node --no-save --ignore-scripts node-marketo-rest@0.7.8"


def _node() -> str:
    node = shutil.which("node")
    installed = (NODE_MODULES / "node-marketo-rest" / "package.json").is_file()
    if node and installed:
        return node
    why = "node is not on PATH" if not node else f"node-marketo-rest is not installed ({INSTALL})"
    if os.environ.get("CI"):
        pytest.fail(f"{why}; .ci/run installs it before the suite")
    pytest.skip(why)


def test_folder_then_list_flow(clock: FakeClock) -> None:
    node = _node()
    with MarketoSandbox(clock=clock) as sandbox:
        done = subprocess.run(
            [node, str(SCRIPT), sandbox.endpoint, sandbox.identity, sandbox.client_id,
             sandbox.client_secret],
            env={"PATH": os.environ.get("PATH", ""), "NODE_PATH": str(NODE_MODULES),
                 "HOME": os.environ["HOME"]},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        # browse: every folder, paged 3 at a time through the library's offset paging
        assert out["pages"] >= 3 and "/Lead Database/Default/Group Lists" in out["folderPaths"]
        assert len(out["folderPaths"]) == len(set(out["folderPaths"]))
        assert out["listFolder"] == "/Lead Database/Default/Group Lists"
        sub, lst = out["sub"], out["list"]
        assert sub["path"] == "/Lead Database/Default/Group Lists/Node imports"
        assert sub["description"] == "made by node-marketo-rest"
        assert lst["folder"] == {"id": sub["id"], "type": "Folder"}
        assert out["contents"] == [{"id": lst["id"], "type": "StaticList"}]
        assert [a["status"] for a in out["added"]] == ["added"]
        assert [m["email"] for m in out["members"]] == ["node@example.com"]
        assert sandbox.app.list_members(lst["id"]) == [out["added"][0]["id"]]
