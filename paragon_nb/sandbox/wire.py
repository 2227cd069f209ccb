"""HTTP plumbing of the sandbox: the parsed request, responses and Marketo's envelopes (§2).

Handlers raise :class:`ApiError` (answered HTTP 200 with ``success:false``) or
:class:`HttpError` (a bare HTTP status such as 413/414/502 with an HTML body, as nginx would)
and return plain result lists; ``app.py`` wraps them in the lead-DB or asset-API envelope.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "MAX_RETURN",
    "ApiError",
    "HttpError",
    "Request",
    "Response",
    "asset_envelope",
    "asset_params",
    "asset_time",
    "json_param",
    "offset_window",
    "failure_envelope",
    "html_error",
    "json_response",
    "lead_envelope",
    "new_request_id",
]

JSON_TYPE = "application/json;charset=UTF-8"


class ApiError(Exception):
    """A response-level Marketo error: HTTP 200, ``success:false``, ``errors:[{code,message}]``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message


class HttpError(Exception):
    """An HTTP-level failure (413, 414, 502...) answered with an HTML body."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    code: str | None = None  # Marketo error code when success:false, for stats/accounting

    @property
    def status_line(self) -> str:
        return f"{self.status} {_REASONS.get(self.status, 'Unknown')}"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def json_response(
    payload: Any, *, status: int = 200, code: str | None = None, extra: Iterable = ()
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))), *extra]
    return Response(status, headers, body, code)


def html_error(status: int, reason: str | None = None) -> Response:
    """What an nginx gateway answers: an HTML page, no JSON envelope."""
    reason = reason or _REASONS.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
    return Response(status, headers, body, str(status))


def new_request_id() -> str:
    """``<hex>#<hex>`` like ``e42b#14272d07d78`` (random + milliseconds)."""
    return f"{secrets.token_hex(2)}#{int(time.time() * 1000):x}"


def lead_envelope(result: list[Any], **extra: Any) -> dict[str, Any]:
    """Lead-DB success: only requestId, result, success (+ nextPageToken/moreResult)."""
    out: dict[str, Any] = {"requestId": new_request_id(), "result": result, "success": True}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


NO_ASSETS = "No assets found for the given search criteria."


def asset_envelope(result: list[Any] | None) -> dict[str, Any]:
    """Asset-API success; an empty match has no ``result`` key and the "No assets" warning."""
    out: dict[str, Any] = {"success": True, "errors": [], "requestId": new_request_id()}
    if result:
        out["warnings"] = []
        out["result"] = result
    else:
        out["warnings"] = [NO_ASSETS]
    return out


def asset_time(ts: float) -> str:
    """Asset-API timestamp form ``2021-11-23T22:57:24Z+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ+0000")


MAX_RETURN = 200  # asset-API page cap (reference §3)


def offset_window(req: Request) -> tuple[int, int]:
    """Asset-API paging ``(offset, maxReturn)``: maxReturn 1..200, default 20."""
    try:
        offset = int(req.get("offset") or 0)
        max_return = int(req.get("maxReturn") or 20)
    except ValueError:
        raise ApiError("1001", "offset and maxReturn must be integers") from None
    if not 1 <= max_return <= MAX_RETURN or offset < 0:
        raise ApiError("1003", f"maxReturn must be between 1 and {MAX_RETURN}")  # (U) code
    return offset, max_return


def json_param(raw: Any, name: str) -> Any:
    """An asset-API parameter sent as embedded JSON (``folder``, ``parent``, ``root``): the
    text is parsed; an already-decoded value (a JSON body) is kept. 1001 when unparsable.

    A flat object in relaxed syntax is accepted too: marketorestpython's ``create_folder``
    sends ``parent={'id': 12, 'type': Folder}`` (single quotes, a bare word), which it could
    only do if Marketo's parser is lenient. (U) how lenient Marketo really is."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        relaxed = _relaxed_object(raw)
        if relaxed is None:
            raise ApiError("1001", f"Invalid value '{raw}'. Required of type '{name}'") from None
        return relaxed


def _relaxed_object(text: str) -> dict[str, Any] | None:
    """``{'id': 12, 'type': Folder}`` -> ``{"id": 12, "type": "Folder"}``; None otherwise."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    out: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in body[1:-1].split(","))):
        key, sep, value = pair.partition(":")
        key, value = key.strip().strip("'\""), value.strip().strip("'\"")
        if not sep or not key.isidentifier():
            return None
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def failure_envelope(code: str, message: str, *, asset: bool = False) -> dict[str, Any]:
    errors = [{"code": str(code), "message": message}]
    if asset:
        return {"success": False, "errors": errors, "requestId": new_request_id(), "warnings": []}
    return {"requestId": new_request_id(), "success": False, "errors": errors}


@dataclass
class Request:
    """A parsed request. ``params`` merges the query string and a form body (in that order)."""

    method: str  # as sent
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    form: list[tuple[str, str]] = field(default_factory=list)
    _json: Any = None
    _json_parsed: bool = False

    @classmethod
    def build(
        cls, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes
    ) -> Request:
        query = parse_qsl(query_string, keep_blank_values=True)
        req = cls(method.upper(), path, query, headers, body)
        if req.content_type == "application/x-www-form-urlencoded" and body:
            req.form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return req

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def params(self) -> list[tuple[str, str]]:
        return self.query + self.form

    @property
    def effective_method(self) -> str:
        """POST with ``_method=GET|DELETE`` (query or form) acts as that verb (§2.3)."""
        if self.method == "POST":
            override = self.get("_method")
            if override and override.upper() in {"GET", "DELETE"}:
                return override.upper()
        return self.method

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def get_list(self, name: str) -> list[str]:
        """A multi-value parameter: repeated keys AND comma lists (``id=1,2&id=3``)."""
        out: list[str] = []
        for key, value in self.params:
            if key == name:
                out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    def json(self) -> Any:
        """The JSON body (None when there is none). Raises ApiError 609 on invalid JSON."""
        if not self._json_parsed:
            self._json_parsed = True
            if self.body.strip() and self.content_type != "application/x-www-form-urlencoded":
                try:
                    self._json = json.loads(self.body)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    raise ApiError("609", "Invalid JSON") from None
        return self._json

    def input_ids(self, *, max_items: int = 300) -> list[Any]:
        """Ids from a JSON ``{"input":[{"id":..}]}`` body, else from ``id`` params."""
        body = self.json() if self.content_type != "multipart/form-data" else None
        if isinstance(body, dict) and body.get("input") is not None:
            items = body["input"]
            if not isinstance(items, list):
                raise ApiError("1001", "Invalid value for 'input', required type 'array'")
            ids = [item.get("id") if isinstance(item, dict) else item for item in items]
        else:
            ids = self.get_list("id")
        if not ids:
            raise ApiError("1003", "No lead ids specified")
        if len(ids) > max_items:
            raise ApiError("1003", f"Maximum of {max_items} ids per request, got {len(ids)}")
        return ids


def asset_params(req: Request) -> dict[str, Any]:
    """Form (or query) params of an asset-API write; a JSON object body is accepted too (U)."""
    params: dict[str, Any] = dict(req.params)
    if req.content_type == "application/json":
        body = req.json()
        if isinstance(body, dict):
            params.update({k: v for k, v in body.items() if v is not None})
    return params
