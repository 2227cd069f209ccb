"""The core of :class:`~paragon_nb.marketo.client.MarketoClient`: construction, the send
path, batch fan-out, paging and describe. Resource methods live in leads.py, lists.py and
imports.py as mixins over this base; client.py puts them together.

    client = MarketoClient.from_env()      # see client.py for the public contract
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr

from paragon_nb._clock import Clock, system_clock
from paragon_nb._closing import ClosesOnExit
from paragon_nb._redact import Redactor, install_log_filter
from paragon_nb.errors import ConfigurationError, MarketoNotFound, TransientMarketoError
from paragon_nb.marketo._http import Http
from paragon_nb.marketo.auth import MarketoAuth, TokenCache, TokenSource
from paragon_nb.marketo.limits import Limiter, Limits
from paragon_nb.marketo.models import LeadField, Reason
from paragon_nb.marketo.paging import TokenPager
from paragon_nb.marketo.retry import RetryPolicy
from paragon_nb.marketo.stats import ClientStats

__all__ = ["ClientBase", "reasons_of"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ENV_ENDPOINT = "MARKETO_ENDPOINT"
ENV_IDENTITY = "MARKETO_IDENTITY"
ENV_CLIENT_ID = "MARKETO_CLIENT_ID"
ENV_CLIENT_SECRET = "MARKETO_CLIENT_SECRET"


def _split_endpoint(endpoint: str) -> tuple[str, str]:
    """``(origin_base, rest_path)``: ``https://h/rest`` -> ``("https://h", "/rest")``."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"Marketo endpoint {endpoint!r} is not an http(s) URL; use the REST endpoint from "
            f"Admin > Web Services, e.g. https://123-ABC-456.mktorest.com/rest"
        )
    path = parts.path.rstrip("/")
    for suffix in ("/rest/v1", "/rest"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}", "/rest"


class ClientBase(ClosesOnExit):
    """The shared core of :class:`MarketoClient` (construction, send path, fan-out, paging).

    ``endpoint`` is the REST base ending in ``/rest`` (as Marketo's admin shows it);
    ``identity`` defaults to the same origin + ``/identity``. ``transport`` is any httpx
    transport (``httpx.WSGITransport(app=sandbox_app)`` in tests). ``clock`` is injected
    everywhere time is read or slept. The client secret and access tokens never appear in
    reprs, logs or error messages.

    Limits: ``limits`` (a :class:`Limits`) bounds calls per window, calls in flight and an
    optional daily budget (``daily_budget=`` overrides the one in ``limits``). ``retry``
    (a :class:`RetryPolicy`) bounds retries. ``timeout`` cannot be disabled.
    ``token_cache`` shares tokens between clients of one instance.
    """

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        client_secret: str,
        *,
        identity: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        daily_budget: int | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        if not client_id:
            raise ConfigurationError("Marketo client_id is empty; set MARKETO_CLIENT_ID")
        if not client_secret:
            raise ConfigurationError("Marketo client_secret is empty; set MARKETO_CLIENT_SECRET")
        if timeout is None:
            raise ConfigurationError(
                "MarketoClient timeout=None would let a call hang forever; pass seconds"
            )
        base, rest = _split_endpoint(endpoint)
        self.endpoint = base + rest
        self.identity = (identity or base + "/identity").rstrip("/")
        self.client_id = client_id
        self._secret = SecretStr(client_secret)
        self._clock = clock or system_clock
        limits = limits or Limits()
        if daily_budget is not None:
            limits = dataclasses.replace(limits, daily_budget=daily_budget)
        self.limits = limits
        self._stats = ClientStats()
        self._masker = Redactor(client_secret)
        install_log_filter()
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"Accept-Encoding": "gzip", "Accept": "application/json"},
            limits=httpx.Limits(max_connections=limits.max_concurrency + 4),
        )
        # A client dropped without close() (a notebook cell run again, a temporary
        # `sandbox.client().check()`) still closes its keep-alive sockets.
        weakref.finalize(self, self._client.close)
        self._tokens = TokenSource(
            self.identity,
            client_id,
            self._secret,
            http=self._client,
            clock=self._clock,
            cache=token_cache,
            masker=self._masker,
            on_fetch=self._stats.record_token,
        )
        self._http = Http(
            base=base,
            http=self._client,
            auth=MarketoAuth(self._tokens, on_renewal=self._stats.record_renewal),
            limiter=Limiter(limits, clock=self._clock),
            retry=retry or RetryPolicy(),
            clock=self._clock,
            stats=self._stats,
            masker=self._masker,
        )
        self._describe: list[LeadField] | None = None
        self._describe_lock = threading.Lock()

    @classmethod
    def from_env(cls, **kwargs: Any) -> Self:
        """From MARKETO_ENDPOINT, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET (+ MARKETO_IDENTITY).

        Raises ``ConfigurationError`` naming every missing variable. Keyword arguments go
        to the constructor (``transport=``, ``limits=`` ...)."""
        names = (ENV_ENDPOINT, ENV_CLIENT_ID, ENV_CLIENT_SECRET)
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            raise ConfigurationError(
                f"missing environment variable(s) {', '.join(missing)}; set them to your "
                f"Marketo REST endpoint (…/rest) and LaunchPoint client id/secret, or start "
                f"a local sandbox with `paragon-nb sandbox`"
            )
        kwargs.setdefault("identity", os.environ.get(ENV_IDENTITY) or None)
        return cls(
            os.environ[ENV_ENDPOINT],
            os.environ[ENV_CLIENT_ID],
            os.environ[ENV_CLIENT_SECRET],
            **kwargs,
        )

    # identity of the instance -----------------------------------------------------------
    endpoint: str
    identity: str
    client_id: str

    @property
    def instance_key(self) -> str:
        """A stable key for this Marketo instance (normalised endpoint), for journals."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"

    @property
    def limiter(self) -> Limiter:
        """The limiter all of this client's calls go through. Assign another object with
        its interface (``grant``, ``slot``, ``pause``, ``throttled``, ``limits``) to share a
        budget between clients, e.g. the runtime's store-backed one shared by processes."""
        return self._http.limiter

    @limiter.setter
    def limiter(self, limiter: Limiter) -> None:
        self._http.limiter = limiter

    def __repr__(self) -> str:
        return f"MarketoClient(endpoint={self.endpoint!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._client.close()

    def check(self, *, max_attempts: int | None = 2) -> list[LeadField]:
        """Validate credentials: get a token and call describe. Raises MarketoAuthError etc.

        Fails fast by default (``max_attempts=2``: one retry) because a person is usually
        waiting on the answer; ``None`` uses the client's full retry policy."""
        return self.describe(refresh=True, max_attempts=max_attempts)

    # plumbing -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._http.call(method, path, **kwargs)

    def _run_batches(
        self,
        pieces: Sequence[T],
        send: Callable[[T], list[Any]],
        *,
        progress: Callable[[int], None] | None = None,
        size: Callable[[T], int] = len,  # type: ignore[assignment]
    ) -> list[list[Any]]:
        """``send`` every piece, concurrently up to the concurrency limit; results in order.

        On a failure, pieces not started are cancelled, running ones finish, and the error
        is raised with ``partial_results`` (a list with ``None`` for unsent pieces)."""
        if len(pieces) <= 1:
            try:
                out = [send(p) for p in pieces]
            except Exception as exc:  # annotated and re-raised, as on the concurrent path
                exc.partial_results = [None]  # type: ignore[attr-defined]
                raise
            if progress is not None and pieces:
                progress(size(pieces[0]))
            return out
        workers = min(self.limits.max_concurrency, len(pieces))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="marketo") as pool:
            futures: list[Future[list[Any]]] = [pool.submit(send, p) for p in pieces]
            if progress is not None:
                for piece, fut in zip(pieces, futures, strict=True):
                    fut.add_done_callback(
                        lambda f, n=size(piece): (
                            progress(n) if not f.cancelled() and f.exception() is None else None
                        )
                    )
            _, pending = wait_futures(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed:
                for fut in pending:
                    fut.cancel()
                wait_futures(futures)
                error = failed[0].exception()
                assert error is not None
                partial = [
                    f.result() if f.done() and not f.cancelled() and f.exception() is None else None
                    for f in futures
                ]
                error.partial_results = partial  # type: ignore[attr-defined]
                raise error
            return [f.result() for f in futures]

    # metadata ---------------------------------------------------------------------------
    def describe(
        self, *, refresh: bool = False, max_attempts: int | None = None
    ) -> list[LeadField]:
        """Lead fields (cached per client; ``refresh=True`` to re-read)."""
        with self._describe_lock:
            if self._describe is None or refresh:
                envelope = self._call(
                    "GET", "/rest/v1/leads/describe.json", max_attempts=max_attempts
                )
                fields = []
                for item in envelope.get("result") or []:
                    rest = item.get("rest") or {}
                    fields.append(
                        LeadField(
                            id=item["id"],
                            displayName=item.get("displayName") or rest.get("name") or "",
                            dataType=item.get("dataType") or "string",
                            length=item.get("length"),
                            name=rest.get("name"),
                            read_only=bool(rest.get("readOnly", False)),
                        )
                    )
                self._describe = fields
            return list(self._describe)

    def _asset_one(
        self, model: type[M], path: str, *, params: Mapping[str, Any] | None = None
    ) -> M | None:
        """The one asset an asset-API lookup answers, or None ("No assets found" or a
        not-found code)."""
        try:
            envelope = self._call("GET", path, params=params)
        except MarketoNotFound:
            return None
        result = envelope.get("result") or []
        return model.model_validate(result[0]) if result else None

    def _asset_create(
        self,
        model: type[M],
        path: str,
        form: Mapping[str, Any],
        *,
        what: str,
        find_existing: Callable[[], M | None],
    ) -> M:
        """POST an asset-API create (not idempotent: never resent blindly). After an
        ambiguous failure (timeout, 5xx) ``find_existing`` looks for what the lost answer may
        have created; found, it is returned instead of making the asset twice."""
        try:
            envelope = self._call("POST", path, form=form, idempotent=False, what=what)
        except TransientMarketoError:
            existing = find_existing()
            if existing is not None:
                return existing
            raise
        result = envelope.get("result") or []
        if not result:
            raise MarketoNotFound(f"{what}: Marketo answered without the new asset")
        return model.model_validate(result[0])

    def _paged(self, path: str, query: Mapping[str, Any], *, what: str) -> Iterator[Any]:
        """Follow ``nextPageToken``; queries over 8 KB go as POST with ``_method=GET``."""
        pager = TokenPager()
        while not pager.done:
            params = {**query, **pager.params()}
            if self._http.url_fits(path, params):
                envelope = self._call("GET", path, params=params, what=what)
            else:
                envelope = self._call(
                    "POST", path, params={"_method": "GET"}, form=params, what=what
                )
            yield from pager.advance(envelope)

    @property
    def stats(self) -> ClientStats:
        """Calls made by this client: total, per path, retries, codes seen (606/615...)."""
        return self._stats


def reasons_of(item: Mapping[str, Any]) -> tuple[Reason, ...]:
    """The ``reasons`` of one result row as typed values (codes as strings)."""
    raw = item.get("reasons")
    if not raw:  # most rows (a sync's 300 answers are parsed per call)
        return ()
    return tuple(Reason(code=str(r.get("code")), message=str(r.get("message", ""))) for r in raw)
