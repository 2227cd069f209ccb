"""The HTTP side of the SDK mirror (:class:`~paragon_nb.runtime.sdk.Paragon`): one httpx
client with the headers ``@useparagon/connect`` sends, the signed-in user's token and
project, the ``/projects/{id}/sdk`` paths on the API host or the proxy host, and Paragon's
refusals turned into paragon_nb errors (reference §1, §3).

    http = SdkHttp(base_url="https://api.useparagon.com")
    http.sign_in(project_id, token)
    http.request("GET", "/me")                # the user's state, or an error below

Errors: TokenInvalid (no user signed in; a 401/403), NotFoundError (404),
EventValidationError (422, ``.errors``), BackpressureError (429, ``.retry_after``),
ParagonRequestError (``.status_code``) on other refusals, ProxyRequestError (``.status_code``,
``.response``) for any refused proxy call, RuntimeStateError when the server cannot be
reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from paragon_nb.errors import (
    BackpressureError,
    EventValidationError,
    NotFoundError,
    ParagonRequestError,
    ProxyRequestError,
    RuntimeStateError,
    TokenInvalid,
)

__all__ = ["DEFAULT_BASE_URL", "LOCAL_BASE_URL", "PROXY_BASE_URL", "SDK_VERSION", "SdkHttp"]

DEFAULT_BASE_URL = "https://api.useparagon.com"
#: Paragon's cloud serves the proxy on its own host (reference §1); other servers (ours,
#: an on-premise install pointed at by ``base_url``) on the same one unless ``proxy_url``
PROXY_BASE_URL = "https://proxy.useparagon.com"
LOCAL_BASE_URL = "http://paragon-nb.local"
SDK_VERSION = "2.4.0"  # the header value the real SDK sends (reference §1)


class SdkHttp:
    """Requests to one Paragon server as the signed-in user. ``proxy_url`` defaults to
    Paragon's proxy host for its cloud and to ``base_url`` for any other server.
    ``on_auth_refused(proxy)`` runs on a 401/403 before its error is raised (the browser
    SDK logs the user out, or re-fetches them after a proxy call)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        proxy_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        on_auth_refused: Callable[[bool], None] | None = None,
    ) -> None:
        self.base_url = (base_url or LOCAL_BASE_URL).rstrip("/")
        default_proxy = PROXY_BASE_URL if self.base_url == DEFAULT_BASE_URL else self.base_url
        self.proxy_url = (proxy_url or default_proxy).rstrip("/")
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "X-Paragon-SDK-Version": SDK_VERSION},
        )
        self.project_id: str | None = None
        self.token: str | None = None
        self._on_auth_refused = on_auth_refused

    def sign_in(self, project_id: str, token: str) -> None:
        self.project_id, self.token = str(project_id), token

    def sign_out(self) -> None:
        self.token = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        proxy: bool = False,
    ) -> Any:
        """``method`` ``/projects/{id}/sdk{path}`` as the user: the JSON answer (text when
        it is not JSON, None when empty), or the error its status means (see the module)."""
        if self.token is None or self.project_id is None:
            raise TokenInvalid(
                "Connect SDK attempted to make an API request, but no user was authenticated; "
                "call paragon.authenticate(project_id, user_token) first"
            )
        base = self.proxy_url if proxy else self.base_url
        url = f"{base}/projects/{self.project_id}/sdk{path}"
        headers = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
        try:
            response = self._client.request(method, url, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise RuntimeStateError(
                f"could not reach Paragon at {self.base_url} ({type(exc).__name__}); "
                "is the server running?"
            ) from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        if response.is_success:
            return body
        if response.status_code in (401, 403) and self._on_auth_refused is not None:
            self._on_auth_refused(proxy)
        raise _refusal(response, body, proxy=proxy)

    def close(self) -> None:
        self._client.close()


def _refusal(response: httpx.Response, body: Any, *, proxy: bool) -> Exception:
    """The error a refused answer means."""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):  # validation errors: the SDK joins them
        message = "; ".join(str(m) for m in message)
    message = str(message or body or response.reason_phrase)
    status = response.status_code
    if proxy:
        return ProxyRequestError(
            f"Paragon proxy answered {status}: {message}", status_code=status, response=body
        )
    if status in (401, 403):
        return TokenInvalid(message)
    if status == 404:
        return NotFoundError(message)
    if status == 422 and isinstance(body, dict):
        return EventValidationError(message, errors=body.get("errors") or [])
    if status == 429:
        retry_after = float(response.headers.get("Retry-After") or 1)
        return BackpressureError(f"Paragon answered 429: {message}", retry_after=retry_after)
    return ParagonRequestError(f"Paragon answered {status}: {message}", status_code=status)
