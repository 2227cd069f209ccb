"""Thread-safe counters of what a client did: calls, per path, retries, codes, tokens.

::

    client.stats.calls            # REST/bulk calls sent (identity calls not included)
    client.stats.codes["606"]     # how often Marketo answered 606
    client.stats.as_dict()        # a plain snapshot for printing or JSON
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

__all__ = ["ClientStats", "path_key"]

_ID_SEGMENT = re.compile(r"/\d+(?=/|\.json|$)")


def path_key(path: str) -> str:
    """``/rest/v1/lists/123/leads.json`` -> ``/rest/v1/lists/{id}/leads.json`` (no query)."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0])


class ClientStats:
    """Counters updated by every request a :class:`MarketoClient` makes.

    ``per_path`` keys read ``"POST /rest/v1/lists/{id}/leads.json"`` (ids folded).
    ``codes`` counts response-level Marketo codes and HTTP error statuses seen (including
    ones later cured by a retry); ``auth_renewals`` counts token renewals after 600/601/602.
    Read attributes directly or take :meth:`as_dict` for a consistent snapshot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.per_path: Counter[str] = Counter()
        self.retries = 0
        self.codes: Counter[str] = Counter()
        self.tokens_fetched = 0
        self.auth_renewals = 0
        self.network_errors = 0

    def record_call(self, method: str, path: str) -> None:
        with self._lock:
            self.calls += 1
            self.per_path[f"{method} {path_key(path)}"] += 1

    def record_code(self, code: str) -> None:
        with self._lock:
            self.codes[code] += 1

    def _bump(self, counter: str) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def record_retry(self) -> None:
        self._bump("retries")

    def record_token(self) -> None:
        self._bump("tokens_fetched")

    def record_renewal(self) -> None:
        self._bump("auth_renewals")

    def record_network_error(self) -> None:
        self._bump("network_errors")

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": self.calls,
                "per_path": dict(self.per_path),
                "retries": self.retries,
                "codes": dict(self.codes),
                "tokens_fetched": self.tokens_fetched,
                "auth_renewals": self.auth_renewals,
                "network_errors": self.network_errors,
            }

    def __repr__(self) -> str:
        return (
            f"ClientStats(calls={self.calls}, retries={self.retries}, "
            f"codes={dict(self.codes)}, tokens_fetched={self.tokens_fetched})"
        )
