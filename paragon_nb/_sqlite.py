"""Small helpers for the SQLite files under the home folder (stdlib sqlite3, WAL).

``connect(path)`` opens a connection tuned for several threads and processes sharing one
file: WAL journal, a busy timeout instead of "database is locked", foreign keys on and
``sqlite3.Row`` rows. ``":memory:"`` gives a private in-memory database.
Use one connection per thread (``ThreadLocalConnections``) or guard a shared one with a lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ThreadLocalConnections", "connect", "transaction"]


def connect(path: str | Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """Open ``path`` (created with its folder) with WAL, busy timeout and Row rows.

    The file is private to its owner (0600): state files hold lead data and token hashes.
    SQLite creates the ``-wal``/``-shm`` files with the database file's mode, so they are
    0600 too; a file left 0644 by an older version is tightened on open."""
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        _make_private(Path(target))
    conn = sqlite3.connect(target, timeout=timeout, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    if target != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def _make_private(path: Path) -> None:
    try:  # create it 0600 before SQLite does (SQLite would use 0644)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except (FileNotFoundError, PermissionError):  # absent, or not ours to change
            pass


@contextmanager
def transaction(
    conn: sqlite3.Connection, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class _Holder:
    """Owns one thread's connection; closes it when the thread (and its locals) go away."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:  # interpreter shutdown or already closed
            pass


class ThreadLocalConnections:
    """One connection per thread to the same file, closed when its thread ends.

    A server that runs every request on a fresh thread must not hold each connection
    strongly in a registry (that leaks file descriptors per request): only the thread-local
    holds it, and a WeakSet lets :meth:`close_all` reach the live ones.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Holder] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        holder = getattr(self._local, "holder", None)
        if holder is None:
            holder = _Holder(connect(self.path))
            self._local.holder = holder
            with self._lock:
                self._holders.add(holder)
        return holder.conn

    def close_all(self) -> None:
        with self._lock:
            holders = list(self._holders)
        for holder in holders:
            holder.conn.close()
        self._local = threading.local()
