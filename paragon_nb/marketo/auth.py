"""Marketo access tokens: fetch, cache, renew early, and renew-and-resend on 600/601/602.

Marketo uses 2-legged OAuth (client credentials) against ``<origin>/identity/oauth/token``
and reports bad or expired tokens *inside HTTP 200 bodies* (601/602), so the flow is an
``httpx.Auth`` that looks at each response and resends once (reference §1, §8)::

    tokens = TokenSource(identity_url, "id", secret, http=httpx.Client(), clock=clock)
    client.get(url, auth=MarketoAuth(tokens))

Token requests are serialised by a lock: when many threads need a token at once, exactly
one fetches it and the others reuse it. The token goes in the ``Authorization`` header
only (the ``access_token`` parameter is deprecated).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from paragon_nb._clock import Clock, system_clock
from paragon_nb._redact import Redactor
from paragon_nb.errors import MarketoAuthError, MarketoError, TransientMarketoError

__all__ = ["AUTH_CODES", "MarketoAuth", "Token", "TokenCache", "TokenSource", "auth_error_code"]

AUTH_CODES = frozenset({"600", "601", "602"})


@dataclass(frozen=True)
class Token:
    """An access token and the monotonic instant it expires at. Its repr hides the value."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at:.1f})"


class TokenCache:
    """Tokens keyed by client id. One per client by default; pass the same cache to several
    clients of one instance to share a token (Marketo hands out one per client id anyway)."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, client_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(client_id, threading.Lock())

    def get(self, client_id: str) -> Token | None:
        return self._tokens.get(client_id)

    def put(self, client_id: str, token: Token) -> None:
        self._tokens[client_id] = token

    def drop(self, client_id: str) -> None:
        self._tokens.pop(client_id, None)


def auth_error_code(response: httpx.Response) -> str | None:
    """600/601/602 from a Marketo envelope (HTTP 200, ``success:false``), else None."""
    if response.status_code != 200:
        return None
    body = response.content
    if b"success" not in body or b"false" not in body:
        return None  # cheap pre-check: most responses are successes
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("success") is not False:
        return None
    for err in envelope.get("errors") or ():
        code = str(err.get("code")) if isinstance(err, dict) else None
        if code in AUTH_CODES:
            return code
    return None


class TokenSource:
    """Gets tokens from the identity service, caches them, renews when < ``renew_margin``
    seconds are left.

    Failure modes: HTTP 401/400 -> ``MarketoAuthError`` naming the client id (check id and
    secret); identity unreachable -> ``TransientMarketoError``; an answer without
    ``access_token`` -> ``MarketoAuthError`` (usually a wrong identity URL).
    """

    def __init__(
        self,
        identity: str,
        client_id: str,
        client_secret: SecretStr | str,
        *,
        http: httpx.Client,
        clock: Clock | None = None,
        cache: TokenCache | None = None,
        renew_margin: float = 60.0,
        masker: Redactor | None = None,
        on_fetch: Callable[[], None] | None = None,
    ) -> None:
        self.identity = identity.rstrip("/")
        self.client_id = client_id
        self._secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self._http = http
        self._clock = clock or system_clock
        self._cache = cache or TokenCache()
        self.renew_margin = renew_margin
        self._masker = masker or Redactor(self._secret.get_secret_value())
        self._masker.add(self._secret.get_secret_value())
        self._on_fetch = on_fetch

    def token(self, *, stale: str | None = None) -> str:
        """A valid token. ``stale`` is a token the server just refused: if the cache still
        holds it, a new one is fetched (unless another thread already did)."""
        with self._cache.lock_for(self.client_id):
            cached = self._cache.get(self.client_id)
            if cached is not None and cached.value != stale and self._fresh(cached):
                return cached.value
            token = self._fetch()
            self._cache.put(self.client_id, token)
            return token.value

    def _fresh(self, token: Token) -> bool:
        return token.expires_at - self._clock.monotonic() > self.renew_margin

    def _fetch(self) -> Token:
        url = f"{self.identity}/oauth/token"
        params = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        # A token at the very edge of expiry comes back with expires_in 0 (seen by
        # rudderstack): wait a moment and ask again. # (U) 1 s, 3 tries is our guess.
        for _ in range(3):
            try:
                response = self._http.get(url, params=params, auth=None)
            except httpx.TransportError as exc:
                raise TransientMarketoError(
                    self._masker(
                        f"cannot reach Marketo identity at {url} for client id "
                        f"{self.client_id!r}: {type(exc).__name__}: {exc}; check MARKETO_IDENTITY"
                    )
                ) from None
            if self._on_fetch is not None:
                self._on_fetch()
            value, expires_in = self._parse(response, url)
            self._masker.add(value)
            if expires_in > 0:
                return Token(value, self._clock.monotonic() + expires_in)
            self._clock.sleep(1.0)
        return Token(value, self._clock.monotonic())

    def _parse(self, response: httpx.Response, url: str) -> tuple[str, int]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in (400, 401, 403):
            detail = ""
            if isinstance(body, dict):
                detail = f": {body.get('error', '')} {body.get('error_description', '')}".rstrip()
            raise MarketoAuthError(
                self._masker(
                    f"Marketo identity refused client id {self.client_id!r} "
                    f"(HTTP {response.status_code}{detail}); check the client id and secret "
                    f"(MARKETO_CLIENT_ID / MARKETO_CLIENT_SECRET) of the LaunchPoint service"
                ),
                code="401" if response.status_code == 401 else str(response.status_code),
                http_status=response.status_code,
            )
        if response.status_code >= 500:
            raise TransientMarketoError(
                f"Marketo identity answered HTTP {response.status_code} for client id "
                f"{self.client_id!r}; retry later",
                code=str(response.status_code),
                http_status=response.status_code,
            )
        if not isinstance(body, dict) or "access_token" not in body:
            raise MarketoAuthError(
                f"Marketo identity at {url} gave no access_token for client id "
                f"{self.client_id!r} (HTTP {response.status_code}); check MARKETO_IDENTITY "
                f"(it must end in /identity, without /rest in front)",
                http_status=response.status_code,
            )
        return str(body["access_token"]), int(body.get("expires_in") or 0)


class MarketoAuth(httpx.Auth):
    """``httpx.Auth`` flow: Bearer header; on 600/601/602 in the body, renew once and resend.

    A second auth failure is returned as is; the caller turns it into ``MarketoAuthError``.
    """

    requires_response_body = True

    def __init__(self, source: TokenSource, *, on_renewal: Callable[[], None] | None = None):
        self.source = source
        self._on_renewal = on_renewal

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.source.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        response.read()  # overriding sync_auth_flow bypasses requires_response_body
        if auth_error_code(response) is None:
            return
        if self._on_renewal is not None:
            self._on_renewal()
        token = self.source.token(stale=token)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    async def async_auth_flow(self, request: httpx.Request):  # type: ignore[override]
        raise MarketoError("MarketoClient is synchronous; use it from threads, not asyncio")
        yield request  # pragma: no cover
