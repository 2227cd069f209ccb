"""Smoke test of an installed paragon_nb, as a user who ran ``pip install paragon_nb`` would
use it: a local Marketo on a socket, a DataFrame sync, and an App Event through the REST
endpoint that runs the seed workflow into the user's list. Exits non-zero on any failure.

``.ci/run`` runs it in a fresh venv holding the built wheel and its core dependencies only
(run from outside the source tree, so the installed package is the one imported); the test
suite runs it too (tests/test_package.py), so it stays true.

    python tests/smoke_wheel.py
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import pkgutil
import sys
import tempfile
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="paragon-smoke-") as tmp:
        os.environ["PARAGON_NB_HOME"] = str(Path(tmp) / "home")
        os.chdir(tmp)
        run(Path(tmp))
    print("smoke: ok")
    return 0


def run(tmp: Path) -> None:
    import paragon_nb

    version = importlib.metadata.version("paragon_nb")
    assert version == paragon_nb.__version__, (version, paragon_nb.__version__)
    print(f"smoke: paragon_nb {version} from {Path(paragon_nb.__file__).parent}")
    dist = importlib.metadata.distribution("paragon_nb")
    assert dist.metadata["License-Expression"] == "MIT", dist.metadata["License-Expression"]
    if '"editable": true' not in (dist.read_text("direct_url.json") or ""):  # a real wheel
        shipped = {f.name for f in dist.files or []}
        assert {"py.typed", "LICENSE"} <= shipped, "py.typed or LICENSE missing from the wheel"

    # Every module imports with the core dependencies alone (extras are imported lazily).
    modules = [m.name for m in pkgutil.walk_packages(paragon_nb.__path__, "paragon_nb.")]
    for name in modules:
        importlib.import_module(name)
    print(f"smoke: all {len(modules)} modules import")

    import pandas as pd

    from paragon_nb import MarketoSandbox, Paragon, Project, sign_user_token
    from paragon_nb.runtime.examples import (
        LEAD_CREATED_EXAMPLE,
        SEED_WORKFLOW_NAME,
        SEED_WORKFLOW_YAML,
    )

    with MarketoSandbox() as sandbox, sandbox.client() as client:
        frame = pd.DataFrame(
            {"email": ["ada@example.com", "not-an-email"], "firstName": ["Ada", "Broken"]}
        )
        result = frame.marketo.sync(client, list="Smoke", create_list=True)
        assert list(result.rows["status"]) == ["created", "invalid"], result.rows
        counts = {k: int(v) for k, v in result.rows["status"].value_counts().items()}
        print(f"smoke: DataFrame sync -> {counts}")

        newsletter = client.create_list("Newsletter")
        project = Project.create("Smoke", path=tmp / "project")
        try:
            key = project.generate_signing_key()
            project.define_app_event("Lead Created", example=LEAD_CREATED_EXAMPLE)
            project.add_workflow(SEED_WORKFLOW_YAML)
            project.deploy(SEED_WORKFLOW_NAME)
            project.connect_user(
                "user-1",
                "marketo",
                endpoint=sandbox.endpoint,
                identity=sandbox.identity,
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
            )
            project.set_workflow_settings(
                "user-1", SEED_WORKFLOW_NAME, {"marketo_list": newsletter.id}
            )
            project.enable_workflow("user-1", SEED_WORKFLOW_NAME)
            token = sign_user_token(key.private_pem, "user-1")
            payload = {**LEAD_CREATED_EXAMPLE, "email": "bo@example.com"}
            with project.serve() as handle, Paragon(base_url=handle.url) as paragon:
                paragon.authenticate(project.id, token)
                paragon.event("Lead Created", payload)
            assert project.wait_idle(timeout=60), "the run did not finish"
            runs = project.runs()
            assert list(runs["status"]) == ["succeeded"], runs.to_dict("records")
        finally:
            project.close()
        members = client.list_members(newsletter.id, fields=["email"])
        assert [m["email"] for m in members] == ["bo@example.com"], members
        print("smoke: App Event over REST -> run succeeded, lead in the user's list")


if __name__ == "__main__":
    sys.exit(main())
