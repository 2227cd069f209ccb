"""Home folder, environment variables and the at-rest encryption key. No IPython here.

State lives under the home folder: ``$PARAGON_NB_HOME``, else ``./.paragon_nb`` in the
working directory. Files there:

- ``sandbox.sqlite3``   the local Marketo's state (CLI default)
- ``sandbox.json``      how to reach the last started sandbox (endpoint + credentials)
- ``journal.sqlite3``   the DataFrame sync journal
- ``secret.key``        the Fernet key (0600) unless ``$PARAGON_NB_SECRET_KEY`` is set

A project (runtime) lives in its own folder with its own database and key file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from paragon_nb.errors import ConfigurationError

__all__ = [
    "ENV_HOME",
    "ENV_SECRET_KEY",
    "SecretBox",
    "home",
    "key_from_env",
    "load_or_create_key",
]

ENV_HOME = "PARAGON_NB_HOME"
ENV_SECRET_KEY = "PARAGON_NB_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


def home(*, create: bool = True) -> Path:
    """The home folder (``$PARAGON_NB_HOME`` or ``./.paragon_nb``), created on demand."""
    raw = os.environ.get(ENV_HOME)
    path = Path(raw).expanduser() if raw else Path.cwd() / ".paragon_nb"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the paragon_nb home folder {str(path)!r}: {exc.strerror}; "
                f"set {ENV_HOME} to a writable folder"
            ) from None
    return path


def load_or_create_key(folder: Path) -> bytes:
    """The Fernet key: ``$PARAGON_NB_SECRET_KEY``, else ``folder/secret.key`` (made 0600)."""
    key = key_from_env()
    if key is not None:
        return key
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE_NAME
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = _create_key_file(path)
    _check_key(key, str(path))
    return key


def key_from_env() -> bytes | None:
    """The Fernet key in ``$PARAGON_NB_SECRET_KEY`` (checked), or None when it is not set."""
    env = os.environ.get(ENV_SECRET_KEY, "").strip()
    if not env:
        return None
    key = env.encode()
    _check_key(key, f"${ENV_SECRET_KEY}")
    return key


def _create_key_file(path: Path) -> bytes:
    """Publish a fresh key at ``path`` unless a racing process did first; the winner's key.

    The key is written to a private temp file (0600) and hard-linked into place, so the
    file appears complete or not at all: a loser never reads a created-but-unwritten file.
    """
    key = Fernet.generate_key()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE_NAME}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes().strip()
        except OSError:  # no hard links on this filesystem (FAT, some mounts): O_EXCL instead
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_bytes().strip()
            with os.fdopen(fd, "wb") as fh:
                fh.write(key)
        return key
    finally:
        os.unlink(tmp)


def _check_key(key: bytes, where: str) -> None:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"the encryption key in {where} is not a valid Fernet key; "
            "generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`"
        ) from None


class SecretBox:
    """Encrypts and decrypts secrets at rest (Fernet). Its repr never shows the key.

    >>> box = SecretBox(Fernet.generate_key())
    >>> box.decrypt(box.encrypt("s3cret"))
    's3cret'
    """

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_folder(cls, folder: Path) -> SecretBox:
        return cls(load_or_create_key(folder))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                "a stored secret cannot be decrypted with the current key; was "
                f"{ENV_SECRET_KEY} or the secret.key file changed?"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(key=***)"
