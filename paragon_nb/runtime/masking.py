"""Kept for imports inside runtime/: the one redactor lives in ``paragon_nb._redact`` (value,
key and pattern rules, Bearer headers included)."""

from paragon_nb._redact import MASK, mask_secrets

__all__ = ["MASK", "mask_secrets"]
