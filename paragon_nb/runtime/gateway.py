"""The Marketo side of workflow steps: one :class:`MarketoGateway` per connected credential.

Steps never hold a ``MarketoClient``. Marketo writes are sent by the instance's dispatcher
(runtime.batcher) through :meth:`MarketoGateway.send`: one call carries the records of many
runs (<= 300) and each run gets its own answer back. Reads (get leads, get a list) call
the client directly. ``instance`` names the Marketo instance (endpoint + client id): every
credential on one instance shares its dispatcher and its limiter.

    gateway = MarketoGateway(client, instance="https://x.mktorest.com/rest#client-id")
    gateway.send("upsert", ("email", None), [{"email": "a@x.com"}])   # [RecordResult]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paragon_nb.errors import StepError
from paragon_nb.marketo.limits import Limiter

__all__ = [
    "MAX_BATCH",
    "ClientFactory",
    "MarketoCredentials",
    "MarketoGateway",
    "instance_of",
    "marketo_path",
]

#: Marketo's Lead Database batch size
MAX_BATCH = 300


@dataclass(frozen=True)
class MarketoCredentials:
    """What a user typed into the Connect Portal. The secret never shows in the repr."""

    endpoint: str
    client_id: str
    client_secret: str = field(repr=False)
    identity: str | None = None

    def __repr__(self) -> str:
        return (
            f"MarketoCredentials(endpoint={self.endpoint!r}, client_id={self.client_id!r}, "
            f"client_secret='***', identity={self.identity!r})"
        )


#: makes the Marketo client of a credential (tests route it to a sandbox)
ClientFactory = Callable[[MarketoCredentials], Any]


def instance_of(creds: MarketoCredentials) -> str:
    """The Marketo instance a credential calls: Marketo's limits are per instance."""
    return f"{creds.endpoint.rstrip('/')}#{creds.client_id}"


def marketo_path(path: str) -> str:
    """The path below the instance's origin for a proxy / Integration Request path.

    Paragon's examples give paths relative to the REST API (``leads.json``, ``v1/leads.json``);
    full ones work too: ``/rest/v1/leads.json``, ``/rest/asset/v1/folders.json``,
    ``/bulk/v1/leads/export.json``. # (U) Paragon's exact base for Marketo proxy paths.
    ValueError for paths that leave the API (``..``, the identity service)."""
    clean = "/" + path.strip().lstrip("/")
    if "://" in path or ".." in clean.split("/") or clean.startswith("/identity"):
        raise ValueError(f"{path!r} is not a Marketo REST path; use e.g. /v1/leads.json")
    if clean.startswith(("/rest/", "/bulk/")):
        return clean
    if clean.startswith(("/v1/", "/asset/")):
        return "/rest" + clean
    return "/rest/v1" + clean


class MarketoGateway:
    """The Marketo operations workflow steps use, for one credential (thread-safe)."""

    def __init__(self, client: Any, *, instance: str) -> None:
        self.client = client
        self.instance = instance
        self.limiter: Limiter = client.limiter  # one per instance: the dispatcher asks it

    def check(self) -> Any:
        return self.client.check()

    def send(self, op: str, call_key: Sequence[Any], payloads: Sequence[Any]) -> list[Any]:
        """One Marketo call (the client chunks beyond its limits) for many runs' payloads;
        returns one answer per payload, in order. ``op``: ``upsert`` (payloads are records,
        ``call_key`` is (lookup field, partition); answers are ``RecordResult``) or ``add`` /
        ``remove`` (payloads are lists of lead ids, ``call_key`` is (list id,); answers are
        each payload's ``ListMemberResult`` list)."""
        if op == "upsert":
            lookup_field, partition = call_key
            kwargs: dict[str, Any] = {"lookup_field": lookup_field}
            if partition is not None:
                kwargs["partition"] = partition
            results = list(self.client.sync_leads(list(payloads), **kwargs))
            if len(results) != len(payloads):
                raise RuntimeError(f"expected {len(payloads)} results, got {len(results)}")
            return results
        (list_id,) = call_key
        change = self.client.remove_from_list if op == "remove" else self.client.add_to_list
        ids = list(dict.fromkeys(int(i) for lead_ids in payloads for i in lead_ids))
        answers: dict[int, Any] = {}
        for answer in change(list_id, ids):
            answers.setdefault(int(answer.id), answer)
        return [[answers[int(i)] for i in lead_ids] for lead_ids in payloads]

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """Any Marketo REST call with this credential (the proxy, the Integration Request
        step; ``path`` as :func:`marketo_path` takes it), sent on the client's one path: this
        instance's limiter and budget, auth, retries (a write is never resent after an
        ambiguous failure). Returns ``{statusCode, headers, body}`` with Marketo's parsed
        JSON answer (or the text of a non-JSON one, e.g. a bulk file) as ``body``; raises
        the MarketoError of a failure (an error envelope included), StepError for a path
        that is not a Marketo REST path."""
        verb = method.upper()
        try:
            below = marketo_path(path)
        except ValueError as exc:
            raise StepError(str(exc)) from None
        text = self.client._call(
            verb,
            below,
            params=dict(params or {}) or None,
            json_body=body,
            idempotent=verb in ("GET", "HEAD", "PUT", "DELETE"),
            raw=True,
            what=f"{verb} {below}",
        )
        if isinstance(text, str) and text.lstrip().startswith(("{", "[")):
            text = json.loads(text)
        # (U) Http.call does not hand back the response's status and headers: a call that
        # returns at all was a 2xx with a successful envelope
        return {"statusCode": 200, "headers": {}, "body": text}

    def get_leads(
        self, filter_type: str, values: list[Any], *, fields: list[str] | None
    ) -> list[dict[str, Any]]:
        return list(self.client.get_leads(filter_type, values, fields=fields))

    def get_lead(self, lead_id: int, *, fields: list[str] | None) -> dict[str, Any] | None:
        return self.client.get_lead(lead_id, fields=fields)

    def list_members(self, list_id: int) -> list[dict[str, Any]]:
        """The leads in a static list (paged; each page a call through the limiter)."""
        return list(self.client.iter_list_members(list_id))

    def get_list(self, list_id: int) -> Any:
        return self.client.get_list(list_id)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
