"""Handlers of the local REST API: one small function per Paragon route, over a Project.

Each handler gets the project and a verified :class:`~paragon_nb.runtime.http.Request`
(``req.sub`` is the Connected User id from the token) and returns ``(status, body)``.
Paths are relative to ``/projects/{id}/sdk`` (reference paragon-platform.md §3)::

    POST   /events/trigger                 {"name", "payload"} -> 201 {"eventId", "name"}
                                           (Idempotency-Key header: a repeat -> same 201)
    GET    /me   PATCH /me {"meta"}         the user's state (SDK ConnectUser shape)
    POST   /workflows/{wf}  DELETE ...      enable / disable a workflow for the user
    GET    /integrations                   the project's integrations and deployed workflows
    GET    /metadata                       [{type, name, brandColor, icon}]
    DELETE /integrations/{integration}     disconnect (settings cleared, workflows off)
    GET    /credentials  POST /credentials  list (?integration=) / connect Marketo (4 values)
    PATCH  /credentials/{credentialId}     {"config": {"workflowSettings": {wf: {...}},
                                                      "sharedSettings": {id: value}}}
    POST   /actions {"sourceKey": "marketo_list"}  options of a dynamic setting (the user's lists)
    POST   /triggers/{workflowId}          run a Request-triggered workflow -> its Response
                                           step's status and body, or 202 {"executionId"}
    ANY    /proxy/marketo/{path}           Marketo REST with the user's credential -> {"output"}
                                           (X-Paragon-Use-Raw-Response: 1 -> Marketo's body)

The Task History API (:data:`API_KEY_ROUTES`, relative to ``/projects/{id}``, authenticated
by a project API key, never a user token; :mod:`~paragon_nb.runtime.task_history`)::

    GET    /task-history/workflow-executions          ?userId workflowId status beforeDate
                                                       afterDate integration offset
    GET    /task-history/workflow-executions/{ex}     one, with stepExecutions
    GET    .../{ex}/step-executions[/{stepEx}]        its step executions (one: input/output)
    POST   .../{ex}/replay                            201 {"executionId": <the new run>}

1,000 requests per 10 minutes (429 with Retry-After beyond), as Paragon limits it.

The shapes are the ones ``@useparagon/connect`` 2.4.0 reads (:mod:`.connect_shapes`). The
``X-Paragon-Credential`` / ``X-Paragon-Configuration-Id`` headers the SDK sends must name
the user's credential / its configuration (404 otherwise); each user has one of each.
"""

from __future__ import annotations

import json
import re
from typing import Any

from paragon_nb.errors import MarketoError, QuotaExceeded, StepError, TransientMarketoError
from paragon_nb.runtime import connect_shapes as shapes
from paragon_nb.runtime.api import Connection, UserState
from paragon_nb.runtime.connect_shapes import INTEGRATION, integration_id
from paragon_nb.runtime.http import HTTPError, RawResponse, Request
from paragon_nb.runtime.routes_history import API_KEY_ROUTES

__all__ = ["API_KEY_ROUTES", "IDEMPOTENCY_HEADER", "ROUTES"]

_MARKETO_FIELDS = {  # REST body key -> connect_user keyword
    "endpoint": "endpoint",
    "identity": "identity",
    "clientId": "client_id",
    "clientSecret": "client_secret",
}


def _user(project: Any, req: Request) -> UserState:
    """The user's state, after checking the selection headers."""
    state: UserState = project.user_state(req.sub)
    _check_selection(state, req)
    return state


_SELECTION_HEADERS = frozenset({"x-paragon-credential", "x-paragon-configuration-id"})


def _check_selection(state: UserState, req: Request) -> None:
    """``X-Paragon-Credential`` / ``X-Paragon-Configuration-Id`` must name the user's own."""
    cred_id = state.connection.credential_id if state.connection is not None else None
    wanted = req.headers.get("x-paragon-credential")
    if wanted and wanted != cred_id:
        raise HTTPError(
            404,
            f"credential {wanted!r} (X-Paragon-Credential) is not connected for user "
            f"{req.sub!r}; GET /sdk/me lists the user's credentials",
        )
    config = req.headers.get("x-paragon-configuration-id")
    if config and (cred_id is None or config != shapes.configuration_id(cred_id)):
        raise HTTPError(
            404,
            f"configuration {config!r} (X-Paragon-Configuration-Id) is not one of user "
            f"{req.sub!r}'s; each credential has one default configuration",
        )


def _require_connected(state: UserState, sub: str) -> Connection:
    if state.connection is None:
        raise HTTPError(
            404,
            f"integration {INTEGRATION!r} is not installed for user {sub!r}; "
            "connect it first (POST /sdk/credentials or paragon.install_integration)",
        )
    return state.connection


# --------------------------------------------------------------------------- events


def trigger_event(project: Any, req: Request) -> tuple[int, Any]:
    body = req.json_object()
    name = body.get("name")
    if name is None:
        raise HTTPError(400, 'missing \'name\': send {"name": <App Event name>, "payload": {}}')
    if not isinstance(name, str) or not name.strip():
        raise HTTPError(400, f"'name' must be a non-empty string, got {json.dumps(name)[:80]}")
    if "payload" not in body:  # (U) Paragon's answer to a missing payload is undocumented
        raise HTTPError(400, f"missing 'payload' for App Event {name!r}: send a JSON object")
    payload = body["payload"]
    if not isinstance(payload, dict):
        raise HTTPError(
            400,
            f"'payload' of App Event {name!r} must be a JSON object, "
            f"got {type(payload).__name__ if payload is not None else 'null'}",
        )
    if _SELECTION_HEADERS & req.headers.keys():  # a selection must name the user's own
        _user(project, req)
    receipt = project.trigger_event(req.sub, name, payload, idempotency_key=_idempotency_key(req))
    # (U) Paragon's 201 body is undocumented (the SDK ignores it); we return the event id.
    # A repeat of an Idempotency-Key gets the same body (the first event's id).
    return 201, {"eventId": receipt.event_id, "name": receipt.name}


#: our extension (Paragon documents no idempotency): the header Stripe and the IETF draft
#: (draft-ietf-httpapi-idempotency-key-header) use; 1-255 visible ASCII characters.
IDEMPOTENCY_HEADER = "idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _idempotency_key(req: Request) -> str | None:
    key = req.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not _KEY.match(key):
        raise HTTPError(
            400,
            f"Idempotency-Key must be 1-255 visible ASCII characters (e.g. a UUID), got "
            f"{json.dumps(key[:40])}",
        )
    return key


# --------------------------------------------------------------------------- the user


def get_me(project: Any, req: Request) -> tuple[int, Any]:
    return 200, shapes.user_state(project, _user(project, req))


def patch_me(project: Any, req: Request) -> tuple[int, Any]:
    body = req.json_object()
    meta = body.get("meta")
    if not isinstance(meta, dict):
        raise HTTPError(400, "send {\"meta\": {...}}: 'meta' must be a JSON object")
    _user(project, req)
    return 200, shapes.user_state(project, project.set_user_meta(req.sub, meta))


def _workflow_id(project: Any, workflow: str) -> str:
    """The id of a workflow given by id or name (NotFoundError -> 404 names the known ones)."""
    return str(project.workflow(workflow).id)


def enable_workflow(project: Any, req: Request) -> tuple[int, Any]:
    workflow = _workflow_id(project, req.params["workflow"])
    if _user(project, req).workflow(workflow).enabled:
        # (U) the SDK throws "already enabled"; the server's status for it is undocumented
        raise HTTPError(409, f"Workflow {workflow} is already enabled.")
    project.enable_workflow(req.sub, workflow)
    return 200, {"workflowId": workflow, "enabled": True}


def disable_workflow(project: Any, req: Request) -> tuple[int, Any]:
    workflow = _workflow_id(project, req.params["workflow"])
    if not _user(project, req).workflow(workflow).enabled:
        raise HTTPError(
            409, f"Workflow {workflow} cannot be disabled: it is not enabled for this user."
        )
    project.disable_workflow(req.sub, workflow)
    return 200, {"workflowId": workflow, "enabled": False}


# --------------------------------------------------------------------------- integrations


def get_integrations(project: Any, req: Request) -> tuple[int, Any]:
    connected = _user(project, req).connected
    return 200, [shapes.integration(project, has_credential=connected)]


def get_metadata(project: Any, req: Request) -> tuple[int, Any]:
    return 200, shapes.metadata(project)


def delete_integration(project: Any, req: Request) -> tuple[int, Any]:
    which = req.params["integration"]
    if which not in (INTEGRATION, integration_id(project)):
        raise HTTPError(404, f"unknown integration {which!r}; this project has {INTEGRATION!r}")
    _require_connected(_user(project, req), req.sub)
    project.disconnect_user(req.sub, INTEGRATION)
    return 200, {"integration": INTEGRATION, "uninstalled": True}


# --------------------------------------------------------------------------- credentials


def get_credentials(project: Any, req: Request) -> tuple[int, Any]:
    """The user's credentials (``?integration=marketo`` filters; another type lists none).
    ``includeAccountAuth`` is ignored: a Marketo credential's secret is never sent back."""
    state = _user(project, req)
    which = req.query.get("integration")
    if which not in (None, "", INTEGRATION, integration_id(project)) or not state.connected:
        return 200, []
    return 200, [shapes.credential(project, state)]


def post_credentials(project: Any, req: Request) -> tuple[int, Any]:
    # (U) Paragon collects Marketo's four values in its portal; this body shape is ours.
    body = req.json_object()
    integration = body.get("integration", INTEGRATION)
    if integration != INTEGRATION:
        raise HTTPError(400, f"unknown integration {integration!r}; only 'marketo' is available")
    values = body.get("credentials", body)
    if not isinstance(values, dict):
        raise HTTPError(400, "'credentials' must be a JSON object")
    kwargs: dict[str, Any] = {}
    for key, keyword in _MARKETO_FIELDS.items():
        value = values.get(key, values.get(keyword))
        if value is None and key != "identity":
            raise HTTPError(400, f"missing {key!r}: Marketo needs endpoint, clientId, clientSecret")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise HTTPError(400, f"{key!r} must be a non-empty string")
        kwargs[keyword] = value
    state = project.connect_user(req.sub, INTEGRATION, **kwargs)
    _check_selection(state, req)
    return 201, shapes.credential(project, state)


def patch_credential(project: Any, req: Request) -> tuple[int, Any]:
    state = _user(project, req)
    connection = _require_connected(state, req.sub)
    if req.params["credential"] != connection.credential_id:
        raise HTTPError(404, f"unknown credential {req.params['credential']!r} for this user")
    body = req.json_object()
    config = body.get("config")
    if not isinstance(config, dict):
        raise HTTPError(400, 'send {"config": {"workflowSettings": {...}}}')
    shared = config.get("sharedSettings")
    if shared is not None:  # integration-level settings (runtime.shared_settings)
        if not isinstance(shared, dict):
            raise HTTPError(400, "'sharedSettings' must map setting ids to values")
        if shared:
            project.set_shared_settings(req.sub, shared)
    settings = config.get("workflowSettings", config.get("configuredWorkflows", {}))
    if not isinstance(settings, dict):
        raise HTTPError(400, "'workflowSettings' must map workflow ids to {enabled, settings}")
    for key, entry in settings.items():
        workflow = _workflow_id(project, key)
        if not isinstance(entry, dict):
            raise HTTPError(400, f"workflowSettings[{key!r}] must be an object")
        if "settings" in entry:
            if not isinstance(entry["settings"], dict):
                raise HTTPError(400, f"workflowSettings[{key!r}].settings must be an object")
            project.set_workflow_settings(req.sub, workflow, entry["settings"])
        if "enabled" in entry:
            was = state.workflow(workflow).enabled
            if bool(entry["enabled"]) and not was:
                project.enable_workflow(req.sub, workflow)
            elif was and not entry["enabled"]:
                project.disable_workflow(req.sub, workflow)
    return 200, shapes.credential(project, project.user_state(req.sub))


# --------------------------------------------------------------------------- field options

_LIST_ACTIONS = ("marketo_list", "marketo.lists", "MARKETO_LIST")


def post_actions(project: Any, req: Request) -> tuple[int, Any]:
    """Options of a dynamic user setting, like the SDK's ``getFieldOptions``.

    # (U) Paragon's action/source keys for the Marketo "List" setting are not public; we
    # accept "marketo_list" (our setting type) and answer the user's static lists.
    """
    body = req.json_object()
    # the SDK sends {action: <integration type>, sourceKey: <the options' key>}
    action = body.get("sourceKey") or body.get("action")
    if action not in _LIST_ACTIONS:
        raise HTTPError(400, f"unknown action {action!r}; available: {list(_LIST_ACTIONS[:1])}")
    _require_connected(_user(project, req), req.sub)
    paging = body.get("paginationParameters") or {}
    search = str(paging.get("search") or body.get("search") or "").strip().lower()
    client = project.marketo_client(req.sub)
    options = [
        {"label": item.name, "value": str(item.id)}
        for item in client.iter_static_lists()
        if not search or search in item.name.lower()
    ]
    return 200, {"output": options, "nextPageCursor": None}


# --------------------------------------------------------------------------- proxy

RAW_HEADER = "x-paragon-use-raw-response"


def proxy(project: Any, req: Request) -> tuple[int, Any]:
    """``/proxy/marketo/{path}``: the call with the user's credential, through the same
    client, limiter and retries as their workflow steps; ``{"output": <Marketo's answer>}``,
    or Marketo's body itself with ``X-Paragon-Use-Raw-Response: 1``. A Marketo refusal
    answers its HTTP status (or 400 for an error inside a 200 envelope; 429 when the daily
    quota is spent; 502 when Marketo did not answer usefully) with ``{"message", "code"}``."""
    which = req.params["integration"]
    if which not in (INTEGRATION, integration_id(project)):
        raise HTTPError(404, f"unknown integration {which!r}; this project has {INTEGRATION!r}")
    _require_connected(_user(project, req), req.sub)
    body = req.json() if req.body.strip() else None
    try:
        answer = project.marketo_request(
            req.sub, req.method, req.params["path"] or "/", params=req.query, body=body
        )
    except ValueError as exc:
        raise HTTPError(400, str(exc)) from None
    except StepError as exc:  # no VALID credential: the user must reconnect
        raise HTTPError(400, str(exc)) from None
    except TransientMarketoError as exc:
        raise HTTPError(502, f"Marketo did not answer usefully: {exc}", code=exc.code) from None
    except QuotaExceeded as exc:  # the instance's daily budget (shared with every run)
        raise HTTPError(429, str(exc), code=exc.code or "607") from None
    except MarketoError as exc:
        status = exc.http_status if exc.http_status and exc.http_status >= 400 else 400
        raise HTTPError(status, str(exc), code=exc.code) from None
    if req.headers.get(RAW_HEADER, "").strip().lower() in ("1", "true"):
        if isinstance(answer, str):
            return 200, RawResponse(answer.encode(), "text/plain; charset=utf-8")
        return 200, answer
    return 200, {"output": answer}


_PROXY_METHODS = dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), proxy)

# --------------------------------------------------------------------------- Request triggers
# (flow, issue 14: kept in this one block)


def trigger_workflow(project: Any, req: Request) -> tuple[int, Any]:
    """``POST /sdk/triggers/{workflowId}``: run a Request-triggered workflow; its JSON body,
    query and headers become ``request.body/query/headers``. Answers the Response step's
    status and body, or 202 ``{executionId}`` (runtime.triggers)."""
    body = req.json() if req.body.strip() else {}
    if not isinstance(body, dict):
        raise HTTPError(400, f"the body must be a JSON object, got {type(body).__name__}")
    answer = project.trigger_workflow(
        req.sub, req.params["workflow"], body=body, query=req.query, headers=req.headers
    )
    return answer.status, answer.body


# (pattern relative to /sdk, {method: handler}); first match wins.
ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/events/trigger", {"POST": trigger_event}),
    ("/me", {"GET": get_me, "PATCH": patch_me}),
    ("/workflows/(?P<workflow>[^/]+)", {"POST": enable_workflow, "DELETE": disable_workflow}),
    ("/integrations", {"GET": get_integrations}),
    ("/metadata", {"GET": get_metadata}),
    ("/integrations/(?P<integration>[^/]+)", {"DELETE": delete_integration}),
    ("/credentials", {"GET": get_credentials, "POST": post_credentials}),
    ("/credentials/(?P<credential>[^/]+)", {"PATCH": patch_credential}),
    ("/actions", {"POST": post_actions}),
    ("/proxy/(?P<integration>[^/]+)(?P<path>/.*)?", _PROXY_METHODS),
    ("/triggers/(?P<workflow>[^/]+)", {"POST": trigger_workflow}),
]
