"""Masking of secrets in anything the runtime records or shows (run inputs and outputs,
errors, credential errors): values under secret-looking keys and every known secret string.

    mask_secrets({"api_token": "t", "note": "key s3cr3t!"}, ["s3cr3t!"])
    # -> {"api_token": "***", "note": "key ***"}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "mask_secrets"]

_SECRET_KEY = re.compile(r"secret|password|passwd|token|authorization|api_?key", re.IGNORECASE)
MASK = "***"


def mask_secrets(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret-looking keys and every known secret string masked."""
    known = [s for s in secrets if s and len(s) >= 4]

    def scrub(item: Any, key: str | None = None) -> Any:
        if key is not None and _SECRET_KEY.search(key):
            return MASK
        if isinstance(item, str):
            for secret in known:
                item = item.replace(secret, MASK)
            return item
        if isinstance(item, Mapping):
            return {k: scrub(v, str(k)) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [scrub(v) for v in item]
        return item

    return scrub(value)
