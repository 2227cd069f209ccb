"""The Connect Portal for Marketo (paragon-platform.md §6): connect form + Configuration tab.

:class:`ConnectPortalModel` is the state and the calls into the runtime (each user action is
one :class:`~paragon_nb.runtime.project.Project` call); :class:`ConnectPortal` is the view.
``Paragon.connect("marketo")`` returns a portal; it is also usable alone::

    portal = ConnectPortal(project, user_id="user-1")
    portal                      # last expression of a cell shows it
    # headless, as the tests do:
    portal.connect(endpoint=sb.endpoint, client_id=sb.client_id, client_secret=sb.client_secret)

The client secret is read from the password field once, handed to ``project.connect_user``
and the field is cleared: it is never kept in a trait, a repr or the notebook.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as w
import traitlets as t

from paragon_nb.errors import (
    MarketoAuthError,
    MarketoError,
    MarketoNotFound,
    ParagonError,
    TransientMarketoError,
)
from paragon_nb.widgets.list_picker import ListPicker
from paragon_nb.widgets.workflow_panel import WorkflowPanel, deployed_workflows

__all__ = ["ConnectPortal", "ConnectPortalModel", "explain_connect_error", "identity_for"]

INTEGRATION = "marketo"


def identity_for(endpoint: str) -> str:
    """Marketo's Identity URL for a REST endpoint: same origin + ``/identity``."""
    parts = urlsplit(endpoint.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/identity"


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
    workflow_settings = t.Dict(help="workflow id -> {'enabled': bool, 'settings': dict}")

    def __init__(self, project: Any, *, user_id: str) -> None:
        super().__init__()
        self.project = project
        self.user_id = user_id
        self.last_saved = ""
        self.reload()

    # reads -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the user's state from the project (``project.user_state``)."""
        state = self.project.user_state(self.user_id)
        marketo = (state.get("integrations") or {}).get(INTEGRATION) or {}
        self.credential_status = str(marketo.get("credentialStatus") or "")
        cfg = marketo.get("config") or {}
        self.endpoint = str(cfg.get("endpoint") or self.endpoint)
        self.client_id = str(cfg.get("client_id") or self.client_id)
        self.identity = str(cfg.get("identity") or self.identity)
        self.workflow_settings = dict(marketo.get("workflowSettings") or {})
        self.connected = bool(marketo.get("credentialId"))  # an INVALID one is still connected

    def workflows(self) -> list[dict[str, Any]]:
        """Deployed workflows as dicts: id, name, user_settings (list of setting specs)."""
        return deployed_workflows(self.project)

    def list_loader(self) -> Callable[[], Any]:
        """A loader of the user's static lists (asset API, paged by the client)."""

        def load() -> Any:
            return list(self.project.marketo_client(self.user_id).iter_static_lists())

        return load

    # actions (one runtime call each) -------------------------------------------------------
    def connect(
        self, *, endpoint: str, client_id: str, client_secret: str, identity: str | None = None
    ) -> bool:
        """Validate and store the credentials (``project.connect_user``)."""
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
        endpoint = endpoint.strip().rstrip("/")
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
        return True

    def disconnect(self) -> bool:
        """Remove the credential; Paragon also disables the workflows and clears settings."""
        try:
            self.project.disconnect_user(self.user_id, INTEGRATION)
        except ParagonError as exc:
            self.error = str(exc)
            return False
        self.error, self.message = "", "Disconnected."
        self.reload()
        self.connected = False
        return True

    def save_workflow(self, workflow: str, *, enabled: bool, settings: dict[str, Any]) -> bool:
        """Store the settings, then enable or disable the workflow for this user."""
        try:
            self.project.set_workflow_settings(self.user_id, workflow, settings)
            if enabled:
                self.project.enable_workflow(self.user_id, workflow)
            elif self.workflow_settings.get(workflow, {}).get("enabled"):
                self.project.disable_workflow(self.user_id, workflow)
        except ParagonError as exc:
            self.error = str(exc)
            return False
        self.error = ""
        # the panel shows this next to its Save button (not the portal-wide status line)
        self.last_saved = f"Saved ({'enabled' if enabled else 'disabled'})."
        self.reload()
        return True


class ConnectPortal(w.VBox):
    """The portal view: a Connect tab (form, or the connection with Disconnect) and a
    Configuration tab (one panel per deployed workflow). State is in ``self.model``."""

    def __init__(
        self, project: Any, *, user_id: str, model: ConnectPortalModel | None = None
    ) -> None:
        self.model = model or ConnectPortalModel(project, user_id=user_id)
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
        super().__init__([self._title, self._tabs, self._status])
        self.add_class("paragon-connect-portal")
        self._render()

    # headless helpers (what the buttons do) ------------------------------------------------
    def connect(
        self, *, endpoint: str, client_id: str, client_secret: str, identity: str | None = None
    ) -> bool:
        """Fill the form and press Connect (for scripts and tests)."""
        self._endpoint.value = endpoint
        if identity:
            self._identity.value = identity
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
            self._status.value = (
                f"<div class='paragon-error' style='color:#b00020'>{html.escape(m.error)}</div>"
            )
        elif m.message:
            self._status.value = f"<div style='color:#1b7f3b'>{html.escape(m.message)}</div>"
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
                warning.value = (
                    "<div class='paragon-error' style='color:#b00020'>Marketo no longer accepts "
                    "these credentials: Disconnect, then connect again with new ones.</div>"
                )
            first = w.VBox([self._connection, warning, self._disconnect])
            loader = m.list_loader()
            self._panels = [
                WorkflowPanel(
                    wf,
                    self.model,
                    list_picker=lambda v: ListPicker(loader, value=v, auto_load=True),
                )
                for wf in m.workflows()
            ]
            self._config.children = self._panels or [
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
