"""Where Request steps may send: the project's outbound allow-list.

By default only loopback is reachable (``localhost``, ``127.0.0.0/8``, ``::1``): a workflow
written in a notebook cannot reach the internet until the project owner says so with
``project.allow_outbound(["api.example.com", "*.internal.example.com"])``. Hosts are matched
by name as written in the URL (no DNS lookups); ``*.`` matches any subdomain; ``"*"`` allows
every host.

    policy = OutboundPolicy(["api.example.com"])
    policy.check("https://api.example.com/v1/x")      # ok
    policy.check("https://evil.example.org/")         # StepError naming the host
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

from paragon_nb.errors import StepError

__all__ = ["LOOPBACK_HOSTS", "OutboundPolicy"]

LOOPBACK_HOSTS = ("localhost",)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class OutboundPolicy:
    """The allow-list (plus loopback) and the httpx transport Request steps use
    (``transport``: tests pass an ``httpx.MockTransport``)."""

    def __init__(
        self, allow: Sequence[str] = (), *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.allow = tuple(a.strip().lower() for a in allow if a.strip())
        self.transport = transport

    def allows(self, host: str) -> bool:
        host = host.lower()
        if _is_loopback(host) or "*" in self.allow:
            return True
        for pattern in self.allow:
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
            if host == pattern:
                return True
        return False

    def check(self, url: str) -> str:
        """``url`` when it is http(s) and its host is allowed; StepError otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StepError(f"request url {url!r} is not an http(s) URL with a host")
        if not self.allows(parts.hostname):
            allowed = ", ".join(self.allow) or "none (loopback only)"
            raise StepError(
                f"request to {parts.hostname!r} is not allowed: the project's outbound "
                f"allow-list is {allowed}; add it with project.allow_outbound([...])"
            )
        return url

    def client(self, timeout: float) -> httpx.Client:
        return httpx.Client(transport=self.transport, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"OutboundPolicy(allow={list(self.allow)}, loopback=True)"
