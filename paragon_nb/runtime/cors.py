"""CORS for the REST server: which browser origins may call it, and the headers that say so.

An app's frontend (``@useparagon/connect`` in a page on the app's own origin) calls the
runtime cross-origin with an ``Authorization`` header, so every call is preceded by a
preflight (``OPTIONS``). :class:`CorsPolicy` answers it and adds
``Access-Control-Allow-Origin`` to the real answer.

The default, :data:`LOOPBACK`, allows any page served from this machine (``localhost``,
``127.0.0.1``, ``[::1]``, any port, http or https): a dev frontend works out of the box,
while a website on the internet that a developer happens to open cannot read the runtime's
answers. Give explicit origins (``cors_origins=["https://app.example.com"]``,
``--cors-origin``) for anything else; ``"*"`` allows every origin. Any of these is safe with
respect to forged requests: the runtime uses no cookies (credentials are never allowed),
and every route needs a user token signed with the project's private key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["ALLOWED_HEADERS", "LOOPBACK", "MAX_AGE", "CorsPolicy"]

#: the default: pages served from this machine, any port
LOOPBACK = "loopback"
_LOOPBACK = re.compile(r"^https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$")
#: request headers a page may send (the SDK sends Authorization, Content-Type, Accept and
#: X-Paragon-SDK-Version, plus X-Paragon-Credential / -Configuration-Id for a selection);
#: any other X-Paragon-* header is allowed too.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key")
_PARAGON_HEADER = re.compile(r"^x-paragon-[a-z0-9-]+$")
#: how long a browser may cache a preflight (seconds; Chromium caps it at 7200)
MAX_AGE = 600
#: answer headers a page may read (Retry-After of a 429)
EXPOSED_HEADERS = "Retry-After"


class CorsPolicy:
    """Allowed origins: :data:`LOOPBACK`, ``"*"`` or exact origins (``scheme://host[:port]``)."""

    def __init__(self, origins: str | Sequence[str] | None = LOOPBACK) -> None:
        items = [origins] if isinstance(origins, str) else list(origins or ())
        self.any = "*" in items
        self.loopback = LOOPBACK in items
        self.exact = frozenset(o.rstrip("/") for o in items if o not in ("*", LOOPBACK))
        for origin in self.exact:
            if not re.match(r"^https?://[^/\s]+$", origin):
                raise ValueError(
                    f"CORS origin {origin!r} is not scheme://host[:port] (no path), e.g. "
                    f"'http://localhost:3000'; or {LOOPBACK!r}, or '*' for any origin"
                )

    def allows(self, origin: str) -> bool:
        return self.any or origin in self.exact or bool(self.loopback and _LOOPBACK.match(origin))

    def answer_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for any answer to a request carrying ``Origin`` (none if not allowed)."""
        if not origin or not self.allows(origin):
            return [("Vary", "Origin")] if origin else []
        return [
            ("Access-Control-Allow-Origin", "*" if self.any else origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
            ("Vary", "Origin"),
        ]

    def preflight_headers(self, methods: Iterable[str], requested: str) -> list[tuple[str, str]]:
        """A preflight's own headers (beside :meth:`answer_headers`, for an allowed origin):
        the route's methods and those of the requested headers that are allowed."""
        wanted = [h.strip() for h in requested.split(",") if h.strip()]
        allowed = [h for h in wanted if _header_allowed(h)] or list(ALLOWED_HEADERS)
        return [
            ("Access-Control-Allow-Methods", ", ".join(sorted({*methods, "OPTIONS"}))),
            ("Access-Control-Allow-Headers", ", ".join(allowed)),
            ("Access-Control-Max-Age", str(MAX_AGE)),
        ]

    def __repr__(self) -> str:
        shown = ["*"] if self.any else [*([LOOPBACK] if self.loopback else []), *sorted(self.exact)]
        return f"CorsPolicy({shown})"


def _header_allowed(name: str) -> bool:
    lower = name.lower()
    return lower in {h.lower() for h in ALLOWED_HEADERS} or bool(_PARAGON_HEADER.match(lower))
