"""Start ``paragon-nb`` in a subprocess and read the JSON line a long-running subcommand
(``serve``, ``postgres``) prints once it is ready."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import IO, Any

import pytest


def start_cli(
    *args: str, timeout: float = 60, stderr: IO[str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``python -m paragon_nb.cli ARGS`` with this process's environment; the parsed first
    stdout line. A start that prints nothing within ``timeout`` s is killed and fails.
    ``stderr``: a file for the process's stderr (a long-running process that logs much would
    block on a pipe nobody reads), else a pipe."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paragon_nb.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr,
        text=True,
        env=dict(os.environ),
    )
    watchdog = threading.Timer(timeout, proc.kill)  # a hung start must not hang the suite
    watchdog.start()
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        watchdog.cancel()
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        if stderr is not None:
            stderr.seek(0)
            err = stderr.read()
        pytest.fail(f"paragon-nb {args[0]} did not start: {(err or '')[-2000:]}")
    return proc, json.loads(line)
