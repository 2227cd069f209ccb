"""Where a project lives: a folder (SQLite, the embedded default) or a PostgreSQL database.

``Project.create(name, path=...)`` and ``Project.open(path)`` take either; a string starting
``postgresql://`` or ``postgres://`` is always a database, never a folder name (any other
``scheme://`` string is refused rather than made into a folder). A folder holds
``project.sqlite3`` and its secret key (``secret.key``, or ``$PARAGON_NB_SECRET_KEY``); a
PostgreSQL project is the whole database of the URL and its key must come from
``$PARAGON_NB_SECRET_KEY`` (every process that opens it needs the same key).

    where = Location.of("postgresql://app@db.internal/acme")
    store = where.create_store("Acme", now=time.time())    # or where.open_store()
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from paragon_nb.errors import ConfigurationError, NotFoundError, RuntimeStateError
from paragon_nb.runtime.db import Database, PostgresDatabase, SQLiteDatabase, is_url, redact_url
from paragon_nb.runtime.store import DB_FILE_NAME, ProjectStore
from paragon_nb.settings import ENV_SECRET_KEY, SecretBox, key_from_env

__all__ = ["DB_FILE_NAME", "Location"]

_OTHER_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: encrypted into meta at create, decrypted at open: a wrong key fails at once, clearly
KEY_CHECK = "paragon_nb key check"
_KEY_HOWTO = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


@dataclass(frozen=True)
class Location:
    """A project's folder (``folder``) or PostgreSQL URL (``url``); exactly one is set."""

    folder: Path | None = None
    url: str | None = None

    @classmethod
    def of(cls, path: str | Path) -> Location:
        if is_url(path):
            return cls(url=str(path))
        if isinstance(path, str) and _OTHER_URL.match(path):
            scheme = path.split("://", 1)[0]
            raise ConfigurationError(
                f"a project path is a folder or a postgresql:// URL, not a {scheme}:// URL "
                f"({redact_url(path)!r})"
            )
        return cls(folder=Path(path))

    @property
    def shown(self) -> str:
        """For messages and reprs (a URL's password masked)."""
        return str(self.folder) if self.url is None else redact_url(self.url)

    @property
    def path(self) -> Path | str:
        """What ``Project.path`` answers: the folder, or the URL with its password masked."""
        return self.folder if self.folder is not None else redact_url(str(self.url))

    def database(self, *, pool_size: int | None = None) -> Database:
        """The database here; ``pool_size``: PostgreSQL connections this process may hold."""
        if self.url is not None:
            if pool_size is None:
                return PostgresDatabase(self.url)
            return PostgresDatabase(self.url, max_size=pool_size)
        assert self.folder is not None
        return SQLiteDatabase(self.folder / DB_FILE_NAME)

    def has_project(self, db: Database) -> bool:
        """A project was created here: the folder has its file, the database its meta id."""
        if self.folder is not None:
            return (self.folder / DB_FILE_NAME).exists()
        if not db.has_table("meta"):
            return False
        return db.one("SELECT value FROM meta WHERE key = 'id'") is not None

    def secret_box(self) -> SecretBox:
        """The key secrets are encrypted with (ConfigurationError naming the variable when a
        PostgreSQL project has none)."""
        if self.folder is not None:
            return SecretBox.for_folder(self.folder)
        key = key_from_env()
        if key is None:
            raise ConfigurationError(
                f"a PostgreSQL project keeps its secrets encrypted with the key in "
                f"${ENV_SECRET_KEY}, which is not set; make one with {_KEY_HOWTO} and set it "
                "(the same value) in every process that opens this project"
            )
        return SecretBox(key)

    def create_store(self, name: str, *, now: float, pool_size: int | None = None) -> ProjectStore:
        """The store of a new project here (RuntimeStateError if there is one already)."""
        box = self.secret_box()
        db = self.database(pool_size=pool_size)  # SQLite: no connection until the first statement
        try:
            if self.has_project(db):
                raise RuntimeStateError(
                    f"a project already exists in {self.shown!r}; use Project.open({self.shown!r})"
                )
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
            store = ProjectStore(db)
            store.init(
                project_id=str(uuid.uuid4()), name=name, now=now, key_check=box.encrypt(KEY_CHECK)
            )
        except BaseException:
            db.close()
            raise
        return store

    def open_store(self, *, pool_size: int | None = None) -> ProjectStore:
        """The store of the project here, its schema brought up to date (NotFoundError if
        there is none; SchemaTooNew if a newer paragon_nb wrote it)."""
        box = self.secret_box()
        db = self.database(pool_size=pool_size)
        try:
            if not self.has_project(db):
                raise NotFoundError(
                    f"no project in {self.shown!r}; create one with "
                    f"Project.create(name, path={self.shown!r})"
                )
            store = ProjectStore(db)
            check = store.get_meta("key_check")
            if check is not None and self.url is not None:
                # every process of a PostgreSQL project brings the key in an environment
                # variable: a different one fails here, not at each user's first run
                box.decrypt(check)
        except BaseException:
            db.close()
            raise
        return store
