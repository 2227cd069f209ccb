"""The Connect Portal for Marketo (paragon-platform.md §6): connect form + Configuration tab.

:class:`ConnectPortalModel` is the state and the calls into the runtime (each user action is
one :class:`~paragon_nb.runtime.project.Project` call); :class:`ConnectPortal` is the view.
``Paragon.connect("marketo")`` returns a portal; it is also usable alone::

    portal = ConnectPortal(project, user_id="user-1", credentials=sandbox)
    portal                      # last expression of a cell shows it; the user presses Connect
    portal.connect()            # headless, as the tests do: press Connect

``credentials`` (a sandbox, a ``MarketoCredentials``, anything with ``endpoint``/``client_id``/
``client_secret``; by default the ``MARKETO_*`` environment variables when all are set) fills
the endpoint and client id; its secret is used only when the password field is left empty and
the form still names that same endpoint and client id. A secret typed into the password field
is read once, handed to ``project.connect_user`` and the field is cleared: no secret is ever
kept in a trait, a widget, a repr or the notebook.

Callbacks (the JS SDK's ``connect()`` options, by Python or JS name; each gets ``(payload,
user)``, see :mod:`paragon_nb.runtime.sdk_events`): ``on_success``/``on_install`` after
connecting, ``on_uninstall`` after disconnecting, ``on_workflow_change`` after a workflow is
saved, ``on_open`` when the portal is built and ``on_close`` on ``close_portal()``::

    ConnectPortal(project, user_id="u", on_install=lambda event, user: print(event))
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as w
import traitlets as t

from paragon_nb._theme import status_html
from paragon_nb.errors import (
    ConfigurationError,
    MarketoAuthError,
    MarketoError,
    MarketoNotFound,
    ParagonError,
    TransientMarketoError,
)
from paragon_nb.marketo._base import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_ENDPOINT, ENV_IDENTITY
from paragon_nb.marketo._base import _split_endpoint as _split_rest_endpoint
from paragon_nb.runtime.api import MARKETO, WorkflowSettings
from paragon_nb.runtime.connect_shapes import integration_id
from paragon_nb.runtime.connect_shapes import user_state as sdk_user_state
from paragon_nb.runtime.gateway import MarketoCredentials
from paragon_nb.runtime.sdk_events import SdkEvent, callbacks_from_options
from paragon_nb.runtime.workflows import UserSetting, Workflow
from paragon_nb.widgets.connect_portal_fields import SharedSettingsPanel, portal_field
from paragon_nb.widgets.list_picker import ListPicker
from paragon_nb.widgets.workflow_panel import WorkflowPanel, _field_for, deployed_workflows

__all__ = [
    "ConnectPortal",
    "ConnectPortalModel",
    "credentials_from_env",
    "explain_connect_error",
    "identity_for",
    "normalized_endpoint",
]

INTEGRATION = MARKETO


def identity_for(endpoint: str) -> str:
    """Marketo's Identity URL for a REST endpoint: same origin + ``/identity``."""
    parts = urlsplit(endpoint.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/identity"


def normalized_endpoint(endpoint: str) -> str:
    """The REST endpoint as the client uses it: ``https://HOST/rest`` (``/rest/v1``, a
    trailing slash and spaces dropped). ConfigurationError when it is not an http(s) URL."""
    base, rest = _split_rest_endpoint(endpoint.strip())
    return base + rest


def credentials_from_env() -> MarketoCredentials | None:
    """MARKETO_ENDPOINT / MARKETO_CLIENT_ID / MARKETO_CLIENT_SECRET (+ MARKETO_IDENTITY), or
    None unless all three are set."""
    values = [os.environ.get(name, "") for name in (ENV_ENDPOINT, ENV_CLIENT_ID, ENV_CLIENT_SECRET)]
    if not all(values):
        return None
    return MarketoCredentials(*values, identity=os.environ.get(ENV_IDENTITY) or None)


def _source_label(credentials: Any) -> str:
    if isinstance(credentials, MarketoCredentials) and credentials == credentials_from_env():
        return "the MARKETO_* environment variables"
    name = type(credentials).__name__
    return "the sandbox" if name == "MarketoSandbox" else f"the {name}"


def explain_connect_error(exc: BaseException, *, endpoint: str) -> str:
    """One plain sentence for why connecting failed, with the next step."""
    if isinstance(exc, MarketoAuthError):
        return (
            "Marketo refused the Client ID / Client Secret. Copy them again from Admin > "
            "LaunchPoint > your custom service > View Details."
        )
    if isinstance(exc, MarketoNotFound):
        return (
            f"{endpoint} answered, but not as Marketo's REST API. The Endpoint URL ends in "
            "/rest (Admin > Web Services > REST API)."
        )
    if isinstance(exc, TransientMarketoError) and exc.code in (None, "502", "503", "504"):
        return (
            f"Could not reach {endpoint}. Check the Endpoint URL (Admin > Web Services > "
            "REST API) and your network, then try again."
        )
    if isinstance(exc, MarketoError):
        return f"Marketo answered with an error: {exc}"
    return str(exc)


class ConnectPortalModel(t.HasTraits):
    """State of one user's Marketo connection in a project, and the actions on it.

    Failure modes: every action returns True/False and puts a plain sentence in ``error``
    (never raises for what a user can fix); programming errors propagate.
    """

    connected = t.Bool(False)
    endpoint = t.Unicode("")
    identity = t.Unicode("")
    client_id = t.Unicode("")
    credential_status = t.Unicode("")
    error = t.Unicode("")
    message = t.Unicode("")
    workflow_settings = t.Dict(help="workflow id -> WorkflowSettings (enabled, settings)")
    shared_settings = t.Dict(help="integration-level setting id -> value")
    credentials_source = t.Unicode("", help="where the prefilled values come from, for the UI")

    def __init__(
        self,
        project: Any,
        *,
        user_id: str,
        credentials: Any = None,
        on_event: Callable[[SdkEvent, dict[str, Any], dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self.project = project
        self.user_id = user_id
        self._on_event = on_event
        self.last_saved = ""
        # Read the secret from here only at connect time; never copy it into a trait.
        self._credentials = credentials if credentials is not None else credentials_from_env()
        if self._credentials is not None:
            self.credentials_source = _source_label(self._credentials)
        self.reload()

    def fire(self, event: SdkEvent, **payload: Any) -> None:
        """Tell the callbacks: ``(payload with integrationId, the user's state)``."""
        if self._on_event is None:
            return
        full = {"integrationId": integration_id(self.project), **payload}
        user = sdk_user_state(self.project, self.project.user_state(self.user_id))
        self._on_event(event, full, user)

    def _credential_id(self) -> str | None:
        connection = self.project.user_state(self.user_id).connection
        return connection.credential_id if connection is not None else None

    def prefill(self) -> dict[str, str]:
        """Endpoint, client id and identity of ``credentials`` (no secret), or {}."""
        c = self._credentials
        if c is None:
            return {}
        return {
            "endpoint": str(c.endpoint),
            "client_id": str(c.client_id),
            "identity": str(getattr(c, "identity", None) or ""),
        }

    def _source_secret(self, endpoint: str, client_id: str) -> str:
        """The credentials' secret, only for the very endpoint and client id they name."""
        c = self._credentials
        if c is None or client_id != str(c.client_id):
            return ""
        try:
            same = normalized_endpoint(endpoint) == normalized_endpoint(str(c.endpoint))
        except ConfigurationError:
            return ""
        return str(c.client_secret) if same else ""

    # reads -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the user's state from the project (``project.user_state``)."""
        state = self.project.user_state(self.user_id)
        conn = state.connection
        self.credential_status = str(conn.status) if conn is not None else ""
        if conn is not None:
            self.endpoint = conn.endpoint or self.endpoint
            self.client_id = conn.client_id or self.client_id
            self.identity = conn.identity or self.identity
        self.workflow_settings = dict(state.workflows)
        self.shared_settings = dict(state.shared_settings)
        self.connected = state.connected  # an INVALID one is still connected

    def _settings_of(self, workflow_id: str) -> WorkflowSettings:
        return self.workflow_settings.get(workflow_id) or WorkflowSettings()

    def workflows(self) -> list[Workflow]:
        """The project's deployed workflows (``Workflow.user_settings``: the live version's)."""
        return deployed_workflows(self.project)

    def list_loader(self) -> Callable[[], Any]:
        """A loader of the user's static lists (asset API, paged by the client)."""

        def load() -> Any:
            return list(self.project.marketo_client(self.user_id).iter_static_lists())

        return load

    def shared_specs(self) -> list[UserSetting]:
        """The integration-level settings the project declares (none: no Settings section)."""
        return list(self.project.shared_settings())

    def field_loader(self) -> Callable[[], list[tuple[str, str]]]:
        """A loader of the user's Marketo lead fields (one describe) for Field Mapping."""

        def load() -> list[tuple[str, str]]:
            fields = self.project.marketo_client(self.user_id).describe()
            return [
                (f"{f.display_name} ({f.name})", f.name)
                for f in fields
                if f.name and not f.read_only
            ]

        return load

    def save_shared(self, settings: dict[str, Any]) -> tuple[bool, str]:
        """Store the integration-level settings (``project.set_shared_settings``)."""
        try:
            self.project.set_shared_settings(self.user_id, settings)
        except ParagonError as exc:
            self.error = str(exc)
            return False, str(exc)
        self.error = ""
        self.reload()
        return True, "Settings saved."

    # actions (one runtime call each) -------------------------------------------------------
    def connect(
        self, *, endpoint: str, client_id: str, client_secret: str = "", identity: str | None = None
    ) -> bool:
        """Validate and store the credentials (``project.connect_user``). An empty
        ``client_secret`` takes the one of ``credentials`` (same endpoint and client id)."""
        client_secret = client_secret or self._source_secret(endpoint, client_id.strip())
        missing = [
            label
            for label, value in (
                ("Client ID", client_id),
                ("Client Secret", client_secret),
                ("Endpoint URL", endpoint),
            )
            if not value.strip()
        ]
        if missing:
            self.error = f"Fill in the {' and the '.join(missing)}."
            return False
        try:
            endpoint = normalized_endpoint(endpoint)
        except ConfigurationError as exc:
            self.error = str(exc)
            return False
        try:
            self.project.connect_user(
                self.user_id,
                INTEGRATION,
                endpoint=endpoint,
                client_id=client_id.strip(),
                client_secret=client_secret,
                identity=(identity or "").strip() or identity_for(endpoint),
            )
        except ParagonError as exc:
            self.error = explain_connect_error(exc, endpoint=endpoint)
            return False
        self.error = ""
        self.endpoint, self.client_id = endpoint, client_id.strip()
        self.identity = (identity or "").strip() or identity_for(endpoint)
        self.message = "Connected to Marketo."
        self.reload()
        self.connected = True
        self.fire(
            SdkEvent.INTEGRATION_INSTALL,
            integrationType=INTEGRATION,
            credentialId=self._credential_id(),
        )
        return True

    def disconnect(self) -> bool:
        """Remove the credential; Paragon also disables the workflows and clears settings."""
        credential_id = self._credential_id()
        try:
            self.project.disconnect_user(self.user_id, INTEGRATION)
        except ParagonError as exc:
            self.error = str(exc)
            return False
        self.error, self.message = "", "Disconnected."
        self.reload()
        self.connected = False
        self.fire(
            SdkEvent.INTEGRATION_UNINSTALL, integrationType=INTEGRATION, credentialId=credential_id
        )
        return True

    def save_workflow(self, workflow: str, *, enabled: bool, settings: dict[str, Any]) -> bool:
        """Store the settings, then enable or disable the workflow for this user."""
        try:
            self.project.set_workflow_settings(self.user_id, workflow, settings)
            if enabled:
                self.project.enable_workflow(self.user_id, workflow)
            elif self._settings_of(workflow).enabled:
                self.project.disable_workflow(self.user_id, workflow)
        except ParagonError as exc:
            self.error = str(exc)
            return False
        self.error = ""
        # the panel shows this next to its Save button (not the portal-wide status line)
        self.last_saved = f"Saved ({'enabled' if enabled else 'disabled'})."
        self.reload()
        if self._on_event is None:
            return True
        workflow_id = str(self.project.workflow(workflow).id)
        entry = self._settings_of(workflow_id)
        self.fire(
            SdkEvent.WORKFLOW_CHANGE,
            workflowId=workflow_id,
            workflowStateChange={"enabled": entry.enabled, "settings": dict(entry.settings)},
        )
        return True


class ConnectPortal(w.VBox):
    """The portal view: a Connect tab (form, or the connection with Disconnect) and a
    Configuration tab (one panel per deployed workflow). State is in ``self.model``."""

    def __init__(
        self,
        project: Any,
        *,
        user_id: str,
        credentials: Any = None,
        model: ConnectPortalModel | None = None,
        dropdowns: dict[str, Any] | None = None,
        on_event: Callable[[SdkEvent, dict[str, Any], dict[str, Any]], None] | None = None,
        **callbacks: Callable[[dict[str, Any], dict[str, Any]], Any],
    ) -> None:
        self._dropdowns = dict(dropdowns or {})
        chosen, unknown = callbacks_from_options(callbacks)
        if unknown:
            raise TypeError(
                f"ConnectPortal got unknown option(s) {', '.join(sorted(unknown))}; callbacks: "
                "on_success, on_install, on_uninstall, on_workflow_change, on_open, on_close"
            )

        def dispatch(event: SdkEvent, payload: dict[str, Any], user: dict[str, Any]) -> None:
            callback = chosen.get(event)
            if callback is not None:
                callback(dict(payload), dict(user))
            if on_event is not None:
                on_event(event, payload, user)

        wanted = dispatch if chosen or on_event is not None else None
        self.model = model or ConnectPortalModel(
            project, user_id=user_id, credentials=credentials, on_event=wanted
        )
        if model is not None and wanted is not None:
            model._on_event = wanted
        self._closed = False
        self._title = w.HTML("<h3 style='margin:4px 0'>Marketo</h3>")
        self._client_id = w.Text(description="Client ID", placeholder="from LaunchPoint")
        self._client_secret = w.Password(description="Client Secret")
        self._endpoint = w.Text(
            description="Endpoint URL", placeholder="https://123-ABC-456.mktorest.com/rest"
        )
        self._identity = w.Text(description="Identity URL", placeholder="(from the endpoint)")
        self._connect = w.Button(description="Connect", button_style="primary")
        self._disconnect = w.Button(description="Disconnect", button_style="danger")
        self._status = w.HTML("")
        self._connection = w.HTML("")
        self._panels: list[WorkflowPanel] = []
        self.shared: SharedSettingsPanel | None = None  # integration-level Settings
        self._config = w.VBox([])
        self._tabs = w.Tab()
        for field in (self._client_id, self._client_secret, self._endpoint, self._identity):
            field.style.description_width = "110px"
            field.layout.width = "480px"
        self._endpoint.observe(self._on_endpoint_change, names="value")
        self._identity.observe(self._on_identity_change, names="value")
        self._connect.on_click(self._on_connect_click)
        self._disconnect.on_click(self._on_disconnect_click)
        self.model.observe(self._on_model_change, names=["connected", "error", "message"])
        self._identity_edited = False
        prefill = self.model.prefill()
        if prefill:
            self._endpoint.value = prefill["endpoint"]
            self._client_id.value = prefill["client_id"]
            if prefill["identity"]:
                self._identity.value = prefill["identity"]
            self._client_secret.placeholder = (
                f"leave empty: the secret of {self.model.credentials_source} is used"
            )
        super().__init__([self._title, self._tabs, self._status])
        self.add_class("paragon-connect-portal")
        self._render()
        self.model.fire(SdkEvent.PORTAL_OPEN, integrationType=INTEGRATION)

    def close_portal(self) -> None:
        """Close the portal (the SDK's ``closePortal``): tells ``on_close``, then closes the
        widgets. (Widget.close alone, which garbage collection also calls, tells nobody.)"""
        if not self._closed:
            self._closed = True
            self.model.fire(SdkEvent.PORTAL_CLOSE, integrationType=INTEGRATION)
        self.close()

    # headless helpers (what the buttons do) ------------------------------------------------
    def connect(
        self,
        *,
        endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str = "",
        identity: str | None = None,
    ) -> bool:
        """Fill the form (what is given) and press Connect (for scripts and tests)."""
        if endpoint is not None:
            self._endpoint.value = endpoint
        if identity:
            self._identity.value = identity
        if client_id is not None:
            self._client_id.value = client_id
        self._client_secret.value = client_secret
        self._connect.click()
        return self.model.connected

    def panel(self, workflow: str) -> WorkflowPanel:
        """The Configuration panel of a workflow, by name or id."""
        for panel in self._panels:
            if workflow in (panel.workflow_id, panel.workflow_name):
                return panel
        names = [p.workflow_name for p in self._panels]
        raise KeyError(f"no deployed workflow {workflow!r} in this portal; workflows: {names}")

    def _extra_field(self, spec: UserSetting, value: Any) -> Any:
        """Field Mapping and Custom Dropdown fields (None: the workflow panel draws it)."""
        return portal_field(
            spec, value, load_fields=self.model.field_loader(), dropdowns=self._dropdowns
        )

    def _shared_panel(self, picker: Callable[[Any], Any]) -> SharedSettingsPanel | None:
        specs = self.model.shared_specs()
        if not specs:
            return None

        def field_for(spec: UserSetting, value: Any) -> Any:
            return self._extra_field(spec, value) or _field_for(spec, value, picker)

        return SharedSettingsPanel(
            specs, self.model.shared_settings, field_for=field_for, save=self.model.save_shared
        )

    # handlers ----------------------------------------------------------------------------
    def _on_endpoint_change(self, change: dict[str, Any]) -> None:
        if not self._identity_edited:
            self._syncing_identity = True
            self._identity.value = identity_for(change["new"])
            self._syncing_identity = False

    _syncing_identity = False

    def _on_identity_change(self, change: dict[str, Any]) -> None:
        if not self._syncing_identity:
            self._identity_edited = bool(change["new"])

    def _on_connect_click(self, _button: w.Button) -> None:
        secret = self._client_secret.value
        self._client_secret.value = ""  # never keep the secret in widget state
        self.model.connect(
            endpoint=self._endpoint.value,
            client_id=self._client_id.value,
            client_secret=secret,
            identity=self._identity.value,
        )

    def _on_disconnect_click(self, _button: w.Button) -> None:
        self.model.disconnect()

    def _on_model_change(self, change: dict[str, Any]) -> None:
        self._render(rebuild=change["name"] == "connected")

    # view --------------------------------------------------------------------------------
    def _render(self, *, rebuild: bool = True) -> None:
        m = self.model
        if m.error:
            self._status.value = status_html(m.error, ok=False, tag="div")
        elif m.message:
            self._status.value = status_html(m.message, ok=True, tag="div")
        else:
            self._status.value = ""
        if not rebuild:
            return
        if m.connected:
            self._connection.value = (
                "<table style='border-collapse:collapse'>"
                f"<tr><td><b>Endpoint</b></td><td>{html.escape(m.endpoint)}</td></tr>"
                f"<tr><td><b>Client ID</b></td><td>{html.escape(m.client_id)}</td></tr>"
                "<tr><td><b>Client Secret</b></td><td>••••••••</td></tr>"
                f"<tr><td><b>Status</b></td><td>{html.escape(m.credential_status or 'VALID')}"
                "</td></tr></table>"
            )
            warning = w.HTML("")
            if m.credential_status == "INVALID":  # §6.1: invalid credentials ask to reconnect
                warning.value = status_html(
                    "Marketo no longer accepts these credentials: Disconnect, then connect "
                    "again with new ones.",
                    ok=False,
                    tag="div",
                )
            first = w.VBox([self._connection, warning, self._disconnect])
            loader = m.list_loader()

            def picker(value: Any) -> ListPicker:
                return ListPicker(loader, value=value, auto_load=True)

            self._panels = [
                WorkflowPanel(wf, self.model, list_picker=picker, extra_field=self._extra_field)
                for wf in m.workflows()
            ]
            for panel in self._panels:
                _show_tooltips(panel)
            self.shared = self._shared_panel(picker)
            shared = [self.shared] if self.shared is not None else []
            self._config.children = [*shared, *self._panels] or [
                w.HTML("<i>No deployed workflows yet: deploy one, then reopen the portal.</i>")
            ]
            self._tabs.children = [first, self._config]
            self._tabs.titles = ("Connection", "Configuration")
        else:
            form = w.VBox(
                [
                    self._client_id,
                    self._client_secret,
                    self._endpoint,
                    self._identity,
                    self._connect,
                ]
            )
            self._panels = []
            self._tabs.children = [form]
            self._tabs.titles = ("Connect",)
        self._tabs.selected_index = 0


def _show_tooltips(panel: WorkflowPanel) -> None:
    """Each setting's tooltip on its field (hover text in JupyterLab)."""
    for spec in panel.specs:
        if spec.tooltip:
            panel.field(spec.id).tooltip = spec.tooltip
