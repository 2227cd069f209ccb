"""The one place a Marketo request is sent: limits, auth, retries, error translation.

Every REST/bulk call goes through :meth:`Http.call`, which

1. takes a slot from the :class:`~paragon_nb.marketo.limits.Limiter` (rate window,
   concurrency, daily budget),
2. sends through httpx with :class:`~paragon_nb.marketo.auth.MarketoAuth` (token,
   renew-and-resend on 600/601/602),
3. turns HTTP errors, httpx exceptions and ``success:false`` envelopes into the
   ``paragon_nb.errors`` tree (httpx never leaks), with secrets masked,
4. retries per :mod:`paragon_nb.marketo.retry`, sleeping on the injected clock.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from paragon_nb._clock import Clock
from paragon_nb._redact import Redactor
from paragon_nb.errors import (
    MarketoError,
    MarketoRequestError,
    QuotaExceeded,
    TransientMarketoError,
    marketo_error_for,
)
from paragon_nb.marketo.auth import MarketoAuth
from paragon_nb.marketo.batching import MAX_URL_BYTES, dumps
from paragon_nb.marketo.limits import Limiter, next_quota_reset
from paragon_nb.marketo.retry import RetryPolicy, should_retry
from paragon_nb.marketo.stats import ClientStats

__all__ = ["Http"]

log = logging.getLogger("paragon_nb.marketo")

# What to tell the user for codes whose Marketo message is terse.
_HINTS = {
    "600": "no access token reached Marketo; check that MARKETO_IDENTITY has no /rest prefix",
    "601": "the access token was refused even after a renewal; check the API user's role",
    "602": "the access token expired and renewal did not help; check the server clock",
    "603": "access denied; check the API role's permissions and the IP allowlist",
    "605": "wrong HTTP method for this path",
    "606": "rate limit hit; lower Limits.rate_calls if other integrations share the instance",
    "609": "Marketo could not parse the JSON body",
    "610": "no such path; check MARKETO_ENDPOINT ends in /rest",
    "612": "wrong Content-Type for this call",
    "615": "too many calls in flight; lower Limits.max_concurrency",
}


class Http:
    """Sends Marketo requests for one client. Thread-safe."""

    def __init__(
        self,
        *,
        base: str,
        http: httpx.Client,
        auth: MarketoAuth,
        limiter: Limiter,
        retry: RetryPolicy,
        clock: Clock,
        stats: ClientStats,
        masker: Redactor,
    ) -> None:
        self.base = base.rstrip("/")
        self._http = http
        self._auth = auth
        self.limiter = limiter
        self.retry = retry
        self._clock = clock
        self.stats = stats
        self._mask = masker
        self._rng = retry.rng()
        self._rng_lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        raw: bool = False,
        what: str | None = None,
        min_read_timeout: float | None = None,
        max_attempts: int | None = None,
    ) -> Any:
        """Send ``method path`` (path below the origin, e.g. ``/rest/v1/leads.json``) with
        retries. Returns the parsed envelope (dict), or the text for ``raw`` calls (files).

        ``idempotent=False`` forbids resending after an ambiguous failure (604, 5xx,
        network error after sending). ``min_read_timeout`` raises the read timeout for calls
        Marketo itself may work on for long (sync: up to 90 s before its own 604).
        ``max_attempts`` caps the policy's attempts for this call (1: fail fast, e.g. when
        a person is waiting on a credentials check). Raises the ``MarketoError`` subclass.
        """
        label = what or f"{method} {path}"
        content = dumps(json_body) if json_body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        started = self._clock.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.limiter.slot():
                    self.stats.record_call(method, path)
                    response = self._send(
                        method, path, params, content, headers, form, files, min_read_timeout
                    )
                return self._parse(response, label=label, raw=raw)
            except QuotaExceeded:
                raise
            except MarketoError as err:
                error = err
            if error.code:
                self.stats.record_code(error.code)
                if error.code in ("606", "615"):
                    self.limiter.throttled(error.code)  # someone else shares the instance
            if not should_retry(error, idempotent=idempotent):
                if should_retry(error):  # retryable, but ambiguous for a non-idempotent call
                    raise _reworded(
                        error,
                        f"{error.message}; NOT retried: {label} is not idempotent and Marketo "
                        f"may already have executed it; check for duplicates before resending",
                    ) from None
                raise error
            with self._rng_lock:
                delay = self.retry.delay(
                    attempt, error, rng=self._rng, rate_window=self.limiter.limits.rate_window
                )
            elapsed = self._clock.monotonic() - started
            capped = max_attempts is not None and attempt >= max_attempts
            if capped or not self.retry.allows(attempt, elapsed=elapsed, next_delay=delay):
                raise _reworded(
                    error,
                    f"{error.message} (gave up after {attempt} attempts over {elapsed:.1f} s; "
                    f"see RetryPolicy)",
                ) from None
            self.stats.record_retry()
            log.info(
                "retrying %s after %s in %.2f s (attempt %d)", label, error.code, delay, attempt
            )
            if error.code == "606":
                self.limiter.pause(delay)  # every thread waits the window out, not just us
            self._clock.sleep(delay)

    def url_fits(self, path: str, params: Mapping[str, Any]) -> bool:
        """Whether a GET of ``path`` with ``params`` stays under Marketo's 8 KB URI limit."""
        url = httpx.URL(self.base + path, params=_clean(params))
        return len(str(url).encode()) < MAX_URL_BYTES

    # ------------------------------------------------------------------ sending

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        headers: dict[str, str] | None,
        form: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        min_read_timeout: float | None = None,
    ) -> httpx.Response:
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        current = self._http.timeout
        if min_read_timeout is not None and (current.read or 0) < min_read_timeout:
            timeout = httpx.Timeout(
                connect=current.connect,
                read=min_read_timeout,
                write=current.write,
                pool=current.pool,
            )
        try:
            return self._http.request(
                method,
                self.base + path,
                params=_clean(params) if params else None,
                content=content,
                headers=headers,
                data=_clean(form) if form else None,
                files=files,
                auth=self._auth,
                timeout=timeout,
            )
        except MarketoError:
            raise  # from the token source (identity 401, unreachable)
        except httpx.TransportError as exc:
            self.stats.record_network_error()
            # Connect errors mean nothing left this machine: safe to resend anything.
            not_sent = isinstance(
                exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            error = TransientMarketoError(
                self._mask(f"{method} {path}: network error {type(exc).__name__}: {exc}"),
                code=None,
            )
            error.not_sent = not_sent  # type: ignore[attr-defined]
            raise error from None
        except httpx.HTTPError as exc:  # invalid URL and friends: a bug, not a retry
            raise MarketoRequestError(
                self._mask(f"{method} {path}: {type(exc).__name__}: {exc}")
            ) from None

    # ------------------------------------------------------------------ parsing

    def _parse(self, response: httpx.Response, *, label: str, raw: bool) -> Any:
        status = response.status_code
        if status >= 400:
            raise self._http_error(response, label)
        text = response.text
        envelope: Any = None
        if not raw or text.lstrip().startswith("{"):
            try:
                envelope = json.loads(text) if text else None
            except ValueError:
                if raw:
                    return text
                raise TransientMarketoError(
                    f"{label}: Marketo answered HTTP {status} with a body that is not JSON "
                    f"({response.headers.get('content-type', '?')}); a proxy may be in the way",
                    http_status=status,
                ) from None
        if raw and not (isinstance(envelope, dict) and envelope.get("success") is False):
            return text
        if not isinstance(envelope, dict) or "success" not in envelope:
            raise TransientMarketoError(
                f"{label}: Marketo answered HTTP {status} without an envelope", http_status=status
            )
        if envelope["success"] is not True:
            raise self._envelope_error(envelope, label, status)
        return envelope

    def _envelope_error(self, envelope: dict[str, Any], label: str, status: int) -> MarketoError:
        errors = envelope.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        code = str(first.get("code")) if first.get("code") is not None else None
        message = str(first.get("message") or "no message")
        hint = _HINTS.get(code or "")
        text = self._mask(f"{label}: {message}" + (f"; {hint}" if hint else ""))
        request_id = envelope.get("requestId")
        if code == "607":
            resets = next_quota_reset(self._clock.now())
            return QuotaExceeded(
                f"{text}; Marketo's daily API quota is used up",
                code=code,
                request_id=request_id,
                http_status=status,
                resets_at=resets,
            )
        return marketo_error_for(code, text, request_id=request_id, http_status=status)

    def _http_error(self, response: httpx.Response, label: str) -> MarketoError:
        status = response.status_code
        hints = {
            413: "the body is over Marketo's limit (1 MB, 10 MB for imports); send smaller batches",
            414: "the URL is over 8 KB; send the query as POST with _method=GET",
            404: "no such path; check MARKETO_ENDPOINT (it should end in /rest)",
        }
        hint = hints.get(status, "Marketo or a gateway failed; retried if transient")
        text = self._mask(f"{label}: HTTP {status} {response.reason_phrase}; {hint}")
        # a 404 is a wrong path, like Marketo's 610: the same class, the HTTP status as code
        error = marketo_error_for("610" if status == 404 else str(status), text, http_status=status)
        error.code = str(status)
        return error


def _reworded(error: MarketoError, message: str) -> MarketoError:
    """The same kind of error (class, code, request id, status) with a fuller message."""
    return type(error)(
        message, code=error.code, request_id=error.request_id, http_status=error.http_status
    )


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values; lists stay lists (repeated keys)."""
    return {k: v for k, v in params.items() if v is not None}
