"""Who executes a run: engines claim runs as ``host:pid:engine-id`` and a claim held by an
engine that can no longer run it is stale, so another engine (maybe another process, e.g. the
notebook next to ``paragon-nb serve``) may take the run over without running it twice.

    owner = make_owner(engine_id)          # register_engine(engine_id) first
    owner_is_stale(owner)                  # False while that engine is alive
"""

from __future__ import annotations

import os
import socket
import threading

__all__ = [
    "LIVE_ENGINES",
    "is_zombie",
    "make_owner",
    "owner_is_stale",
    "register_engine",
    "unregister_engine",
]


def make_owner(engine_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{engine_id}"


def register_engine(engine_id: str) -> None:
    with LIVE_LOCK:
        LIVE_ENGINES.add(engine_id)


def unregister_engine(engine_id: str) -> None:
    with LIVE_LOCK:
        LIVE_ENGINES.discard(engine_id)


LIVE_ENGINES: set[str] = set()
LIVE_LOCK = threading.Lock()


def owner_is_stale(owner: str) -> bool:
    """True when the engine that claimed a run can no longer be running it.

    Same process: the engine was closed. Same host, other process: that process is gone
    (a kill -9 leaves its runs claimable at once). # (U) another host sharing the folder is
    trusted to be alive: projects are local folders.
    """
    host, _, rest = owner.partition(":")
    pid_text, _, engine_id = rest.partition(":")
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        with LIVE_LOCK:
            return engine_id not in LIVE_ENGINES
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers kill(pid, 0) (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
