"""Masking of secrets (client secret, access tokens) in any text we show or raise.

::

    masker = Masker()
    masker.add("s3cr3t")
    masker("client_secret=s3cr3t&x=1")   # 'client_secret=***&x=1'
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["MASK", "Masker", "install_log_filter"]

MASK = "***"

# Parameter and header forms that carry secrets even when we do not know the value.
_PATTERNS = (
    re.compile(r"(?i)(client_secret|access_token)=[^&\s'\"]+"),
    re.compile(r"(?i)(bearer)\s+[A-Za-z0-9._:\-]+"),
    re.compile(r'(?i)("access_token"\s*:\s*")[^"]*'),
)


class Masker:
    """Replaces every registered secret, and anything shaped like a secret parameter or a
    bearer header, with ``***``. Thread-safe; tokens are registered as they are issued."""

    def __init__(self, *secrets: str) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}={MASK}", text)
        text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
        return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)

    def __repr__(self) -> str:
        return f"Masker({len(self._secrets)} secrets)"


class _SecretLogFilter(logging.Filter):
    """Masks secret-shaped parameters in records of loggers we do not own (httpx logs
    every request URL at INFO, and the identity URL carries ``client_secret``)."""

    _masker = Masker()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logger's business, not ours
            return True
        masked = self._masker(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


_installed = False
_install_lock = threading.Lock()


def install_log_filter() -> None:
    """Add the masking filter to the ``httpx`` and ``httpcore`` loggers (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(_SecretLogFilter())
        _installed = True
