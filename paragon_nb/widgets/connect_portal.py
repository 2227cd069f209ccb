"""The Connect Portal for Marketo (paragon-platform.md §6): connect form + Configuration tab.

:class:`ConnectPortal` is the view; its state and the calls into the runtime are
:class:`~paragon_nb.widgets.portal_model.ConnectPortalModel` (each user action is one
:class:`~paragon_nb.runtime.project.Project` call). ``Paragon.connect("marketo")`` returns a
portal; it is also usable alone::

    portal = ConnectPortal(project, user_id="user-1", credentials=sandbox)
    portal                      # last expression of a cell shows it; the user presses Connect
    portal.connect()            # headless, as the tests do: press Connect

``credentials`` (a sandbox, a ``MarketoCredentials``, anything with ``endpoint``/``client_id``/
``client_secret``/``identity``: :class:`~paragon_nb.widgets.credentials.CredentialSource`; by
default the ``MARKETO_*`` environment variables when all are set) fills the endpoint and
client id; its secret is used only when the password field is left empty and the form still
names that same endpoint and client id. A secret typed into the password field is read once,
handed to ``project.connect_user`` and the field is cleared: no secret is ever kept in a
trait, a widget, a repr or the notebook.

Callbacks (the JS SDK's ``connect()`` options, by Python or JS name; each gets ``(payload,
user)``, see :mod:`paragon_nb.runtime.sdk_events`): ``on_success``/``on_install`` after
connecting, ``on_uninstall`` after disconnecting, ``on_workflow_change`` after a workflow is
saved, ``on_open`` when the portal is built and ``on_close`` on ``close_portal()``::

    ConnectPortal(project, user_id="u", on_install=lambda event, user: print(event))

The Configuration tab is one :class:`~paragon_nb.widgets.workflow_panel.WorkflowPanel` per
deployed workflow, under the integration-level Settings when the project declares any.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from paragon_nb._theme import status_html
from paragon_nb.runtime.sdk_events import SdkEvent, callbacks_from_options
from paragon_nb.runtime.workflows import UserSetting
from paragon_nb.widgets.connect_portal_fields import SharedSettingsPanel, portal_field
from paragon_nb.widgets.credentials import (
    CredentialSource,
    credentials_from_env,
    explain_connect_error,
    identity_for,
    normalized_endpoint,
)
from paragon_nb.widgets.list_picker import ListPicker
from paragon_nb.widgets.portal_model import INTEGRATION, ConnectPortalModel, EventSink
from paragon_nb.widgets.settings_form import setting_field
from paragon_nb.widgets.workflow_panel import WorkflowPanel

if TYPE_CHECKING:
    from paragon_nb.runtime.project import Project

__all__ = [
    "ConnectPortal",
    "ConnectPortalModel",
    "credentials_from_env",
    "explain_connect_error",
    "identity_for",
    "normalized_endpoint",
]


class ConnectPortal(w.VBox):
    """The portal view: a Connect tab (form, or the connection with Disconnect) and a
    Configuration tab (one panel per deployed workflow). State is in ``self.model``."""

    def __init__(
        self,
        project: Project,
        *,
        user_id: str,
        credentials: CredentialSource | None = None,
        model: ConnectPortalModel | None = None,
        dropdowns: dict[str, Any] | None = None,
        on_event: EventSink | None = None,
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
            return self._extra_field(spec, value) or setting_field(spec, value, picker)

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
