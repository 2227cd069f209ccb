"""Retry policy, in three separate parts (reference §7, §8):

1. :func:`should_retry` - is this error worth another attempt? (status / body code via
   ``errors.retry_class``; never 607; never an ambiguous failure of a non-idempotent call)
2. :meth:`RetryPolicy.delay` - how long to wait: capped exponential backoff with full
   jitter from a seeded RNG; a 606 waits out the whole rate window instead.
3. the sleep itself - done by the caller through the injected clock.

::

    policy = RetryPolicy(max_attempts=6, seed=1)
    if should_retry(err, idempotent=True):
        clock.sleep(policy.delay(attempt, err, rng=policy.rng()))
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from paragon_nb.errors import (
    MarketoError,
    QuotaExceeded,
    RetryClass,
    TransientMarketoError,
    retry_class,
)

__all__ = ["NOT_EXECUTED_CODES", "RetryPolicy", "is_ambiguous", "should_retry"]

# Codes after which Marketo has certainly NOT executed the request (6xx "not executed",
# limits checked before any work): safe to resend even a non-idempotent call.
# (U) 608 "temporarily unavailable" is read as "rejected at the gateway".
NOT_EXECUTED_CODES = frozenset({"600", "601", "602", "606", "608", "615"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient Marketo failures.

    - ``max_attempts``: total attempts per call, first one included (1 = never retry).
    - ``base_delay`` / ``max_delay``: backoff ``uniform(0, min(max_delay, base * 2**n))``
      after the n-th failure (full jitter, AWS-style) so threads do not retry in lockstep.
    - ``rate_window``: seconds a 606 waits (the whole window drains); ``None`` uses the
      client's ``Limits.rate_window``.
    - ``max_elapsed``: give up when the next wait would pass this many seconds since the
      first attempt (``None``: no cap).
    - ``seed``: RNG seed for reproducible jitter (tests); ``None`` is random.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    rate_window: float | None = None
    max_elapsed: float | None = 300.0
    seed: int | None = None

    def rng(self) -> random.Random:
        """A fresh RNG for one client (seeded when ``seed`` is set)."""
        return random.Random(self.seed)

    def delay(
        self,
        attempt: int,
        error: MarketoError,
        *,
        rng: random.Random,
        rate_window: float = 20.0,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if error.code == "606":
            window = self.rate_window if self.rate_window is not None else rate_window
            # Wait the window out, plus up to 10% so waiting threads do not return together.
            return window * (1.0 + rng.uniform(0.0, 0.1))
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0.0, cap)

    def allows(self, attempt: int, *, elapsed: float, next_delay: float) -> bool:
        """Whether another attempt after ``attempt`` failures fits the budget."""
        if attempt >= self.max_attempts:
            return False
        return not (self.max_elapsed is not None and elapsed + next_delay > self.max_elapsed)


def is_ambiguous(error: MarketoError) -> bool:
    """True when the failed request *may* have been executed by Marketo (a 604 timeout, a
    5xx, a network error after the request left): resending a non-idempotent call could
    then do the work twice."""
    if getattr(error, "not_sent", False):
        return False
    return error.code not in NOT_EXECUTED_CODES


def should_retry(error: MarketoError, *, idempotent: bool = True) -> bool:
    """Whether ``error`` deserves another attempt.

    Retries RETRY/WAIT codes (604, 606, 608, 611, 614, 615, 713, 1014, 1016, 1019, HTTP
    5xx) and network errors (``TransientMarketoError`` without a code). Never 607 (quota:
    final for this run), never AUTH codes here (the auth flow already renewed once), never
    an ambiguous failure of a non-idempotent call.
    """
    if isinstance(error, QuotaExceeded):
        return False
    if error.code is None:
        retryable = isinstance(error, TransientMarketoError)
    else:
        retryable = retry_class(error.code) in (RetryClass.RETRY, RetryClass.WAIT)
    if not retryable:
        return False
    return idempotent or not is_ambiguous(error)
