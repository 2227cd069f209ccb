"""``Paragon``: a Python mirror of the browser SDK (``@useparagon/connect``), over REST.

It speaks the same ``/projects/{id}/sdk/...`` paths whether it talks to a local
:class:`~paragon_nb.runtime.project.Project` (in-process, through
``httpx.WSGITransport`` over :class:`~paragon_nb.runtime.server.RestApp`), to our server
(``base_url="http://127.0.0.1:port"``) or to Paragon's cloud
(``base_url="https://api.useparagon.com"``); so every mode runs the same code::

    paragon = Paragon(project)
    paragon.authenticate(project.id, token)
    paragon.install_integration("marketo", endpoint=..., client_id=..., client_secret=...)
    paragon.event("Lead Created", {"email": "ada@example.com"})
    paragon.request("marketo", "v1/leads.json?filterType=email&filterValues=ada@example.com")
    off = paragon.subscribe("onWorkflowChange", lambda event, user: print(event))

Errors: TokenInvalid/TokenExpired ("Failed to authenticate user with Paragon: ..."),
TokenInvalid on any later 401/403 (the user is logged out, as the SDK does),
NotFoundError on 404, EventValidationError on 422 (``.errors``), BackpressureError on 429
(``.retry_after``), ParagonRequestError
(``.status_code``) on other refusals, ProxyRequestError (``.response``) when a proxy call
fails, RuntimeStateError when the server cannot be reached.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from paragon_nb._clock import Clock, system_clock
from paragon_nb.errors import (
    BackpressureError,
    EventValidationError,
    NotFoundError,
    ParagonError,
    ParagonRequestError,
    ProxyRequestError,
    RuntimeStateError,
    TokenExpired,
    TokenInvalid,
)
from paragon_nb.runtime.sdk_events import Listener, Listeners, SdkEvent, callbacks_from_options
from paragon_nb.tokens import peek_user_token

__all__ = ["DEFAULT_BASE_URL", "LOCAL_BASE_URL", "Paragon"]

DEFAULT_BASE_URL = "https://api.useparagon.com"
#: Paragon's cloud serves the proxy on its own host (reference §1); other servers (ours,
#: an on-premise install pointed at by ``base_url``) on the same one unless ``proxy_url``
PROXY_BASE_URL = "https://proxy.useparagon.com"
LOCAL_BASE_URL = "http://paragon-nb.local"
SDK_VERSION = "2.4.0"  # the header value the real SDK sends (reference §1)
#: The entry-point group through which a skin offers the Connect Portal of an integration
#: type (``marketo = "paragon_nb.widgets.connect_portal:ConnectPortal"`` in pyproject.toml),
#: so the runtime never imports a skin by name.
PORTAL_GROUP = "paragon_nb.portals"


class Paragon:
    """The SDK mirror. Give a ``project`` (in-process) or a ``base_url`` (any server).

    ``proxy_url``: where :meth:`request` goes (default: ``base_url``; for Paragon's cloud
    ``https://proxy.useparagon.com``, its proxy host).

    ``transport`` overrides the httpx transport (tests); ``clock`` is used for the
    client-side ``exp`` check that ``authenticate`` performs, like the browser SDK.
    Raises ValueError when neither a project nor a base_url is given.
    """

    def __init__(
        self,
        project: Any = None,
        *,
        base_url: str | None = None,
        proxy_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if project is None and base_url is None:
            raise ValueError(
                "Paragon needs a local project (Paragon(project)) or a server URL "
                f"(Paragon(base_url={DEFAULT_BASE_URL!r}) or your `paragon-nb serve` URL)"
            )
        self.project = project
        if project is not None and transport is None and base_url is None:
            from paragon_nb.runtime.server import RestApp

            transport = httpx.WSGITransport(app=RestApp(project))
        self.base_url = (base_url or LOCAL_BASE_URL).rstrip("/")
        default_proxy = PROXY_BASE_URL if self.base_url == DEFAULT_BASE_URL else self.base_url
        self.proxy_url = (proxy_url or default_proxy).rstrip("/")
        self._clock = clock or system_clock
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={
                "Accept": "application/json",
                "X-Paragon-SDK-Version": SDK_VERSION,
            },
        )
        self._project_id: str | None = None
        self._token: str | None = None
        self._state: dict[str, Any] = {"authenticated": False}
        self._integrations: list[dict[str, Any]] = []
        self._listeners = Listeners()

    # ------------------------------------------------------------------------- plumbing

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        proxy: bool = False,
    ) -> Any:
        if self._token is None or self._project_id is None:
            raise TokenInvalid(
                "Connect SDK attempted to make an API request, but no user was authenticated; "
                "call paragon.authenticate(project_id, user_token) first"
            )
        base = self.proxy_url if proxy else self.base_url
        url = f"{base}/projects/{self._project_id}/sdk{path}"
        headers = {**(headers or {}), "Authorization": f"Bearer {self._token}"}
        try:
            response = self._http.request(method, url, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise RuntimeStateError(
                f"could not reach Paragon at {self.base_url} ({type(exc).__name__}); "
                "is the server running?"
            ) from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        if response.is_success:
            return body
        message = body.get("message") if isinstance(body, dict) else None
        if isinstance(message, list):  # validation errors: the SDK joins them
            message = "; ".join(str(m) for m in message)
        message = str(message or body or response.reason_phrase)
        status = response.status_code
        if proxy:  # the browser SDK re-fetches the user instead of logging out
            if status in (401, 403):
                self._refresh()
            raise ProxyRequestError(
                f"Paragon proxy answered {status}: {message}", status_code=status, response=body
            )
        if status in (401, 403):
            self.logout()  # what the browser SDK does on a 401/403
            raise TokenInvalid(message)
        if status == 404:
            raise NotFoundError(message)
        if status == 422 and isinstance(body, dict):
            raise EventValidationError(message, errors=body.get("errors") or [])
        if status == 429:
            retry_after = float(response.headers.get("Retry-After") or 1)
            raise BackpressureError(f"Paragon answered 429: {message}", retry_after=retry_after)
        raise ParagonRequestError(f"Paragon answered {status}: {message}", status_code=status)

    def _refresh(self) -> dict[str, Any]:
        state = self._request("GET", "/me")
        self._state = {**state, "authenticated": True}
        return self._state

    # ------------------------------------------------------------------------- session

    def authenticate(
        self, project_id: str, user_token: str, *, metadata: dict[str, Any] | None = None
    ) -> None:
        """Sign the user in: decode the JWT, check ``exp``, load ``/sdk/me``.

        Like the browser SDK it does not check the signature (the server does), and on
        any failure it logs out and raises "Failed to authenticate user with Paragon: ...".
        ``metadata``, if it differs from the stored meta, is saved with PATCH /sdk/me.
        """
        if not project_id or not user_token:
            raise ValueError("authenticate(project_id, user_token) needs both arguments")
        try:
            try:
                claims = peek_user_token(user_token)
            except TokenInvalid:
                raise TokenInvalid(
                    "A well-formed JWT was not provided; sign one with sign_user_token()"
                ) from None
            if not claims.get("sub") and not claims.get("id"):
                raise TokenInvalid("the JWT has no 'sub' claim (your user's id)")
            exp = claims.get("exp")
            if isinstance(exp, int | float) and exp <= self._clock.time():
                raise TokenExpired("JWT token provided has expired.")
            self._project_id, self._token = str(project_id), user_token
            self._refresh()
            self._integrations = self._request("GET", "/integrations") or []
            if metadata is not None and metadata != self._state.get("meta"):
                self._state = {**self._request("PATCH", "/me", json={"meta": metadata})}
                self._state["authenticated"] = True
        except ParagonError as exc:
            self.logout()
            raise _rewrap(exc, f"Failed to authenticate user with Paragon: {exc}") from None

    def logout(self) -> None:
        """Forget the token and the user's state."""
        self._token = None
        self._state = {"authenticated": False}
        self._integrations = []

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def get_user(self) -> dict[str, Any]:
        """A deep copy of the user's state (no token); ``{"authenticated": False}`` if none."""
        return copy.deepcopy(self._state)

    def refresh_user(self) -> dict[str, Any]:
        """Reload the user's state from ``GET /sdk/me`` and return a copy."""
        self._refresh()
        return self.get_user()

    def set_user_metadata(self, meta: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /sdk/me {meta}``; returns the new state."""
        self._request("PATCH", "/me", json={"meta": meta})
        return self.refresh_user()

    # ------------------------------------------------------------------------- SDK events

    def subscribe(self, event: str, listener: Listener) -> Callable[[], bool]:
        """Call ``listener(payload, user)`` on ``event`` (onIntegrationInstall,
        onIntegrationUninstall, onWorkflowChange, onPortalOpen, onPortalClose) for every
        integration; returns a function that unsubscribes (True if it was subscribed)."""
        return self._listeners.subscribe(event, listener)

    def unsubscribe(self, event: str, listener: Listener) -> bool:
        return self._listeners.unsubscribe(event, listener)

    def _integration_id(self, integration: str) -> str | None:
        for item in self._integrations:
            if item.get("type") == integration:
                return item.get("id")
        return None

    def _emit(self, event: SdkEvent, payload: dict[str, Any]) -> None:
        self._listeners.emit(event, payload, self.get_user())

    def _emit_install(self, event: SdkEvent, integration: str, credential_id: Any) -> None:
        self._emit(
            event,
            {
                "integrationId": self._integration_id(integration),
                "integrationType": integration,
                "credentialId": credential_id,
            },
        )

    def _emit_workflow(self, workflow_id: str, change: dict[str, Any]) -> None:
        self._emit(
            SdkEvent.WORKFLOW_CHANGE,
            {
                "integrationId": self._integration_id("marketo"),
                "workflowId": workflow_id,
                "workflowStateChange": change,
            },
        )

    def get_integrations(self) -> list[dict[str, Any]]:
        """The project's integrations with their deployed workflows (``GET /sdk/integrations``)."""
        self._integrations = self._request("GET", "/integrations") or []
        return copy.deepcopy(self._integrations)

    # ------------------------------------------------------------------------- events

    def event(
        self, name: str, payload: dict[str, Any], idempotency_key: str | None = None
    ) -> str | None:
        """Send an App Event (``POST /sdk/events/trigger``); returns the event id if given.

        ``idempotency_key`` (our extension, sent as the ``Idempotency-Key`` header): a retry
        with the same key within 24 h returns the first event's id and records nothing, so
        a retry after a lost answer is safe. BackpressureError (``.retry_after``) on a 429.
        """
        if not isinstance(payload, dict):
            raise ValueError(f"payload of App Event {name!r} must be a dict (a JSON object)")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        body = self._request(
            "POST", "/events/trigger", json={"name": name, "payload": payload}, headers=headers
        )
        return body.get("eventId") if isinstance(body, dict) else None

    def workflow(
        self,
        workflow_id: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Run a Request-triggered workflow (``POST /sdk/triggers/{workflowId}``) and return
        what its Response step answered (``{"executionId": ...}`` without one)."""
        if not workflow_id:
            raise ValueError("paragon.workflow needs the workflow id")
        path = f"/triggers/{quote(workflow_id, safe='')}"
        if query:
            path += "?" + urlencode(query)
        return self._request("POST", path, json=body or {}, headers=headers)

    # ------------------------------------------------------------------------- integrations

    def _marketo_state(self, integration: str) -> dict[str, Any]:
        if integration != "marketo":
            raise NotFoundError(
                f"integration {integration!r} is not in this project; configured: ['marketo']"
            )
        return self._state.get("integrations", {}).get("marketo", {})

    def install_integration(
        self,
        integration: str,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        identity: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Connect the user's Marketo with its four values (``POST /sdk/credentials``).

        Raises RuntimeStateError "already installed" unless ``replace``; the server
        validates the credentials. Returns the credential summary (no secret in it).
        """
        current = self._marketo_state(integration)
        if current.get("credentialId") and not replace:
            raise RuntimeStateError(
                f"Integration {integration} is already installed for this user; "
                "pass replace=True to reconnect or call uninstall_integration first"
            )
        body = {
            "integration": integration,
            "endpoint": endpoint,
            "clientId": client_id,
            "clientSecret": client_secret,
        }
        if identity is not None:
            body["identity"] = identity
        credential = self._request("POST", "/credentials", json=body)
        self._refresh()
        credential_id = self._marketo_state(integration).get("credentialId")
        self._emit_install(SdkEvent.INTEGRATION_INSTALL, integration, credential_id)
        return credential

    def uninstall_integration(self, integration: str) -> None:
        """Disconnect (``DELETE /sdk/integrations/{type}``): workflows off, settings cleared."""
        if not self._marketo_state(integration).get("credentialId"):
            self._refresh()
            if not self._marketo_state(integration).get("credentialId"):
                raise NotFoundError(f"Integration {integration} is not installed for this user")
        credential_id = self._marketo_state(integration).get("credentialId")
        self._request("DELETE", f"/integrations/{integration}")
        self._refresh()
        self._emit_install(SdkEvent.INTEGRATION_UNINSTALL, integration, credential_id)

    def update_workflow_settings(
        self, integration: str, workflow_id: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge ``settings`` into the workflow's user settings (PATCH the credential)."""
        marketo = self._marketo_state(integration)
        credential_id = marketo.get("credentialId")
        if not credential_id:
            raise NotFoundError(
                f"Integration {integration} is not installed for this user; "
                "call install_integration first"
            )
        current = marketo.get("workflowSettings", {}).get(workflow_id, {}).get("settings") or {}
        merged = {**current, **settings}
        config = {"workflowSettings": {workflow_id: {"settings": merged}}}
        self._request("PATCH", f"/credentials/{credential_id}", json={"config": config})
        state = self.refresh_user()
        self._emit_workflow(workflow_id, {"settings": merged})
        return state

    def update_integration_user_settings(
        self, integration: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge integration-level ("shared") settings, as the JS SDK's
        ``updateIntegrationUserSettings`` (PATCH the credential's ``sharedSettings``)."""
        marketo = self._marketo_state(integration)
        credential_id = marketo.get("credentialId")
        if not credential_id:
            raise NotFoundError(
                f"Integration {integration} is not installed for this user; "
                "call install_integration first"
            )
        merged = {**(marketo.get("sharedSettings") or {}), **settings}
        config = {"sharedSettings": merged}
        self._request("PATCH", f"/credentials/{credential_id}", json={"config": config})
        return self.refresh_user()

    def get_field_options(
        self, integration: str, action: str = "marketo_list", *, search: str | None = None
    ) -> list[dict[str, Any]]:
        """Options of a dynamic setting (``POST /sdk/actions``): for ``"marketo_list"`` the
        user's static lists as ``[{"label": name, "value": "<id>"}]``."""
        self._marketo_state(integration)
        body = {  # as the browser SDK sends it: action = the integration, sourceKey = the key
            "action": integration,
            "sourceKey": action,
            "parameters": [],
            "paginationParameters": {"pageCursor": 0, "search": search},
        }
        answer = self._request("POST", "/actions", json=body)
        return list(answer.get("output", [])) if isinstance(answer, dict) else []

    def request(
        self,
        integration: str,
        path: str,
        *,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call the integration's API with the user's credential through Paragon's proxy
        (``/sdk/proxy/{integration}/{path}``): for Marketo any REST path, e.g.
        ``"v1/leads.json?filterType=email&filterValues=a@x.com"`` or ``"/rest/v1/leads.json"``
        with ``method="POST", body={"input": [...]}``. Returns the provider's answer (the
        ``output`` of the proxy's reply; text when it is not JSON). Raises
        ProxyRequestError (``.status_code``, ``.response``) when the call fails; the user is
        not logged out on a 401/403 (as the browser SDK)."""
        if not path:
            raise ValueError(f"request({integration!r}, path): the path is empty")
        route = f"/proxy/{integration}/{path.lstrip('/')}"
        answer = self._request(method.upper(), route, json=body, headers=headers, proxy=True)
        if isinstance(answer, dict) and set(answer) == {"output"}:
            return answer["output"]
        return answer

    def enable_workflow(self, workflow_id: str) -> dict[str, Any]:
        """``POST /sdk/workflows/{id}``; ParagonRequestError (409) if already enabled."""
        self._request("POST", f"/workflows/{workflow_id}")
        state = self.refresh_user()
        self._emit_workflow(workflow_id, {"enabled": True})
        return state

    def disable_workflow(self, workflow_id: str) -> dict[str, Any]:
        """``DELETE /sdk/workflows/{id}``; ParagonRequestError (409) if it is not enabled."""
        self._request("DELETE", f"/workflows/{workflow_id}")
        state = self.refresh_user()
        self._emit_workflow(workflow_id, {"enabled": False})
        return state

    def connect(self, integration: str, **options: Any) -> Any:
        """The Connect Portal widget for ``integration`` and the authenticated user.

        ``options``: the portal's own (``credentials=``) and the JS SDK's callbacks, by their
        Python or JS names: ``on_success``/``onSuccess``, ``on_install``/``onInstall`` (called
        instead of onSuccess when given), ``on_uninstall``, ``on_workflow_change``,
        ``on_open``, ``on_close``; each gets ``(payload, user)``, and subscribers of
        :meth:`subscribe` hear the same events.

        Needs a local project (the portal calls it directly) and a portal registered in the
        ``paragon_nb.portals`` entry-point group (paragon_nb.widgets registers Marketo's);
        raises NotImplementedError otherwise (use install_integration/enable_workflow).
        """
        self._marketo_state(integration)
        if not self.authenticated:
            raise TokenInvalid("UserNotAuthenticatedError: call paragon.authenticate() first")
        portal = _portal_class(integration) if self.project is not None else None
        if portal is None:
            raise NotImplementedError(
                "the Connect Portal widget needs a local project (Paragon(project)) and "
                f"paragon_nb's widgets installed (entry point group {PORTAL_GROUP!r}); over "
                "base_url use install_integration() and enable_workflow() instead"
            )
        callbacks, rest = callbacks_from_options(options)

        def on_event(event: SdkEvent, payload: dict[str, Any], user: dict[str, Any]) -> None:
            if event in (SdkEvent.INTEGRATION_INSTALL, SdkEvent.INTEGRATION_UNINSTALL):
                self._refresh()  # the portal changed the user: keep get_user() current
            callback = callbacks.get(event)
            if callback is not None:
                callback(dict(payload), dict(user))
            self._listeners.emit(event, payload, user)

        return portal(self.project, user_id=self._state["userId"], on_event=on_event, **rest)

    # ------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Paragon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        who = self._state.get("userId") if self.authenticated else None
        where = f"project={self.project.id!r}" if self.project is not None else self.base_url
        return f"Paragon({where}, user={who!r})"


def _portal_class(integration: str) -> Any:
    """The Connect Portal class registered for ``integration`` (None if none is installed)."""
    for entry in entry_points(group=PORTAL_GROUP, name=integration):
        return entry.load()
    return None


def _rewrap(exc: ParagonError, message: str) -> ParagonError:
    """``exc``'s class with a new message (RuntimeStateError if that class needs more)."""
    try:
        return type(exc)(message)
    except TypeError:
        return RuntimeStateError(message)
