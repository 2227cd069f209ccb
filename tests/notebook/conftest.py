"""Fixtures of the notebook skin's tests: a headless IPython shell, and the real runtime
``Project`` on a temporary folder with the in-process sandbox and a ``FakeClock`` (the skins
are tested against what they really talk to; there is no stand-in Project)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell
from runtime_rest.e2e import in_process_factory  # tests/ is on sys.path (pytest's rootdir)
from traitlets.config import Config

from paragon_nb._clock import FakeClock
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import SandboxApp

from .test_magics_runtime import SPEC

#: where the connected user's Marketo lives; any host reaches the in-process sandbox except
#: ``UNREACHABLE_HOST``, which refuses the connection as a closed port would.
ENDPOINT = "http://sandbox.local/rest"
UNREACHABLE_HOST = "unreachable.invalid"


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


@pytest.fixture
def app() -> SandboxApp:
    """The local Marketo the project's users connect to (in process, no socket)."""
    return SandboxApp()


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def project(tmp_path: Path, app: SandboxApp, clock: FakeClock) -> Iterator[Project]:
    """A project with App Event "Lead Created" and the seed workflow deployed, whose
    Marketo clients reach ``app`` (``UNREACHABLE_HOST`` refuses connections)."""
    sandbox, refused = app.transport(), httpx.MockTransport(_refuse)

    def transport(request: httpx.Request) -> httpx.Response:
        target = refused if request.url.host == UNREACHABLE_HOST else sandbox
        return target.handle_request(request)

    factory = in_process_factory(httpx.MockTransport(transport))
    proj = Project.create(
        "Portal test", path=tmp_path / "proj", clock=clock, client_factory=factory
    )
    proj.define_app_event("Lead Created", example={"email": "ada@example.com", "first_name": "Ada"})
    proj.add_workflow(SPEC)
    proj.deploy("Sync new leads to Marketo")
    try:
        yield proj
    finally:
        proj.close()
