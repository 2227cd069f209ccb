"""Identity and token checks: client-credentials tokens (same token until expiry, falling
``expires_in``), OAuth-style 401s for bad credentials, and 600/601/602 for REST calls.

Tokens live in the state DB as a hash plus an encrypted copy (never in clear), so a
file-backed sandbox honours and re-issues them across restarts.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from paragon_nb.errors import ConfigurationError
from paragon_nb.sandbox.wire import ApiError, Request, Response, json_response
from paragon_nb.settings import SecretBox

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.sandbox.app import SandboxApp

__all__ = ["authenticate", "issue_token"]


def authenticate(app: SandboxApp, req: Request) -> str:
    auth = req.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    token = token or (req.get("access_token") or "")  # deprecated, still accepted
    if not token:
        raise ApiError("600", "Access token not specified")
    row = app.state.get_token(token)
    if row is None:
        raise ApiError("601", "Access token invalid")
    if row["expires_at"] <= app.clock.time():
        raise ApiError("602", "Access token expired")
    return app.scope


def issue_token(app: SandboxApp, req: Request) -> Response:
    """Client-credentials tokens: the same token until expiry, with falling expires_in."""
    no_store = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    if req.method not in ("GET", "POST"):
        return _oauth_error(405, "invalid_request", "Only GET and POST are supported")
    grant = req.get("grant_type")
    if not grant:
        return _oauth_error(400, "invalid_request", "Missing grant type")
    if grant != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
    cid, secret = req.get("client_id") or "", req.get("client_secret") or ""
    # (U) the exact error/description pairing of Marketo's 401 bodies is not recorded
    if not secrets.compare_digest(cid.encode(), app.client_id.encode()):
        return _oauth_error(401, "invalid_client", "No client with requested id")
    if not secrets.compare_digest(secret.encode(), app.client_secret.encode()):
        return _oauth_error(401, "unauthorized", "Bad client credentials")
    now = app.clock.time()
    with app.state.tx():
        box = app.token_box()  # None for an in-memory state: nothing outlives the process
        live = app.state.live_token(cid, now, unseal=_unsealer(box) if box else None)
        if live is None:
            token, expires_at = f"{uuid.uuid4()}:sb", now + app.token_ttl
            sealed = box.encrypt(token) if box else None
            app.state.save_token(token, cid, expires_at, sealed=sealed)
        else:
            token, expires_at = live
    expires_in = max(0, math.ceil(expires_at - now) - 1)  # a fresh token says 3599
    payload = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": app.scope,
    }
    return json_response(payload, extra=no_store)


def _unsealer(box: SecretBox) -> Callable[[str], str | None]:
    def unseal(sealed: str) -> str | None:
        try:
            return box.decrypt(sealed)
        except ConfigurationError:  # the home key changed: issue a fresh token instead
            return None

    return unseal


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(
        {"error": error, "error_description": description},
        status=status,
        extra=[("Cache-Control", "no-store"), ("Pragma", "no-cache")],
    )
