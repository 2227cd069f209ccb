"""MarketoClient: the one way paragon_nb talks to Marketo (real or the local sandbox).

Signatures here are a contract (sync/, runtime/ and widgets code against them). The
machinery lives in sibling modules: auth.py (tokens), limits.py, retry.py, batching.py,
paging.py, bulk.py, _http.py (the one send path)::

    client = MarketoClient("https://123-ABC-456.mktorest.com/rest", "id", "secret")
    results = client.sync_leads([{"email": "a@x.com", "firstName": "Ada"}])
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import (
    ConfigurationError,
    MarketoAuthError,
    MarketoError,
    MarketoNotFound,
    QuotaExceeded,
    TransientMarketoError,
)
from paragon_nb.marketo import bulk
from paragon_nb.marketo._http import Http
from paragon_nb.marketo._masking import Masker, install_log_filter
from paragon_nb.marketo.auth import MarketoAuth, TokenCache, TokenSource
from paragon_nb.marketo.batching import batch_ranges, chunks, filter_value_chunks
from paragon_nb.marketo.limits import Limiter, Limits
from paragon_nb.marketo.models import (
    ImportJob,
    ImportStatus,
    LeadField,
    ListMemberResult,
    ListMemberStatus,
    Reason,
    RecordResult,
    RecordStatus,
    StaticList,
    SyncAction,
    UsageDay,
)
from paragon_nb.marketo.paging import OffsetPager, TokenPager
from paragon_nb.marketo.retry import RetryPolicy
from paragon_nb.marketo.stats import ClientStats

__all__ = ["MarketoClient"]

T = TypeVar("T")

ENV_ENDPOINT = "MARKETO_ENDPOINT"
ENV_IDENTITY = "MARKETO_IDENTITY"
ENV_CLIENT_ID = "MARKETO_CLIENT_ID"
ENV_CLIENT_SECRET = "MARKETO_CLIENT_SECRET"

# Folder names tried, in order, when create_list gets no folder. "Group Lists" is the
# system folder of every instance's Lead Database. # (U) the fallbacks are guesses.
DEFAULT_LIST_FOLDERS = ("Group Lists", "Lead Database")


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


class MarketoClient:
    """A thread-safe Marketo REST client that keeps within Marketo's limits.

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
            limits = Limits(
                rate_calls=limits.rate_calls,
                rate_window=limits.rate_window,
                max_concurrency=limits.max_concurrency,
                daily_budget=daily_budget,
            )
        self.limits = limits
        self._stats = ClientStats()
        self._masker = Masker(client_secret)
        install_log_filter()
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"Accept-Encoding": "gzip", "Accept": "application/json"},
            limits=httpx.Limits(max_connections=limits.max_concurrency + 4),
        )
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
    def from_env(cls, **kwargs: Any) -> MarketoClient:
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
        """The limiter all of this client's calls go through (for inspection)."""
        return self._http.limiter

    def __repr__(self) -> str:
        return f"MarketoClient(endpoint={self.endpoint!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MarketoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> list[LeadField]:
        """Validate credentials: get a token and call describe. Raises MarketoAuthError etc."""
        return self.describe(refresh=True)

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
            out = [send(p) for p in pieces]
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
    def describe(self, *, refresh: bool = False) -> list[LeadField]:
        """Lead fields (cached per client; ``refresh=True`` to re-read)."""
        with self._describe_lock:
            if self._describe is None or refresh:
                envelope = self._call("GET", "/rest/v1/leads/describe.json")
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

    # leads --------------------------------------------------------------------------------
    def sync_leads(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
        progress: Callable[[int], None] | None = None,
        on_batch_error: str = "raise",
    ) -> list[RecordResult]:
        """Upsert any number of records: split into <=300 / <=1 MB batches, sent concurrently
        within the limits; one result per input record, in input order.

        ``progress(n)`` is called with each finished batch's size. ``on_batch_error``:
        ``"raise"`` (default) raises the first batch failure with ``partial_results`` (per
        batch lists, ``None`` for batches not done); ``"skip"`` marks that batch's records
        skipped with the error's code and message and carries on (``QuotaExceeded`` and
        ``MarketoAuthError`` always raise). ``createDuplicate`` is
        never resent after an ambiguous failure (the write may have happened)."""
        try:
            act = SyncAction(action)
        except ValueError:
            raise ConfigurationError(
                f"sync action {action!r} is not a Marketo action; use one of "
                f"{[a.value for a in SyncAction]}"
            ) from None
        if on_batch_error not in ("raise", "skip"):
            raise ConfigurationError(
                f"on_batch_error must be 'raise' or 'skip', not {on_batch_error!r}"
            )
        if not records:
            return []
        ranges = batch_ranges(records)

        def send(r: range) -> list[RecordResult]:
            body: dict[str, Any] = {"action": act.value, "lookupField": lookup_field}
            if partition is not None:
                body["partitionName"] = partition
            body["input"] = [records[i] for i in r]
            try:
                envelope = self._call(
                    "POST",
                    "/rest/v1/leads.json",
                    json_body=body,
                    idempotent=act is not SyncAction.CREATE_DUPLICATE,
                    what=f"sync_leads {act.value} of records {r.start}..{r.stop - 1}",
                )
            except MarketoError as err:
                # quota and credentials problems end the whole run, whatever the policy
                if on_batch_error == "raise" or isinstance(err, QuotaExceeded | MarketoAuthError):
                    raise
                reason = Reason(code=err.code or "error", message=str(err))
                return [RecordResult(status=RecordStatus.SKIPPED, reasons=(reason,))] * len(r)
            return _record_results(envelope, len(r), what="sync_leads")

        per_batch = self._run_batches(ranges, send, progress=progress)
        return [result for batch in per_batch for result in batch]

    def iter_leads(
        self,
        filter_type: str,
        values: Sequence[Any],
        *,
        fields: Sequence[str] | None = None,
        batch_size: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """Leads matching ``filter_type`` in ``values`` (chunked <=300, long queries as POST).

        Only matching leads come back (no placeholders). Raises ``MarketoRequestError`` for a
        value containing a comma, and Marketo's 1003 if one chunk matches > 1,000 leads."""
        for chunk in filter_value_chunks(values):
            query: dict[str, Any] = {
                "filterType": filter_type,
                "filterValues": ",".join(chunk),
                "fields": ",".join(fields) if fields else None,
                "batchSize": min(batch_size, 300),
            }
            yield from self._paged("/rest/v1/leads.json", query, what=f"leads by {filter_type}")

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

    def get_leads(
        self, filter_type: str, values: Sequence[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Eager :meth:`iter_leads`."""
        return list(self.iter_leads(filter_type, values, **kwargs))

    def get_lead(
        self, lead_id: int, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """One lead by id, or ``None`` when there is no such lead."""
        params = {"fields": ",".join(fields)} if fields else None
        envelope = self._call("GET", f"/rest/v1/lead/{int(lead_id)}.json", params=params)
        result = envelope.get("result") or []
        return dict(result[0]) if result else None

    def delete_leads(self, ids: Sequence[int]) -> list[RecordResult]:
        """Delete leads by id (chunks of 300); one result per id: deleted or skipped."""

        def send(chunk: list[int]) -> list[RecordResult]:
            envelope = self._call(
                "POST",
                "/rest/v1/leads/delete.json",
                json_body={"input": [{"id": i} for i in chunk]},
                what=f"delete {len(chunk)} leads",
            )
            return _record_results(envelope, len(chunk), what="delete_leads")

        per_chunk = self._run_batches(chunks([int(i) for i in ids]), send)
        return [r for chunk in per_chunk for r in chunk]

    # lists --------------------------------------------------------------------------------
    def iter_lists(
        self, *, ids: Sequence[int] | None = None, names: Sequence[str] | None = None
    ) -> Iterator[StaticList]:
        """Lead-DB lists (``GET /rest/v1/lists.json``), paged."""
        query: dict[str, Any] = {"batchSize": 300}
        if ids:
            query["id"] = ",".join(str(int(i)) for i in ids)
        if names:
            # Comma-joined as documented; a name containing a comma goes as repeated
            # parameters instead. # (U) Marketo's handling of repeated `name` is unverified.
            names = list(names)
            query["name"] = names if any("," in n for n in names) else ",".join(names)
        for item in self._paged("/rest/v1/lists.json", query, what="lists"):
            yield StaticList.model_validate(item)

    def get_lists(self, **kwargs: Any) -> list[StaticList]:
        """Eager :meth:`iter_lists`."""
        return list(self.iter_lists(**kwargs))

    def iter_static_lists(self, *, folder: Mapping[str, Any] | None = None) -> Iterator[StaticList]:
        """Asset-API static lists (offset paging, 200 a page)."""
        pager = OffsetPager(200)
        base: dict[str, Any] = {"folder": json.dumps(dict(folder)) if folder else None}
        while not pager.done:
            envelope = self._call(
                "GET", "/rest/asset/v1/staticLists.json", params={**base, **pager.params()}
            )
            for item in pager.advance(envelope):
                yield StaticList.model_validate(item)

    def get_list(self, list_id: int) -> StaticList | None:
        """A static list by id (asset API), or ``None``."""
        try:
            envelope = self._call("GET", f"/rest/asset/v1/staticList/{int(list_id)}.json")
        except MarketoNotFound:
            return None
        result = envelope.get("result") or []
        return StaticList.model_validate(result[0]) if result else None

    def get_list_by_name(self, name: str) -> StaticList | None:
        """A static list by exact name (asset API), or ``None``."""
        try:
            envelope = self._call(
                "GET", "/rest/asset/v1/staticList/byName.json", params={"name": name}
            )
        except MarketoNotFound:
            return None
        result = envelope.get("result") or []
        return StaticList.model_validate(result[0]) if result else None

    def _default_list_folder(self) -> dict[str, Any]:
        for name in DEFAULT_LIST_FOLDERS:
            try:
                envelope = self._call(
                    "GET", "/rest/asset/v1/folder/byName.json", params={"name": name}
                )
            except MarketoNotFound:
                continue
            for item in envelope.get("result") or []:
                folder = item.get("folderId") or {"id": item.get("id"), "type": "Folder"}
                if folder.get("id") is not None:
                    return {"id": int(folder["id"]), "type": folder.get("type", "Folder")}
        raise MarketoNotFound(
            f"no default folder for static lists (looked for {list(DEFAULT_LIST_FOLDERS)}); "
            f"pass folder={{'id': <folder id>, 'type': 'Folder'}} to create_list"
        )

    def create_list(
        self, name: str, *, folder: Mapping[str, Any] | None = None, description: str | None = None
    ) -> StaticList:
        """Create a static list (default folder: the instance's "Group Lists" folder).

        Creating is not idempotent: after an ambiguous failure (timeout, 5xx) the list is
        looked up by name instead of being created twice."""
        target = dict(folder) if folder else self._default_list_folder()
        form = {"name": name, "folder": json.dumps(target), "description": description}
        try:
            envelope = self._call(
                "POST",
                "/rest/asset/v1/staticLists.json",
                form=form,
                idempotent=False,
                what=f"create list {name!r}",
            )
        except TransientMarketoError:
            existing = self.get_list_by_name(name)
            if existing is not None:
                return existing
            raise
        result = envelope.get("result") or []
        if not result:
            raise MarketoNotFound(f"create list {name!r}: Marketo answered without the new list")
        return StaticList.model_validate(result[0])

    def _membership(
        self, method: str, path: str, list_id: int, lead_ids: Sequence[int], what: str
    ) -> list[ListMemberResult]:
        def send(chunk: list[int]) -> list[ListMemberResult]:
            if method == "POST":
                envelope = self._call(
                    "POST", path, json_body={"input": [{"id": i} for i in chunk]}, what=what
                )
            else:
                params = {"id": ",".join(str(i) for i in chunk)}
                envelope = self._call(method, path, params=params, what=what)
            return _member_results(envelope, chunk, what=what)

        per_chunk = self._run_batches(chunks([int(i) for i in lead_ids]), send)
        return [r for chunk in per_chunk for r in chunk]

    def add_to_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        """Add leads (chunks of 300, concurrent); per id ``added`` or ``skipped`` (1004)."""
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        return self._membership("POST", path, list_id, lead_ids, f"add to list {list_id}")

    def remove_from_list(self, list_id: int, lead_ids: Sequence[int]) -> list[ListMemberResult]:
        """Remove leads; a lead that was not a member (1015) counts as ``removed`` (its
        reason is kept); unknown leads stay ``skipped`` (1004)."""
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        results = self._membership("DELETE", path, list_id, lead_ids, f"remove from {list_id}")
        return [
            r.model_copy(update={"status": ListMemberStatus.REMOVED})
            if r.status is ListMemberStatus.SKIPPED and any(x.code == "1015" for x in r.reasons)
            else r
            for r in results
        ]

    def is_member(self, list_id: int, lead_ids: Sequence[int]) -> dict[int, bool]:
        """``{lead id: member?}``; unknown leads map to False."""
        path = f"/rest/v1/lists/{int(list_id)}/leads/ismember.json"
        results = self._membership("GET", path, list_id, lead_ids, f"ismember {list_id}")
        return {r.id: r.status is ListMemberStatus.MEMBER for r in results}

    def iter_list_members(
        self, list_id: int, *, fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Leads in a static list, paged by ``nextPageToken``."""
        query = {"fields": ",".join(fields) if fields else None, "batchSize": 300}
        path = f"/rest/v1/lists/{int(list_id)}/leads.json"
        yield from self._paged(path, query, what=f"members of list {list_id}")

    def list_members(self, list_id: int, **kwargs: Any) -> list[dict[str, Any]]:
        """Eager :meth:`iter_list_members`."""
        return list(self.iter_list_members(list_id, **kwargs))

    # bulk import ---------------------------------------------------------------------------
    def import_leads(
        self,
        data: bytes | str | Path | Any,  # CSV bytes, a file path, or a DataFrame
        *,
        format: str = "csv",
        lookup_field: str = "email",
        list_id: int | None = None,
        partition: str | None = None,
        wait: bool = True,
        poll_interval: float = 5.0,
        timeout: float | None = None,
    ) -> ImportJob:
        """Start a bulk import; with ``wait`` poll (injected clock) until it is done and fetch
        the failures/warnings rows.

        Raises ``ImportQueueFull`` (1016/1019) when retries do not drain the queue,
        ``TransientMarketoError`` when ``timeout`` seconds pass before the job is done."""
        body, filename = bulk.import_payload(data, format=format)
        params = {
            "format": format,
            "lookupField": lookup_field,
            "listId": list_id,
            "partitionName": partition,
        }
        content_type = bulk.CONTENT_TYPES[format]
        envelope = self._call(
            "POST",
            "/bulk/v1/leads.json",
            params=params,
            files={"file": (filename, body, content_type)},
            what=f"import {filename}",
        )
        job = _import_job(envelope)
        if not wait:
            return job
        started = self._clock.monotonic()
        while not job.done:
            if timeout is not None and self._clock.monotonic() - started + poll_interval > timeout:
                raise TransientMarketoError(
                    f"import job {job.batch_id} still {job.status.value} after {timeout:g} s; "
                    f"check it later with client.import_status({job.batch_id})"
                )
            self._clock.sleep(poll_interval)
            job = self.import_status(job.batch_id)
        return self._with_reports(job, format=format)

    def import_status(self, batch_id: int, *, reports: bool = False) -> ImportJob:
        """The job's current status; ``reports=True`` also fetches failures/warnings rows."""
        envelope = self._call("GET", f"/bulk/v1/leads/batch/{int(batch_id)}.json")
        job = _import_job(envelope)
        return self._with_reports(job) if reports else job

    def _with_reports(self, job: ImportJob, *, format: str = "csv") -> ImportJob:
        update: dict[str, Any] = {}
        for kind, count in (
            ("failures", job.num_rows_failed),
            ("warnings", job.num_rows_with_warning),
        ):
            if count:
                text = self._call(
                    "GET", f"/bulk/v1/leads/batch/{job.batch_id}/{kind}.json", raw=True
                )
                update[kind] = bulk.parse_report(text, format=format)
        return job.model_copy(update=update) if update else job

    # usage ----------------------------------------------------------------------------------
    def usage(self, *, last_7_days: bool = False) -> list[UsageDay]:
        """API calls per day as Marketo counts them (``stats/usage``)."""
        path = "/rest/v1/stats/usage/last7days.json" if last_7_days else "/rest/v1/stats/usage.json"
        return [UsageDay.model_validate(d) for d in self._call("GET", path).get("result") or []]

    @property
    def stats(self) -> ClientStats:
        """Calls made by this client: total, per path, retries, codes seen (606/615...)."""
        return self._stats

    def usage_errors(self, *, last_7_days: bool = False) -> list[UsageDay]:
        """Errors per day and code (``stats/errors``): ``UsageDay.errors`` items."""
        path = (
            "/rest/v1/stats/errors/last7days.json" if last_7_days else "/rest/v1/stats/errors.json"
        )
        return [UsageDay.model_validate(d) for d in self._call("GET", path).get("result") or []]


# ---------------------------------------------------------------------------- parsing


def _reasons(item: Mapping[str, Any]) -> tuple[Reason, ...]:
    return tuple(
        Reason(code=str(r.get("code")), message=str(r.get("message", "")))
        for r in item.get("reasons") or ()
    )


def _record_results(envelope: Mapping[str, Any], expected: int, *, what: str) -> list[RecordResult]:
    result = envelope.get("result") or []
    if len(result) != expected:
        raise MarketoError(
            f"{what}: Marketo returned {len(result)} results for {expected} records "
            f"(requestId {envelope.get('requestId')}); results cannot be matched to inputs"
        )
    return [
        RecordResult(status=RecordStatus(item["status"]), id=item.get("id"), reasons=_reasons(item))
        for item in result
    ]


def _member_results(
    envelope: Mapping[str, Any], ids: Sequence[int], *, what: str
) -> list[ListMemberResult]:
    result = envelope.get("result") or []
    by_id = {int(item["id"]): item for item in result if item.get("id") is not None}
    out = []
    for position, lead_id in enumerate(ids):
        # Match by id (Marketo echoes it on every row); fall back to position. # (U) order
        item = by_id.get(lead_id) or (result[position] if position < len(result) else None)
        if item is None:
            raise MarketoError(
                f"{what}: Marketo returned no result for lead id {lead_id} "
                f"(requestId {envelope.get('requestId')})"
            )
        out.append(
            ListMemberResult(
                id=lead_id, status=ListMemberStatus(item["status"]), reasons=_reasons(item)
            )
        )
    return out


def _import_job(envelope: Mapping[str, Any]) -> ImportJob:
    result = envelope.get("result") or []
    if not result:
        raise MarketoError(
            f"bulk import: no job in the answer (requestId {envelope.get('requestId')})"
        )
    item = dict(result[0])
    item.setdefault("status", ImportStatus.QUEUED.value)
    return ImportJob.model_validate(item)
