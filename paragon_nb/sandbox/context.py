"""``Context``: what a sandbox route handler may touch — the state store, the clock, the
limits gate (for usage stats) and the import pace — instead of the whole ``SandboxApp``.

Handlers are ``handler(ctx, req, *path_groups)`` (see ``routes.py``); ``SandboxApp`` builds one
context and passes it to every call, so handlers can be tested with a bare state and clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from paragon_nb._clock import Clock
from paragon_nb.sandbox.limits import Gate
from paragon_nb.sandbox.state import SandboxState

__all__ = ["Context"]


@dataclass
class Context:
    state: SandboxState
    clock: Clock
    gate: Gate
    import_seconds: float = 1.0  # how long a bulk import job stays "Importing"
