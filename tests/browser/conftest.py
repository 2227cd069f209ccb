"""Fixtures for the real-browser tests: a JupyterLab factory and a headless Chromium page.

Locally these tests skip when Chromium or Playwright is missing; in CI (``CI=true``) they
fail instead, because CI installs both and the browser test must run there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import CHROMIUM_ARGS, JupyterLabServer, chromium_path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: .ci/run must install it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    _require(path is not None, "Chromium not found at $CHROMIUM or /usr/bin/chromium")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev extra installs it
        _require(False, "playwright is not installed")
        raise
    with sync_playwright() as api:
        yield api


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Callable[[Path], JupyterLabServer]]:
    """``lab(notebook)`` starts JupyterLab on a copy of ``notebook``; stopped at teardown."""
    servers: list[JupyterLabServer] = []

    def start(notebook: Path, **env: str) -> JupyterLabServer:
        server = JupyterLabServer(notebook, tmp_path / f"lab{len(servers)}", env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def page(chromium: str, playwright_api: Any, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh persistent Chromium profile; non-local requests are refused."""
    context = playwright_api.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1000},
    )
    # Offline machine: fail foreign URLs at once instead of waiting on DNS.
    context.route(
        lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")),
        lambda route: route.abort(),
    )
    pg = context.pages[0] if context.pages else context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where screenshots go: ``$SCREENSHOTS_DIR`` (relative to the repo, e.g. docs/img) or tmp.

    (Not a PARAGON_NB_* name: the autouse isolation fixture clears those.)
    """
    raw = os.environ.get("SCREENSHOTS_DIR")
    target = request.config.rootpath / raw if raw else tmp_path / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target
