"""A throwaway PostgreSQL server in a temporary folder, for tests and for trying the
PostgreSQL store without setting a server up.

It runs Debian's ``initdb`` and ``pg_ctl`` (package ``postgresql``; found with
``pg_config --bindir``, on PATH or under ``/usr/lib/postgresql/*/bin``), listens on
127.0.0.1 at a free port (and on a unix socket in its folder), trusts local connections,
turns durability off (``fsync=off``: it is thrown away) and deletes everything on exit.
PostgreSQL refuses to run as root: started as root, the server runs as the ``postgres``
system user (Debian's package makes it), else as ``nobody``.

    with TemporaryPostgres() as pg:
        url = pg.create_database("demo")        # postgresql://paragon@127.0.0.1:PORT/demo
        project = Project.create("Demo", path=url)   # needs PARAGON_NB_SECRET_KEY
        pg.create_schema("other")               # ...?options=-csearch_path%3Dother

From a shell: ``python -m paragon_nb.testing.postgres`` prints a URL and keeps the server up
until Ctrl-C. Failure modes: ConfigurationError (no PostgreSQL binaries; says what to
install), RuntimeError (the server did not start; carries its log).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from paragon_nb.errors import ConfigurationError

__all__ = ["TemporaryPostgres", "find_bindir"]

SUPERUSER = "paragon"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (ConfigurationError if there is none)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    candidates.extend(versions)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise ConfigurationError(
        "PostgreSQL's initdb/pg_ctl not found (looked at pg_config --bindir, PATH and "
        "/usr/lib/postgresql/*/bin); install Debian's server: apt-get install postgresql"
    )


def _version(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TemporaryPostgres:
    """A PostgreSQL server of its own in a temporary folder (see the module docstring).
    :meth:`start` / :meth:`stop`, or use it as a context manager."""

    def __init__(self, *, bindir: str | Path | None = None) -> None:
        self._bindir = Path(bindir) if bindir is not None else None
        self.folder: Path | None = None
        self.port = 0
        self._run_as: pwd.struct_passwd | None = None

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> TemporaryPostgres:
        bindir = self._bindir or find_bindir()
        root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="paragon-nb-pg-", dir=_tmp_for(root)))
        if root:
            self._run_as = _unprivileged_user()
            os.chown(self.folder, self._run_as.pw_uid, self._run_as.pw_gid)
        data = self.folder / "data"
        try:
            self._run(
                [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
            )  # fmt: skip
            for _attempt in range(3):  # a free port can be taken before the server binds it
                self.port = _free_port()
                options = (
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=400 -c shared_buffers=32MB"
                )
                started = self._run(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                     "-w", "-t", "60", "-o", options, "start"],
                    check=False,
                )  # fmt: skip
                if started.returncode == 0:
                    return self
            raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete its folder."""
        if self.folder is None:
            return
        folder, self.folder = self.folder, None
        data = folder / "data"
        if (data / "postmaster.pid").exists():
            bindir = self._bindir or find_bindir()
            self._run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                       "stop"], check=False)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # use --------------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this server."""
        if self.folder is None:
            raise RuntimeError("the temporary PostgreSQL is not running; call start() first")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL. ``name``: lower-case letters, digits, _."""
        self._admin(f"CREATE DATABASE {_checked(name)}")
        return self.url(name)

    def create_schema(self, name: str, *, database: str = "postgres") -> str:
        """A new empty schema in ``database``; returns a URL whose connections use it (its
        ``search_path``): a project there is as separate as in a database of its own, and
        much cheaper to make (tests make one per test)."""
        self._admin(f"CREATE SCHEMA {_checked(name)}", database=database)
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def drop_schema(self, name: str, *, database: str = "postgres") -> None:
        self._admin(f"DROP SCHEMA IF EXISTS {_checked(name)} CASCADE", database=database)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing the connections still open to it."""
        self._admin(f"DROP DATABASE IF EXISTS {_checked(name)} WITH (FORCE)")

    def log(self) -> str:
        path = None if self.folder is None else self.folder / "log"
        return path.read_text(errors="replace") if path and path.exists() else ""

    def __repr__(self) -> str:
        state = f"port={self.port}" if self.folder is not None else "stopped"
        return f"TemporaryPostgres({state})"

    # plumbing ---------------------------------------------------------------------------------
    def _admin(self, sql: str, *, database: str = "postgres") -> None:
        import psycopg  # the postgres extra; the store needs it anyway

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _run(self, cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        if self._run_as is not None:  # PostgreSQL refuses root: drop to the system user
            kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid,
                      "extra_groups": []}  # fmt: skip
            env["HOME"] = str(self.folder)
        done = subprocess.run(
            cmd, capture_output=True, text=True, cwd=self.folder, env=env,
            stdin=subprocess.DEVNULL, **kwargs,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{Path(cmd[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done


def _tmp_for(root: bool) -> str | None:
    """The temporary folder's parent: the usual one, unless (as root) the server's user
    could not reach into it (a private $TMPDIR); then /tmp."""
    usual = Path(tempfile.gettempdir()).resolve()
    if not root or all(p.stat().st_mode & 0o001 for p in (usual, *usual.parents)):
        return None
    return "/tmp"


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ConfigurationError(
        "PostgreSQL cannot run as root and there is no 'postgres' or 'nobody' user to run it "
        "as; create one (useradd --system postgres) or run as an ordinary user"
    )


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
    return name


def main() -> int:  # pragma: no cover - interactive
    with TemporaryPostgres() as pg:
        url = pg.create_database("paragon")
        print(url, flush=True)
        print(
            "a throwaway PostgreSQL; set PARAGON_NB_SECRET_KEY and use this URL as a project "
            "path. Ctrl-C stops it and deletes everything.",
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
