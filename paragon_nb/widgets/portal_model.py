"""The Connect Portal's state and its calls into the runtime, apart from any widget.

:class:`ConnectPortalModel` holds one user's Marketo connection in a project (traits the view
observes) and offers the user's actions: connect, disconnect, save a workflow's settings,
save the integration-level settings. Each action is one
:class:`~paragon_nb.runtime.project.Project` call; each tells the SDK callbacks
(:mod:`paragon_nb.runtime.sdk_events`) through ``on_event``. The view is
:class:`paragon_nb.widgets.connect_portal.ConnectPortal`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets as t

from paragon_nb.errors import ConfigurationError, ParagonError
from paragon_nb.runtime.api import MARKETO, WorkflowSettings
from paragon_nb.runtime.connect_shapes import integration_id
from paragon_nb.runtime.connect_shapes import user_state as sdk_user_state
from paragon_nb.runtime.sdk_events import SdkEvent
from paragon_nb.runtime.workflows import UserSetting, Workflow
from paragon_nb.widgets.credentials import (
    CredentialSource,
    credentials_from_env,
    explain_connect_error,
    identity_for,
    normalized_endpoint,
    source_label,
)
from paragon_nb.widgets.workflow_panel import deployed_workflows

if TYPE_CHECKING:
    from paragon_nb.runtime.project import Project

__all__ = ["INTEGRATION", "ConnectPortalModel"]

INTEGRATION = MARKETO

#: (event, payload, the user's state): what the portal tells its callbacks
EventSink = Callable[[SdkEvent, dict[str, Any], dict[str, Any]], None]


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
        project: Project,
        *,
        user_id: str,
        credentials: CredentialSource | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        super().__init__()
        self.project = project
        self.user_id = user_id
        self._on_event = on_event
        self.last_saved = ""
        # Read the secret from here only at connect time; never copy it into a trait.
        self._credentials: CredentialSource | None = (
            credentials if credentials is not None else credentials_from_env()
        )
        if self._credentials is not None:
            self.credentials_source = source_label(self._credentials)
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
            "identity": str(c.identity or ""),
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
