"""Marketo REST client: auth, limits, retries, batching, resources. Never imports the sandbox.

Names are loaded lazily so that importing a leaf module (``paragon_nb.marketo.models``,
``paragon_nb.marketo.batching``) stays cheap::

    from paragon_nb.marketo import Limits, MarketoClient, RetryPolicy
    client = MarketoClient.from_env(limits=Limits(max_concurrency=5))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paragon_nb._imports import lazy_exports

_EXPORTS: dict[str, str] = {
    "ClientStats": "paragon_nb.marketo.stats",
    "Limits": "paragon_nb.marketo.limits",
    "MarketoClient": "paragon_nb.marketo.client",
    "RetryPolicy": "paragon_nb.marketo.retry",
    "TokenCache": "paragon_nb.marketo.auth",
    "split_batches": "paragon_nb.marketo.batching",
}

__all__ = [
    "ClientStats",
    "Limits",
    "MarketoClient",
    "RetryPolicy",
    "TokenCache",
    "split_batches",
]

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.marketo.auth import TokenCache
    from paragon_nb.marketo.batching import split_batches
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.marketo.limits import Limits
    from paragon_nb.marketo.retry import RetryPolicy
    from paragon_nb.marketo.stats import ClientStats


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
