"""The HTTP values the REST server and its route handlers share: one module both import.

:class:`Request` is what a handler sees (the verified user, path parameters, headers, the
raw body); :class:`HTTPError` is how a handler refuses (``{"message": ..., **extra}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HTTPError", "Handler", "RawResponse", "Request"]


class HTTPError(Exception):
    """Raised by handlers to answer ``status`` with ``{"message": message, **extra}``
    (and the response ``headers`` given, e.g. ``Retry-After``)."""

    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


@dataclass
class Request:
    """What a handler sees: the verified user, path parameters and the raw body bytes."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    sub: str = ""
    claims: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON (HTTPError 400 naming the problem if it is not)."""
        if not self.body.strip():
            raise HTTPError(400, "request body is empty; send a JSON object")
        try:
            return json.loads(self.body)
        except UnicodeDecodeError:
            raise HTTPError(400, "malformed JSON: the body is not UTF-8") from None
        except RecursionError:
            raise HTTPError(400, "malformed JSON: nested too deeply") from None
        except ValueError as exc:
            raise HTTPError(400, f"malformed JSON: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise HTTPError(400, f"the body must be a JSON object, got {type(value).__name__}")
        return value


@dataclass(frozen=True)
class RawResponse:
    """A handler's answer sent as these bytes instead of JSON (the proxy's raw mode)."""

    body: bytes
    content_type: str = "application/octet-stream"


Handler = Callable[[Any, Request], tuple[int, Any]]
