"""Start ``paragon-nb`` in a subprocess and read the JSON line a long-running subcommand
(``serve``, ``postgres``) prints once it is ready."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest


def start_cli(*args: str, timeout: float = 60) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``python -m paragon_nb.cli ARGS`` with this process's environment; the parsed first
    stdout line. A start that prints nothing within ``timeout`` s is killed and fails."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paragon_nb.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
        pytest.fail(f"paragon-nb {args[0]} did not start: {err[-2000:]}")
    return proc, json.loads(line)
