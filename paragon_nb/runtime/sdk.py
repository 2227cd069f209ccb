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

This module owns the session (authenticate, the user's state, logout), App Events and
Request triggers, the SDK event subscriptions and the Connect Portal entry; the user's
integration calls are :mod:`.sdk_integrations` (inherited), the HTTP side and its errors
:mod:`.sdk_http`, the portal lookup :mod:`.sdk_portal`.

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
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from paragon_nb._clock import Clock, system_clock
from paragon_nb._closing import ClosesOnExit
from paragon_nb.errors import (
    ParagonError,
    RuntimeStateError,
    TokenExpired,
    TokenInvalid,
)
from paragon_nb.runtime.sdk_events import Listener, Listeners, SdkEvent
from paragon_nb.runtime.sdk_http import DEFAULT_BASE_URL, LOCAL_BASE_URL, SdkHttp
from paragon_nb.runtime.sdk_integrations import IntegrationMethods
from paragon_nb.runtime.sdk_portal import PORTAL_GROUP, open_portal
from paragon_nb.tokens import peek_user_token

__all__ = ["DEFAULT_BASE_URL", "LOCAL_BASE_URL", "PORTAL_GROUP", "Paragon"]


class Paragon(IntegrationMethods, ClosesOnExit):
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
        self._http = SdkHttp(
            base_url=base_url,
            proxy_url=proxy_url,
            transport=transport,
            timeout=timeout,
            on_auth_refused=self._auth_refused,
        )
        self._request = self._http.request  # one SDK request (runtime.sdk_http)
        self._clock = clock or system_clock
        self._state: dict[str, Any] = {"authenticated": False}
        self._integrations: list[dict[str, Any]] = []
        self._listeners = Listeners()

    # ------------------------------------------------------------------------- plumbing

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def proxy_url(self) -> str:
        """Where :meth:`request` goes (Paragon's proxy host for its cloud)."""
        return self._http.proxy_url

    def _auth_refused(self, proxy: bool) -> None:
        """A 401/403: what the browser SDK does (re-fetch the user after a proxy call, else
        log out)."""
        if proxy:
            self._refresh()
        else:
            self.logout()

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
            self._http.sign_in(str(project_id), user_token)
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
        self._http.sign_out()
        self._state = {"authenticated": False}
        self._integrations = []

    @property
    def authenticated(self) -> bool:
        return self._http.token is not None

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
        return open_portal(
            self.project,
            integration,
            user_id=self._state["userId"],
            options=options,
            refresh=self._refresh,
            emit=self._listeners.emit,
        )

    # ------------------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        who = self._state.get("userId") if self.authenticated else None
        where = f"project={self.project.id!r}" if self.project is not None else self.base_url
        return f"Paragon({where}, user={who!r})"


def _rewrap(exc: ParagonError, message: str) -> ParagonError:
    """``exc``'s class with a new message (RuntimeStateError if that class needs more)."""
    try:
        return type(exc)(message)
    except TypeError:
        return RuntimeStateError(message)
