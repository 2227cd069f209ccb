"""The HTTP steps: **Request** (any HTTP API through httpx: auth, JSON/form/raw bodies,
pagination; hosts checked by the project's :class:`~paragon_nb.runtime.outbound.OutboundPolicy`),
**Integration Request** (``marketo.request``: any Marketo REST call through the user's
gateway, with its limiter and retries) and **Response** (what a Request-triggered workflow
answers). Their parameter models, output schemas and rows of
:data:`paragon_nb.runtime.steps.ACTIONS` (:data:`HTTP_ACTIONS`).

    - id: post
      action: request
      params: {url: "https://api.example.com/things", method: post, body: {email: "..."}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
from pydantic import BeforeValidator, Field

from paragon_nb.errors import StepError
from paragon_nb.runtime.events import OPEN_OBJECT
from paragon_nb.runtime.step_defs import INT, ActionDef, Params, StepEnv

__all__ = [
    "HTTP_ACTIONS",
    "IntegrationRequestParams",
    "Pagination",
    "RequestAuth",
    "RequestFailed",
    "RequestParams",
    "ResponseParams",
]


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


#: an HTTP method, in any case ("post" -> "POST")
Method = Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE"], BeforeValidator(_upper)]


class RequestAuth(Params):
    """``{type: bearer, token}`` or ``{type: basic, username, password}``."""

    type: Literal["bearer", "basic"]
    token: str | None = None
    username: str | None = None
    password: str | None = None


class Pagination(Params):
    """Follow pages: ``next`` is the path in the body to the next page's token (sent as
    query ``param``) or, without ``param``, to the next page's URL; ``items`` the path to
    the page's array (collected into ``items``); at most ``max_pages`` pages."""

    next: str
    items: str | None = None
    param: str | None = None
    max_pages: int = Field(default=10, ge=1, le=1000)


class RequestParams(Params):
    url: str
    method: Method = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, Any] = Field(default_factory=dict)
    body: Any = None  # JSON
    form: dict[str, Any] | None = None  # application/x-www-form-urlencoded
    raw: str | None = None  # sent as is (set content-type in headers)
    auth: RequestAuth | None = None
    pagination: Pagination | None = None
    timeout: float = Field(default=30.0, gt=0, le=300)


class IntegrationRequestParams(Params):
    path: str
    method: Method = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    body: Any = None


class ResponseParams(Params):
    status_code: int = Field(default=200, ge=100, le=599)
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)


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


_RESPONSE_SHAPE = {
    "type": "object",
    "properties": {"statusCode": INT, "headers": OPEN_OBJECT, "body": {}},
    "required": ["statusCode", "headers", "body"],
}
#: Request / Integration Request: Paragon's ``output.response.{statusCode, headers, body}``
#: (paginated Request steps add ``items`` and ``pages``)
_REQUEST_OUTPUT = {
    "type": "object",
    "properties": {
        "response": _RESPONSE_SHAPE,
        "items": {"type": "array", "items": {}},
        "pages": INT,
    },
    "required": ["response"],
}

HTTP_ACTIONS = (
    ActionDef("request", RequestParams, _REQUEST_OUTPUT, _run_request),
    ActionDef(
        "marketo.request", IntegrationRequestParams, _REQUEST_OUTPUT, _run_integration_request
    ),
    ActionDef(
        "response",
        ResponseParams,
        {
            "type": "object",
            "properties": {"statusCode": INT, "body": {}, "headers": OPEN_OBJECT},
            "required": ["statusCode"],
        },
        _run_response,
    ),
)
