"""Workflow step actions: their parameters, declared output shapes and what they do.

Each action in :data:`ACTIONS` declares a pydantic parameter model (checked after rendering,
so a bad value fails that step with a clear message), an output schema (the same JSON Schema
subset as App Events, used by the deploy-time reference check) and a function that runs it.

Marketo writes (upsert, list add/remove) declare a :class:`BatchOp`: the engine queues the
run's record and the instance's dispatcher (runtime.batcher) sends it in a batch with other
runs' records, then ``finish`` turns this run's own answer into the step output. Reads call
the user's :class:`~paragon_nb.runtime.gateway.MarketoGateway` directly.

The ``condition`` step's operators live in :mod:`paragon_nb.runtime.conditions` (re-exported
here).

    env = StepEnv(gateway_factory=lambda: gateway)
    out = ACTIONS["marketo.create_or_update_lead"].run({"fields": {"email": "a@x.com"}}, env)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from paragon_nb.errors import StepError
from paragon_nb.runtime.conditions import CONDITION_OPS, UNARY_OPS, evaluate_condition
from paragon_nb.runtime.events import OPEN_OBJECT, validate_example
from paragon_nb.runtime.field_mapping import apply_field_mapping
from paragon_nb.runtime.gateway import MarketoCredentials, MarketoGateway
from paragon_nb.runtime.outbound import OutboundPolicy

__all__ = [
    "ACTIONS",
    "CONDITION_OPS",
    "ActionDef",
    "BatchOp",
    "MarketoCredentials",
    "MarketoGateway",
    "UNARY_OPS",
    "StepEnv",
    "evaluate_condition",
    "to_jsonable",
]


@dataclass
class StepEnv:
    """What a running step may use: the user's gateway (lazy), registered functions and the
    outbound policy of Request steps."""

    gateway_factory: Callable[[], MarketoGateway] | None = None
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)

    def gateway(self) -> MarketoGateway:
        if self.gateway_factory is None:
            raise StepError("this run has no Marketo credential; connect the user to Marketo")
        return self.gateway_factory()


# ---------------------------------------------------------------------------- parameters


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any, *, split: bool = False) -> Any:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if split and isinstance(value, str) and "," in value:  # ActionKit style ids: "1,2,3"
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


class FieldsFrom(_Params):
    """Lead fields taken through a Field Mapping setting: ``mapping`` is the setting
    (``"{{settings.lead_fields}}"``), ``record`` the app object it maps (``"{{event}}"``)."""

    mapping: Any
    record: Any


class CreateOrUpdateLeadParams(_Params):
    fields: dict[str, Any] = {}
    fields_from: FieldsFrom | None = None
    lookup_field: str = "email"
    partition: str | None = None

    @model_validator(mode="after")
    def _map_fields(self) -> CreateOrUpdateLeadParams:
        """``fields_from`` (a user's Field Mapping) first; ``fields`` given alongside win."""
        if self.fields_from is not None:
            mapped = apply_field_mapping(self.fields_from.mapping, self.fields_from.record)
            self.fields = {**mapped, **self.fields}
            self.fields_from = None
        if not self.fields:
            raise ValueError("no lead fields: give 'fields' or 'fields_from' (a field mapping)")
        return self


class ListLeadsParams(_Params):
    list_id: int
    lead_ids: list[int]

    @field_validator("lead_ids", mode="before")
    @classmethod
    def _wrap_ids(cls, value: Any) -> Any:
        return _as_list(value, split=True)


class GetLeadsParams(_Params):
    filter_type: str = "email"
    values: list[Any]
    fields: list[str] | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _wrap_values(cls, value: Any) -> Any:
        return _as_list(value)


class GetLeadByIdParams(_Params):
    lead_id: int
    fields: list[str] | None = None


class PythonParams(_Params):
    function: str
    input: dict[str, Any] = {}


_METHOD = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class RequestAuth(_Params):
    """``{type: bearer, token}`` or ``{type: basic, username, password}``."""

    type: Literal["bearer", "basic"]
    token: str | None = None
    username: str | None = None
    password: str | None = None


class Pagination(_Params):
    """Follow pages: ``next`` is the path in the body to the next page's token (sent as
    query ``param``) or, without ``param``, to the next page's URL; ``items`` the path to
    the page's array (collected into ``items``); at most ``max_pages`` pages."""

    next: str
    items: str | None = None
    param: str | None = None
    max_pages: int = Field(default=10, ge=1, le=1000)


class RequestParams(_Params):
    url: str
    method: _METHOD = "GET"
    params: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    body: Any = None  # JSON
    form: dict[str, Any] | None = None  # application/x-www-form-urlencoded
    raw: str | None = None  # sent as is (set content-type in headers)
    auth: RequestAuth | None = None
    pagination: Pagination | None = None
    timeout: float = Field(default=30.0, gt=0, le=300)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return _upper(value)


class IntegrationRequestParams(_Params):
    path: str
    method: _METHOD = "GET"
    params: dict[str, Any] = {}
    body: Any = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return _upper(value)


class ResponseParams(_Params):
    status_code: int = Field(default=200, ge=100, le=599)
    body: Any = None
    headers: dict[str, str] = {}


def _dig(value: Any, path: str | None) -> Any:
    """``value`` at a dotted ``path`` (``data.items``; digits index lists); None if absent."""
    if not path:
        return value
    for seg in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(seg)
        elif isinstance(value, list) and seg.isdigit() and int(seg) < len(value):
            value = value[int(seg)]
        else:
            return None
    return value


def _response(resp: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = resp.json()
    except ValueError:
        body = resp.text
    return {"statusCode": resp.status_code, "headers": dict(resp.headers), "body": body}


class RequestFailed(StepError):
    """A Request step got a 4xx/5xx answer: ``code`` is the status (the step's
    ``error.code`` with ``continue_on_failure``)."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


def _run_request(params: RequestParams, env: StepEnv) -> dict[str, Any]:
    env.outbound.check(params.url)
    auth: Any = None
    headers = {k: str(v) for k, v in params.headers.items()}
    if params.auth is not None:
        if params.auth.type == "bearer":
            headers["Authorization"] = f"Bearer {params.auth.token or ''}"
        else:
            auth = httpx.BasicAuth(params.auth.username or "", params.auth.password or "")
    kwargs: dict[str, Any] = {"headers": headers, "auth": auth}
    if params.raw is not None:
        kwargs["content"] = params.raw
    elif params.form is not None:
        kwargs["data"] = params.form
    elif params.body is not None:
        kwargs["json"] = params.body
    url, query = params.url, dict(params.params)
    pages, items = 0, []
    with env.outbound.client(params.timeout) as client:
        while True:
            try:
                resp = client.request(params.method, url, params=query, **kwargs)
            except httpx.HTTPError as exc:
                raise StepError(
                    f"{params.method} {url} failed: {type(exc).__name__}: {exc}"
                ) from None
            pages += 1
            out = _response(resp)
            if resp.status_code >= 400:
                raise RequestFailed(
                    f"{params.method} {url} answered {resp.status_code}: {str(out['body'])[:200]}",
                    code=resp.status_code,
                )
            page = params.pagination
            if page is None:
                return {"response": out}
            found = _dig(out["body"], page.items)
            items.extend(found if isinstance(found, list) else [] if found is None else [found])
            token = _dig(out["body"], page.next)
            if token in (None, "", False) or pages >= page.max_pages:
                return {"response": out, "items": items, "pages": pages}
            if page.param is None:
                url = env.outbound.check(str(token))
                query = {}
            else:
                query = {**params.params, page.param: token}


def _run_integration_request(params: IntegrationRequestParams, env: StepEnv) -> dict[str, Any]:
    return {"response": env.gateway().request(params.method, params.path, params=params.params,
                                              body=params.body)}  # fmt: skip


def _run_response(params: ResponseParams, _env: StepEnv) -> dict[str, Any]:
    return {"statusCode": params.status_code, "body": params.body, "headers": params.headers}


# ---------------------------------------------------------------------------- outputs

_INT = {"type": "integer"}
_STR = {"type": "string"}
_MEMBER = {
    "type": "object",
    "properties": {"id": _INT, "status": _STR, "reasons": {"type": "array", "items": OPEN_OBJECT}},
    "required": ["id", "status", "reasons"],
}


_RESPONSE_SHAPE = {
    "type": "object",
    "properties": {"statusCode": _INT, "headers": OPEN_OBJECT, "body": {}},
    "required": ["statusCode", "headers", "body"],
}
#: Request / Integration Request: Paragon's ``output.response.{statusCode, headers, body}``
#: (paginated Request steps add ``items`` and ``pages``)
_REQUEST_OUTPUT = {
    "type": "object",
    "properties": {
        "response": _RESPONSE_SHAPE,
        "items": {"type": "array", "items": {}},
        "pages": _INT,
    },
    "required": ["response"],
}


def _list_output(count_key: str) -> dict[str, Any]:
    props = {
        "list_id": _INT,
        "lead_ids": {"type": "array", "items": _INT},
        "results": {"type": "array", "items": _MEMBER},
        count_key: _INT,
        "skipped": _INT,
    }
    return {"type": "object", "properties": props, "required": list(props)}


def _reasons(result: Any) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message} for r in getattr(result, "reasons", ())]


def _upsert_key(params: CreateOrUpdateLeadParams) -> tuple[Any, ...]:
    if not params.fields:
        raise StepError("marketo.create_or_update_lead needs at least one field")
    return (params.lookup_field, params.partition)


def _finish_upsert(_key: tuple[Any, ...], _record: Any, result: Any) -> dict[str, Any]:
    status = str(getattr(result.status, "value", result.status))
    if result.id is None or status == "skipped":
        reasons = "; ".join(f"[{r['code']}] {r['message']}" for r in _reasons(result)) or "none"
        raise StepError(f"Marketo skipped the lead (reasons: {reasons})")
    return {"id": result.id, "status": status}


def _list_key(params: ListLeadsParams) -> tuple[Any, ...]:
    if not params.lead_ids:
        raise StepError("no lead ids to change: lead_ids rendered to an empty list")
    return (params.list_id,)


def _finish_list_change(
    key: tuple[Any, ...], lead_ids: list[int], answers: Any, *, done_status: str
) -> dict[str, Any]:
    (list_id,) = key
    results = [
        {"id": a.id, "status": str(getattr(a.status, "value", a.status)), "reasons": _reasons(a)}
        for a in answers
    ]
    done = sum(1 for r in results if r["status"] == done_status)
    skipped = len(results) - done
    # (U) Paragon's output shape is unknown; we fail only when nothing changed and Marketo
    # gave reasons, so an already-member lead (idempotent replays) is not an error.
    if done == 0 and any(r["reasons"] for r in results):
        reasons = "; ".join(
            f"lead {r['id']}: [{x['code']}] {x['message']}" for r in results for x in r["reasons"]
        )
        raise StepError(f"Marketo skipped every lead for list {list_id}: {reasons}")
    return {
        "list_id": list_id,
        "lead_ids": lead_ids,
        "results": results,
        done_status: done,
        "skipped": skipped,
    }


def _run_get_leads(params: GetLeadsParams, env: StepEnv) -> dict[str, Any]:
    leads = env.gateway().get_leads(params.filter_type, params.values, fields=params.fields)
    return {"leads": leads, "count": len(leads)}


def _run_get_lead(params: GetLeadByIdParams, env: StepEnv) -> dict[str, Any]:
    lead = env.gateway().get_lead(params.lead_id, fields=params.fields)
    return {"lead": lead, "found": lead is not None}


def _run_python(params: PythonParams, env: StepEnv) -> dict[str, Any]:
    fn = env.functions.get(params.function)
    if fn is None:
        known = ", ".join(sorted(env.functions)) or "none"
        raise StepError(
            f"python function {params.function!r} is not registered (registered: {known}); "
            "call project.register_function(name, fn) after opening the project"
        )
    value = fn(**params.input)
    try:
        checked = validate_example({"result": value}, name="the function's return value")
    except Exception as exc:
        raise StepError(f"python function {params.function!r} returned {exc}") from None
    return checked


@dataclass(frozen=True)
class BatchOp:
    """How a Marketo action shares calls with other runs: ``op`` (``upsert``, ``add``,
    ``remove``: see :meth:`MarketoGateway.send`), the ``key`` records must share to go in one
    call, the JSON ``payload`` this run contributes, and ``finish(key, payload, answer)``
    turning this run's own answer into the step output (or a StepError, e.g. Marketo
    skipped the record)."""

    op: str
    key: Callable[[Any], tuple[Any, ...]]
    payload: Callable[[Any], Any]
    finish: Callable[[tuple[Any, ...], Any, Any], dict[str, Any]]

    def run(self, params: Any, env: StepEnv) -> dict[str, Any]:
        """Send this one run's payload alone (no other run shares the call)."""
        key, payload = self.key(params), self.payload(params)
        answers = env.gateway().send(self.op, key, [payload])
        return self.finish(key, payload, answers[0])


@dataclass(frozen=True)
class ActionDef:
    """One action: ``params`` model, ``output`` schema, and ``run(params_model, env)``;
    Marketo writes also have a ``batch`` (the engine queues them and sends them in batches)."""

    name: str
    params: type[_Params]
    output: dict[str, Any]
    execute: Callable[[Any, StepEnv], dict[str, Any]] | None = None
    batch: BatchOp | None = None

    def validate(self, rendered: Mapping[str, Any]) -> _Params:
        """Check rendered parameters; StepError listing every problem."""
        try:
            return self.params.model_validate(dict(rendered))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
            )
            raise StepError(f"bad parameters for {self.name}: {problems}") from None

    def run(self, rendered: Mapping[str, Any], env: StepEnv) -> dict[str, Any]:
        params = self.validate(rendered)
        if self.batch is not None:
            return self.batch.run(params, env)
        assert self.execute is not None
        return self.execute(params, env)

    @property
    def param_names(self) -> set[str]:
        return set(self.params.model_fields)

    @property
    def required_params(self) -> set[str]:
        return {n for n, f in self.params.model_fields.items() if f.is_required()}


def _list_action(name: str, op: str, done_status: str) -> ActionDef:
    """A static-list membership change (``op`` "add"/"remove"), batched per list."""
    return ActionDef(
        name,
        ListLeadsParams,
        _list_output(done_status),
        batch=BatchOp(
            op,
            _list_key,
            lambda p: list(p.lead_ids),
            lambda k, ids, a: _finish_list_change(k, ids, a, done_status=done_status),
        ),
    )


ACTIONS: dict[str, ActionDef] = {
    a.name: a
    for a in (
        ActionDef(
            "marketo.create_or_update_lead",
            CreateOrUpdateLeadParams,
            {"type": "object", "properties": {"id": _INT, "status": _STR}, "required": ["id"]},
            batch=BatchOp("upsert", _upsert_key, lambda p: dict(p.fields), _finish_upsert),
        ),
        _list_action("marketo.add_leads_to_list", "add", "added"),
        _list_action("marketo.remove_leads_from_list", "remove", "removed"),
        ActionDef(
            "marketo.get_leads",
            GetLeadsParams,
            {
                "type": "object",
                "properties": {"leads": {"type": "array", "items": OPEN_OBJECT}, "count": _INT},
                "required": ["leads", "count"],
            },
            _run_get_leads,
        ),
        ActionDef(
            "marketo.get_lead_by_id",
            GetLeadByIdParams,
            {
                "type": "object",
                "properties": {"lead": OPEN_OBJECT, "found": {"type": "boolean"}},
                "required": ["lead", "found"],
            },
            _run_get_lead,
        ),
        ActionDef("request", RequestParams, _REQUEST_OUTPUT, _run_request),
        ActionDef(
            "marketo.request", IntegrationRequestParams, _REQUEST_OUTPUT, _run_integration_request
        ),
        ActionDef(
            "response",
            ResponseParams,
            {
                "type": "object",
                "properties": {"statusCode": _INT, "body": {}, "headers": OPEN_OBJECT},
                "required": ["statusCode"],
            },
            _run_response,
        ),
        ActionDef(
            "python",
            PythonParams,
            {"type": "object", "properties": {"result": {}}, "required": ["result"]},
            _run_python,
        ),
    )
}


def to_jsonable(value: Any) -> Any:
    """A JSON round trip (pydantic models and enums become plain values)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if hasattr(value, "value"):
        return value.value
    return str(value)
