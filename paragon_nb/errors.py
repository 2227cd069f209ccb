"""The one exception tree of paragon_nb.

Every error the toolkit raises on purpose derives from :class:`ParagonError`, so
``except ParagonError`` catches them all. Low-level errors (httpx, sqlite3, jwt) are
translated into this tree at one boundary each and never leak to users.

::

    ParagonError
    ├── ConfigurationError            missing env var, bad home folder, bad option value
    ├── MarketoError                  anything Marketo answered (or failed to answer)
    │   ├── MarketoAuthError          identity 401, 603, 600/601/602 that a renewal did not cure
    │   ├── MarketoRequestError       FINAL: 605, 609, 610, 612, 613, 7xx, 1xxx at response level
    │   │   ├── MarketoNotFound       610 (bad path), 1013 (object not found), 702
    │   │   ├── PayloadTooLarge       HTTP 413 (body > 1 MB, > 10 MB for bulk import)
    │   │   └── UriTooLong            HTTP 414 (URI > 8 KB)
    │   ├── TransientMarketoError     RETRY: 604, 608, 611, 614, 713, 1014, HTTP 5xx, network errors
    │   │   ├── RateLimited           606 (window full)
    │   │   ├── ConcurrencyLimited    615 (too many calls in flight)
    │   │   └── ImportQueueFull       1016 / 1019 (bulk import queue / list busy)
    │   └── QuotaExceeded             607 daily quota (never retried; says when it resets)
    ├── TokenError                    Paragon user tokens (JWT)
    │   ├── TokenExpired
    │   ├── TokenNotYetValid          iat in the future beyond the leeway
    │   └── TokenInvalid              malformed, wrong alg, bad signature, missing claim
    ├── RuntimeStateError             local Paragon runtime (projects, users, workflows)
    │   ├── NotFoundError             unknown project / workflow / run / user / event
    │   ├── ParagonRequestError       an SDK request a Paragon(-compatible) server refused
    │   ├── WorkflowSpecError         unparsable or undeployable spec (names the bad reference)
    │   ├── TemplateError             a ``{{ }}`` reference that cannot be resolved
    │   ├── EventValidationError      a live event failed a strict project's schema (422)
    │   ├── StepError                 a workflow step failed (carries the step id)
    │   ├── StoreError                the project database failed (driver errors, translated)
    │   │   └── SchemaTooNew          written by a newer paragon_nb (names both versions)
    │   └── BackpressureError         too many queued runs; retry after ``retry_after`` s (429)
    └── SyncError                     DataFrame sync
        ├── MappingError              a column maps to no Marketo field (did-you-mean)
        ├── DuplicateKeyError         duplicate lookup values when the caller asked to raise
        └── JournalError              the sync journal is corrupt or unreadable (CLI exit 2)

Marketo's codes map to classes through :data:`MARKETO_CODE_CLASSES` and
:func:`marketo_error_for`; the retry classification lives beside them so client,
sandbox tests and docs agree on one table. :func:`did_you_mean` is the one suggestion
helper the error messages share ("...; did you mean 'Lead Created'?").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "BackpressureError",
    "ConcurrencyLimited",
    "ConfigurationError",
    "DuplicateKeyError",
    "EventValidationError",
    "ImportQueueFull",
    "JournalError",
    "MARKETO_CODE_CLASSES",
    "MappingError",
    "MarketoAuthError",
    "MarketoError",
    "MarketoNotFound",
    "MarketoRequestError",
    "NotFoundError",
    "ParagonError",
    "ParagonRequestError",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RateLimited",
    "RetryClass",
    "RuntimeStateError",
    "SchemaTooNew",
    "StepError",
    "StoreError",
    "SyncError",
    "TemplateError",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "TransientMarketoError",
    "UriTooLong",
    "WorkflowSpecError",
    "close_matches",
    "closest",
    "did_you_mean",
    "marketo_error_for",
    "retry_class",
]


def close_matches(word: str, choices: Iterable[str], *, n: int = 3) -> list[str]:
    """Up to ``n`` choices most like ``word``, best first (difflib's ratio >= 0.6): the one
    similarity rule of every did-you-mean.

    >>> close_matches("emial", ["email", "firstName", "mail"])
    ['email', 'mail']
    """
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (see :func:`close_matches`), or None.

    >>> closest("Lead Craeted", ["Lead Created", "Deal Won"])
    'Lead Created'
    """
    hits = close_matches(word, choices, n=1)
    return hits[0] if hits else None


def did_you_mean(word: str, choices: Iterable[str], *, show: Callable[[str], str] = repr) -> str:
    """``"; did you mean <show(hint)>?"`` for the closest choice, or ``""`` when none is close;
    ``show`` renders the hint (default ``repr``: quoted)."""
    hint = closest(word, choices)
    return "" if hint is None else f"; did you mean {show(hint)}?"


class ParagonError(Exception):
    """Root of every error paragon_nb raises on purpose."""


class ConfigurationError(ParagonError):
    """Configuration is missing or wrong: names the setting and what to do."""


# --------------------------------------------------------------------------- Marketo


class MarketoError(ParagonError):
    """Marketo answered with an error (or could not be reached).

    ``code`` is Marketo's code as a string ("606", "1003") or an HTTP status as a
    string ("413", "502"); ``request_id`` is the envelope's requestId when known.
    Messages never contain credentials or access tokens.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        prefix = f"[{self.code}] " if self.code else ""
        return f"{prefix}{self.message}"


class MarketoAuthError(MarketoError):
    """Credentials were refused (identity 401, 603) or a token could not be renewed."""


class MarketoRequestError(MarketoError):
    """The request itself is wrong (final: fix it, do not retry)."""


class MarketoNotFound(MarketoRequestError):
    """The path or object does not exist (610, 1013, 702)."""


class PayloadTooLarge(MarketoRequestError):
    """HTTP 413: the body is over 1 MB (10 MB for bulk import). Split the batch."""


class UriTooLong(MarketoRequestError):
    """HTTP 414: the URI is over 8 KB. Resend as POST with ``_method=GET``."""


class TransientMarketoError(MarketoError):
    """A failure worth retrying with backoff (604, 608, 611, 614, 713, 5xx, network)."""


class RateLimited(TransientMarketoError):
    """606: more than the allowed calls in the rate window; wait the window out."""


class ConcurrencyLimited(TransientMarketoError):
    """615: more than the allowed calls in flight."""


class ImportQueueFull(TransientMarketoError):
    """1016 (too many imports queued) or 1019 (import in progress for that list)."""


class QuotaExceeded(MarketoError):
    """607: the daily API quota is used up. Never retried.

    ``resets_at`` is when Marketo resets the quota (12:00 AM US Central), if known.
    """

    def __init__(self, message: str, *, resets_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resets_at = resets_at

    def __str__(self) -> str:
        text = super().__str__()
        if self.resets_at is not None:
            text += f" (quota resets at {self.resets_at.isoformat()}; resume after that)"
        return text


class RetryClass(StrEnum):
    """What a client should do with an error code (reference §7)."""

    AUTH = "auth"  # renew the token, retry once
    RETRY = "retry"  # exponential backoff + jitter
    WAIT = "wait"  # wait out a window / queue, then retry
    FINAL = "final"  # fix the request; never retry
    QUOTA = "quota"  # wait until the daily reset: final for this run


# code -> (exception class, retry class). Codes not listed are FINAL MarketoRequestError.
MARKETO_CODE_CLASSES: dict[str, tuple[type[MarketoError], RetryClass]] = {
    "401": (MarketoAuthError, RetryClass.FINAL),
    "413": (PayloadTooLarge, RetryClass.FINAL),
    "414": (UriTooLong, RetryClass.FINAL),
    "500": (TransientMarketoError, RetryClass.RETRY),  # docs: final or one retry
    "502": (TransientMarketoError, RetryClass.RETRY),
    "503": (TransientMarketoError, RetryClass.RETRY),
    "504": (TransientMarketoError, RetryClass.RETRY),
    "600": (MarketoAuthError, RetryClass.AUTH),
    "601": (MarketoAuthError, RetryClass.AUTH),
    "602": (MarketoAuthError, RetryClass.AUTH),
    "603": (MarketoAuthError, RetryClass.FINAL),
    "604": (TransientMarketoError, RetryClass.RETRY),
    "605": (MarketoRequestError, RetryClass.FINAL),
    "606": (RateLimited, RetryClass.WAIT),
    "607": (QuotaExceeded, RetryClass.QUOTA),
    "608": (TransientMarketoError, RetryClass.RETRY),
    "609": (MarketoRequestError, RetryClass.FINAL),
    "610": (MarketoNotFound, RetryClass.FINAL),
    "611": (TransientMarketoError, RetryClass.RETRY),
    "612": (MarketoRequestError, RetryClass.FINAL),
    "613": (MarketoRequestError, RetryClass.FINAL),
    "614": (TransientMarketoError, RetryClass.RETRY),
    "615": (ConcurrencyLimited, RetryClass.RETRY),
    "702": (MarketoNotFound, RetryClass.FINAL),
    "713": (TransientMarketoError, RetryClass.RETRY),
    "719": (TransientMarketoError, RetryClass.RETRY),
    "1013": (MarketoNotFound, RetryClass.FINAL),
    "1014": (TransientMarketoError, RetryClass.RETRY),
    "1016": (ImportQueueFull, RetryClass.WAIT),
    "1019": (ImportQueueFull, RetryClass.WAIT),
    "1029": (ImportQueueFull, RetryClass.WAIT),
}


def _classify(code: str) -> tuple[type[MarketoError], RetryClass]:
    """The table's entry for ``code``; other 5xx are transient, anything else final."""
    entry = MARKETO_CODE_CLASSES.get(code)
    if entry is not None:
        return entry
    if code.isdigit() and 500 <= int(code) <= 599:
        return TransientMarketoError, RetryClass.RETRY
    return MarketoRequestError, RetryClass.FINAL


def retry_class(code: str | int | None) -> RetryClass:
    """The retry class for a Marketo code or HTTP status (unknown codes are FINAL)."""
    return RetryClass.FINAL if code is None else _classify(str(code))[1]


def marketo_error_for(
    code: str | int | None,
    message: str,
    *,
    request_id: str | None = None,
    http_status: int | None = None,
    **extra: Any,
) -> MarketoError:
    """Build the right :class:`MarketoError` subclass for a Marketo code."""
    key = None if code is None else str(code)
    cls = MarketoRequestError if key is None else _classify(key)[0]
    return cls(message, code=key, request_id=request_id, http_status=http_status, **extra)


# --------------------------------------------------------------------------- user tokens


class TokenError(ParagonError):
    """A Paragon user token (JWT) was refused; the message says exactly why."""


class TokenExpired(TokenError):
    """The token's ``exp`` is in the past (beyond the leeway)."""


class TokenNotYetValid(TokenError):
    """The token's ``iat`` is in the future (beyond the leeway)."""


class TokenInvalid(TokenError):
    """Malformed token, wrong algorithm, bad signature or a missing claim."""


# --------------------------------------------------------------------------- runtime


class RuntimeStateError(ParagonError):
    """Errors of the local Paragon-compatible runtime."""


class ParagonRequestError(RuntimeStateError):
    """A Paragon(-compatible) server refused an SDK request; ``status_code`` is its HTTP status
    and the message is the server's ``message``."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFoundError(RuntimeStateError, LookupError):
    """An unknown project, workflow, run, user or App Event (names the ones that exist)."""


class WorkflowSpecError(RuntimeStateError, ValueError):
    """A workflow spec that cannot be parsed, validated or deployed."""


class TemplateError(RuntimeStateError, ValueError):
    """A ``{{ ... }}`` reference that is malformed or cannot be resolved (names the path)."""


class EventValidationError(RuntimeStateError, ValueError):
    """A live App Event does not match its schema in a strict project (REST: 422).

    ``errors`` is a list of ``{"field": ..., "message": ...}``.
    """

    def __init__(self, message: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class StepError(RuntimeStateError):
    """A workflow step failed; ``step_id`` names it."""

    def __init__(self, message: str, *, step_id: str | None = None) -> None:
        super().__init__(message)
        self.step_id = step_id


class StoreError(RuntimeStateError):
    """The project database (SQLite file or PostgreSQL) failed: the driver's error,
    translated at the store's one boundary (``runtime.db``)."""


class SchemaTooNew(StoreError):
    """The project database was written by a newer paragon_nb: ``found`` is its schema
    version, ``known`` the newest this code understands. Nothing was changed."""

    def __init__(self, message: str, *, found: int, known: int) -> None:
        super().__init__(message)
        self.found = found
        self.known = known


class BackpressureError(RuntimeStateError):
    """The project holds its bound of queued runs; nothing was recorded. Retry after
    ``retry_after`` seconds (REST: 429 with ``Retry-After``)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = float(retry_after)


# --------------------------------------------------------------------------- sync


class SyncError(ParagonError):
    """Errors of the DataFrame sync that stop it before any write."""


class MappingError(SyncError, ValueError):
    """A column maps to no Marketo field, or to a read-only one (with did-you-mean)."""


class DuplicateKeyError(SyncError, ValueError):
    """Duplicate lookup values in the input when ``on_duplicate="raise"``."""


class JournalError(SyncError):
    """The sync journal (``journal.sqlite3``) cannot be read or written: corrupt, not a
    database, unreadable or locked. ``path`` names the file; the message says the two ways
    out (move it aside, or one ``full_resync=True`` / ``--full-resync`` run). Raised before
    anything is sent; the CLI exits 2."""

    def __init__(self, message: str, *, path: object = None) -> None:
        super().__init__(message)
        self.path = path
