"""Fault injection, so clients' retry paths can be exercised against the sandbox.

A :class:`Fault` matches requests by route and answers some of them with an error instead of
running them: by ``probability`` (seeded RNG, one of ``codes``) or by a scripted ``sequence``
consumed one matching request at a time (``None``/"ok" = let it through). Marketo codes
("606", "615", "604", "611", "713"...) are answered HTTP 200 with a ``success:false`` envelope;
HTTP statuses ("502", "503", "500") with an nginx-style HTML page. ``after=True`` runs the
request first and then replaces its answer (the write happened, the client saw a 604/502)::

    Fault(route="leads", probability=0.1, codes=("606", "615"))
    Fault(route="leads", sequence=("606", None, "502"))
    parse_fault("leads:seq=606,ok,502")          # the same, from a CLI string
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from paragon_nb.errors import ConfigurationError

__all__ = ["ALIASES", "FAULT_MESSAGES", "Fault", "FaultInjector", "is_http_status", "parse_fault"]

# short route names -> path globs
ALIASES: dict[str, tuple[str, ...]] = {
    "*": ("*",),
    "all": ("/rest/*", "/bulk/*"),
    "leads": ("/rest/v1/leads.json", "/rest/v1/leads/delete.json"),
    "lead": ("/rest/v1/lead/*",),
    "describe": ("/rest/v1/leads/describe*",),
    "lists": ("/rest/v1/lists.json", "/rest/v1/lists/*", "/rest/v1/list/*"),
    "members": ("/rest/v1/lists/*/leads*", "/rest/v1/list/*/leads*"),
    "assets": ("/rest/asset/*",),
    "static-lists": ("/rest/asset/v1/staticList*",),
    "bulk": ("/bulk/*",),
    "import": ("/bulk/v1/leads.json",),
    "stats": ("/rest/v1/stats/*",),
    "identity": ("/identity/*",),
}

FAULT_MESSAGES: dict[str, str] = {
    "604": "Request timed out",
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "611": "System error",
    "614": "Invalid Subscription",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
    "1014": "Failed to create Object",
    "1016": "Too many imports",
    "1019": "Import in progress",
    "1029": "Too many jobs in queue",
}

_PASS_WORDS = {"ok", "pass", "none", "-", ""}


def is_http_status(code: str) -> bool:
    """'502' is an HTTP status; '606' and '1016' are Marketo codes."""
    return code.isdigit() and 400 <= int(code) <= 599


@dataclass(frozen=True)
class Fault:
    """Answer matching requests with an error code (see module docstring)."""

    route: str = "*"
    probability: float = 0.0
    codes: tuple[str, ...] = ("606",)
    sequence: tuple[str | None, ...] | None = None
    after: bool = False

    def __post_init__(self) -> None:
        codes: Any = self.codes
        if isinstance(codes, str | int):  # Fault(codes="606") means one code, not "6","0","6"
            codes = str(codes).split(",")
        object.__setattr__(self, "codes", tuple(str(c) for c in codes))
        if isinstance(self.sequence, str):
            object.__setattr__(self, "sequence", tuple(self.sequence.split(",")))
        if self.sequence is not None:
            seq = tuple(None if c is None or str(c).lower() in _PASS_WORDS else str(c)
                        for c in self.sequence)  # fmt: skip
            object.__setattr__(self, "sequence", seq)
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigurationError(
                f"fault probability for route {self.route!r} must be within 0..1, "
                f"got {self.probability}"
            )
        if self.sequence is None and self.probability > 0 and not self.codes:
            raise ConfigurationError(f"fault for route {self.route!r} needs at least one code")

    def matches(self, path: str) -> bool:
        patterns = ALIASES.get(self.route)
        if patterns is None:
            if any(ch in self.route for ch in "*?["):
                patterns = (self.route,)
            else:
                return self.route in path
        return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def parse_fault(spec: str) -> Fault:
    """``ROUTE:p=PROB:CODE,CODE[:after]`` or ``ROUTE:seq=CODE,ok,CODE[:after]``.

    Raises ConfigurationError naming the bad part.
    """
    parts = spec.split(":")
    if len(parts) < 2:
        raise ConfigurationError(
            f"fault spec {spec!r} is not ROUTE:p=PROB:CODES or ROUTE:seq=CODE,ok,...; "
            "e.g. 'leads:p=0.1:606,615' or 'leads:seq=606,ok,502'"
        )
    route, rest = parts[0] or "*", parts[1:]
    after = False
    if rest and rest[-1].lower() == "after":
        after, rest = True, rest[:-1]
    head = rest[0] if rest else ""
    if head.startswith("seq="):
        items = tuple(head[4:].split(","))
        _check_codes([c for c in items if c.lower() not in _PASS_WORDS], spec)
        return Fault(route=route, sequence=items, after=after)
    if head.startswith("p="):
        try:
            probability = float(head[2:])
        except ValueError:
            raise ConfigurationError(
                f"fault spec {spec!r}: probability {head[2:]!r} is not a number"
            ) from None
        codes = tuple(c for c in (rest[1] if len(rest) > 1 else "606").split(",") if c)
        _check_codes(codes, spec)
        return Fault(route=route, probability=probability, codes=codes, after=after)
    raise ConfigurationError(
        f"fault spec {spec!r}: expected 'p=PROB' or 'seq=...' after the route, got {head!r}"
    )


def _check_codes(codes: Iterable[str], spec: str) -> None:
    bad = [c for c in codes if not c.isdigit()]
    if bad:
        raise ConfigurationError(f"fault spec {spec!r}: codes must be numbers, got {bad}")


class FaultInjector:
    """Decides, per request, whether a fault fires (thread-safe, seeded)."""

    def __init__(self, faults: Sequence[Fault | str] | Fault | str | None = None, *, seed: int = 0):
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._faults: list[Fault] = []
        self._positions: list[int] = []
        self.set(faults)

    def set(self, faults: Sequence[Fault | str] | Fault | str | None) -> None:
        if faults is None:
            items: list[Fault | str] = []
        elif isinstance(faults, Fault | str):
            items = [faults]
        else:
            items = list(faults)
        parsed = [f if isinstance(f, Fault) else parse_fault(f) for f in items]
        with self._lock:
            self._faults = parsed
            self._positions = [0] * len(parsed)

    @property
    def faults(self) -> list[Fault]:
        return list(self._faults)

    def pick(self, path: str) -> tuple[str, bool] | None:
        """``(code, after)`` for the first fault that fires on ``path``, else None."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if not fault.matches(path):
                    continue
                if fault.sequence is not None:
                    pos = self._positions[i]
                    if pos < len(fault.sequence):
                        self._positions[i] = pos + 1
                        code = fault.sequence[pos]
                        if code is not None:
                            return code, fault.after
                    continue
                if fault.probability > 0 and self._rng.random() < fault.probability:
                    return self._rng.choice(fault.codes), fault.after
        return None
