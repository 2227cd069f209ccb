"""Start JupyterLab on a copy of a notebook and drive it with headless Chromium.

Recipe and selectors from ../shared/reference/notebook-testing.md (measured on this machine):
temporary Jupyter folders per server (settings with the news toast off and kernel
autostart on, workspaces, runtime, config), ``--allow-root``, a fixed token, 127.0.0.1,
``subprocess.Popen`` so SIGTERM reaches the server itself; Debian's ``/usr/bin/chromium``
through Playwright's ``executable_path`` (never ``playwright install``).

Readiness is read from the server's log line rather than polled, so nothing here sleeps.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "JupyterLabServer", "chromium_path"]

# Flags from the reference; --disable-dev-shm-usage because Debian's wrapper may not add it
# and CI containers often have a 64 MB /dev/shm.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive (``$CHROMIUM`` or Debian's ``/usr/bin/chromium``)."""
    candidate = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return candidate if Path(candidate).exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_settings(settings_dir: Path) -> None:
    """User settings that keep Lab quiet and predictable in a fresh profile."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "autoStartDefaultKernel": True,
        },
    }
    for rel, content in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@dataclass
class JupyterLabServer:
    """A JupyterLab server on a temporary folder holding a copy of ``notebook``.

    ``start()`` raises RuntimeError with the server log when it does not come up within
    ``timeout`` seconds; ``stop()`` sends SIGTERM (kernels shut down cleanly) and kills
    after a grace period.
    """

    notebook: Path
    workdir: Path
    timeout: float = 90.0
    env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    log_lines: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.workdir / "root"

    @property
    def notebook_copy(self) -> Path:
        return self.root / self.notebook.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self) -> str:
        return f"{self.url}/lab/tree/{self.notebook.name}?token={self.token}"

    def start(self) -> JupyterLabServer:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.notebook, self.notebook_copy)  # Lab autosaves: never serve the original
        dirs = {
            "JUPYTERLAB_SETTINGS_DIR": self.workdir / "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": self.workdir / "lab-workspaces",
            "JUPYTER_RUNTIME_DIR": self.workdir / "jupyter-runtime",
            "JUPYTER_CONFIG_DIR": self.workdir / "jupyter-config",
        }
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        _write_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
        env = {**os.environ, **{k: str(v) for k, v in dirs.items()}, **self.env}
        self.port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.port_retries=0",
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()
        marker = f"127.0.0.1:{self.port}/"

        def drain() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log_lines.append(line.rstrip())
                if marker in line and "/lab" in line:  # the URL printed once it listens
                    ready.set()
            ready.set()  # the server exited: stop waiting

        threading.Thread(target=drain, name="jupyterlab-log", daemon=True).start()
        ready.wait(self.timeout)
        if self.proc.poll() is not None or not ready.is_set() or not self._accepts():
            log = "\n".join(self.log_lines[-40:])
            self.stop()
            raise RuntimeError(f"JupyterLab did not start on port {self.port}:\n{log}")
        return self

    def _accepts(self, attempts: int = 100) -> bool:
        """TCP connects until the port accepts: Jupyter prints its URL just before it binds.

        Waiting for another process has no clock to fake; each retry waits 0.1 s on an Event
        that the process's exit would end early (bounded: ``attempts`` tries).
        """
        exited = threading.Event()
        for _ in range(attempts):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                    return True
            except OSError:
                if self.proc is None or self.proc.poll() is not None:
                    return False
                exited.wait(0.1)
        return False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> JupyterLabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
