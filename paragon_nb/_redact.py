"""The one redactor: secrets out of anything we show, log, raise or record. Three rules:

- value: every registered secret string (client secrets, issued access tokens, credentials);
- key: whatever sits under a secret-looking key in a mapping (``api_token``, ``password``...);
- pattern: secret-shaped text even when the value is unknown — ``client_secret=…`` /
  ``access_token=…`` parameters, ``Authorization: Bearer …`` headers and ``"access_token": "…"``
  JSON members.

Used by the Marketo client (errors, retries, the httpx log filter) and the runtime (run
inputs/outputs, errors, credential checks)::

    redactor = Redactor("s3cr3t!")
    redactor("GET /x?client_secret=abc  Bearer eyJ.x")    # 'GET /x?client_secret=***  Bearer ***'
    mask_secrets({"api_token": "t", "note": "key s3cr3t!"}, ["s3cr3t!"])
    # -> {"api_token": "***", "note": "key ***"}
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "Redactor", "install_log_filter", "is_secret_key", "mask_secrets"]

MASK = "***"
# Shorter "secrets" are not registered: masking every "abc" would garble text and protect
# nothing (no real client secret or token is that short).
MIN_SECRET_LENGTH = 4

_SECRET_KEY = re.compile(r"secret|password|passwd|token|authorization|api_?key", re.IGNORECASE)
_PARAMETER = re.compile(r"(?i)\b(client_secret|access_token|refresh_token)=[^&\s'\"]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._:~+/\-]+=*")
_JSON_MEMBER = re.compile(r'(?i)("(?:access_token|client_secret|refresh_token)"\s*:\s*")[^"]*')


def is_secret_key(key: str) -> bool:
    """True for mapping keys whose values are secrets (``token``, ``clientSecret``...)."""
    return bool(_SECRET_KEY.search(key))


class Redactor:
    """Applies the value, key and pattern rules. Thread-safe: secrets (such as access
    tokens) are registered with :meth:`add` as they are issued."""

    def __init__(self, *secrets: str) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        """``text`` with known secrets and secret-shaped parameters/headers masked."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        text = _PARAMETER.sub(lambda m: f"{m.group(1)}={MASK}", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
        return _JSON_MEMBER.sub(lambda m: f"{m.group(1)}{MASK}", text)

    def value(self, item: Any, key: str | None = None) -> Any:
        """A copy of ``item`` (nested mappings, lists, tuples, strings) with every rule applied;
        other values are returned as they are."""
        if key is not None and is_secret_key(key):
            return MASK
        if isinstance(item, str):
            return self(item)
        if isinstance(item, Mapping):
            return {k: self.value(v, str(k)) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [self.value(v) for v in item]
        return item

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"


def mask_secrets(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` redacted with ``secrets`` registered (see :class:`Redactor`)."""
    return Redactor(*secrets).value(value)


class _SecretLogFilter(logging.Filter):
    """Redacts records of loggers we do not own (httpx logs every request URL at INFO, and
    the identity URL carries ``client_secret``)."""

    _redactor = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logger's business, not ours
            return True
        masked = self._redactor(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


_installed = False
_install_lock = threading.Lock()


def install_log_filter() -> None:
    """Add the redacting filter to the ``httpx`` and ``httpcore`` loggers (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(_SecretLogFilter())
        _installed = True
