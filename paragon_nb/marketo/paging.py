"""Paging cursors: small objects that read the cursor from a response and write the next
request's parameters (reference §4.2, §5.2, §9.4).

::

    pager = TokenPager()
    while not pager.done:
        envelope = get(path, params={**query, **pager.params()})
        yield from pager.advance(envelope)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OffsetPager", "TokenPager"]


class TokenPager:
    """Lead-DB paging: ``nextPageToken`` present means "ask again with it". Marketo omits it
    on the last page; an empty page also ends the loop (so a server that repeats its token
    on an empty page cannot make us spin)."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.done = False
        self.pages = 0

    def params(self) -> dict[str, str]:
        return {"nextPageToken": self.token} if self.token else {}

    def advance(self, envelope: Mapping[str, Any]) -> list[Any]:
        """Consume one page; returns its rows and moves the cursor."""
        rows = list(envelope.get("result") or [])
        self.pages += 1
        token = envelope.get("nextPageToken")
        more = envelope.get("moreResult")
        if not token or not rows or more is False or token == self.token:
            self.done = True
        else:
            self.token = str(token)
        return rows


class OffsetPager:
    """Asset-API paging: ``offset``/``maxReturn``; stop on a short page or when ``result`` is
    missing (the "No assets found" warning)."""

    def __init__(self, max_return: int = 200) -> None:
        if not 1 <= max_return <= 200:
            raise ValueError(f"maxReturn must be between 1 and 200, got {max_return}")
        self.max_return = max_return
        self.offset = 0
        self.done = False

    def params(self) -> dict[str, int]:
        return {"offset": self.offset, "maxReturn": self.max_return}

    def advance(self, envelope: Mapping[str, Any]) -> list[Any]:
        rows = list(envelope.get("result") or [])
        self.offset += len(rows)
        if len(rows) < self.max_return:
            self.done = True
        return rows
