"""The Connected Users part of :class:`~paragon_nb.runtime.project.Project`: connecting and
disconnecting a user's Marketo, their workflow and integration-level settings, enabling
workflows, user metadata, the user's :class:`~paragon_nb.runtime.api.UserState` and the
Marketo calls made with their credential (the SDK proxy). The rules live in
:class:`~paragon_nb.runtime.users.ConnectedUsers`; ``Project`` inherits these methods.

    project.connect_user("user-1", "marketo", endpoint=..., client_id=..., client_secret=...)
    project.set_workflow_settings("user-1", "Sync new leads", {"marketo_list": 1001})
    project.enable_workflow("user-1", "Sync new leads").workflow(wf_id).enabled   # True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paragon_nb._clock import Clock
from paragon_nb.errors import MarketoAuthError
from paragon_nb.runtime.api import UserState
from paragon_nb.runtime.catalog import Catalog
from paragon_nb.runtime.events import validate_example
from paragon_nb.runtime.gateway import MarketoCredentials
from paragon_nb.runtime.store import ProjectStore
from paragon_nb.runtime.users import ConnectedUsers
from paragon_nb.runtime.views import users_frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["UserMethods"]


class UserMethods:
    """Connected Users (mixed into ``Project``, which sets these attributes)."""

    _users: ConnectedUsers
    _catalog: Catalog
    _store: ProjectStore
    _clock: Clock

    def connect_user(
        self,
        sub: str,
        integration: str,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        identity: str | None = None,
    ) -> UserState:
        """Validate the Marketo credentials (token + describe), store them encrypted and
        return the user's state. Raises the MarketoError when Marketo refuses them."""
        creds = MarketoCredentials(endpoint, client_id, client_secret, identity)
        self._users.connect(sub, integration, creds)
        return self.user_state(sub)

    def disconnect_user(self, sub: str, integration: str) -> None:
        """Remove the credential, clear the user's workflow settings and disable them."""
        self._users.disconnect(sub, integration)

    def check_credential(self, sub: str) -> str:
        """Validate the stored credential again: "VALID" or "INVALID" (stored)."""
        return self._users.recheck(sub)

    def marketo_client(self, sub: str) -> Any:
        """The Marketo client of the user's credential (e.g. to list their static lists)."""
        return self._users.gateway_for(sub, require_valid=False).client

    def marketo_request(
        self,
        sub: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Any Marketo REST call with the user's credential (the SDK proxy): same client,
        limiter and retries as the user's workflow steps. ``path`` is relative to the REST
        API (``v1/leads.json``) or full (``/rest/v1/...``). Returns Marketo's JSON answer.
        StepError when the user has no VALID credential; the MarketoError of a refusal (an
        auth refusal marks the credential INVALID, as a run's would)."""
        gateway = self._users.gateway_for(sub)
        try:
            return gateway.request(method, path, params=dict(params or {}), body=body)["body"]
        except MarketoAuthError as exc:
            self._users.mark_invalid(sub, exc)
            raise

    def set_workflow_settings(
        self, sub: str, workflow: str, settings: Mapping[str, Any]
    ) -> UserState:
        """Merge settings for a deployed workflow (checked; a marketo_list must exist in the
        user's Marketo). Returns the user's state."""
        wf_id, spec = self._catalog.deployed(workflow)
        self._users.set_settings(sub, wf_id, spec, settings)
        return self.user_state(sub)

    def define_shared_settings(self, settings: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Declare Marketo's integration-level user settings (Connect Portal > Configuration
        > Settings): same fields as a workflow's ``user_settings`` (id, label, type,
        required, tooltip, options/fields/dropdown, default). Every workflow of the
        integration may reference them as ``{{settings.<id>}}``; a workflow's own setting of
        the same id wins there. Replaces the earlier declarations; WorkflowSpecError if bad."""
        return self._users.shared.declare(settings)

    def shared_settings(self) -> list[Any]:
        """The declared integration-level settings (UserSetting objects)."""
        return self._users.shared.declared()

    def set_shared_settings(self, sub: str, settings: Mapping[str, Any]) -> UserState:
        """Merge the user's integration-level settings (checked like workflow settings; a
        field_mapping's Marketo fields must exist in their Marketo). Returns the user's
        state (``integrations.marketo.sharedSettings``)."""
        self._users.set_shared(sub, settings)
        return self.user_state(sub)

    def enable_workflow(self, sub: str, workflow: str) -> UserState:
        """Enable for the user (VALID credential and required settings needed)."""
        wf_id, spec = self._catalog.deployed(workflow)
        self._users.enable(sub, wf_id, spec)
        return self.user_state(sub)

    def disable_workflow(self, sub: str, workflow: str) -> UserState:
        wf_id = self._catalog.workflow_row(workflow).id
        self._users.disable(sub, wf_id)
        return self.user_state(sub)

    def user_state(self, sub: str) -> UserState:
        """The user's :class:`~paragon_nb.runtime.api.UserState`: meta, Marketo connection
        (credential id, status, endpoint; never the secret), workflow settings and
        enablement, integration-level settings. An unknown user is not connected."""
        return self._users.state(sub)

    def set_user_meta(self, sub: str, meta: Mapping[str, Any]) -> UserState:
        data = validate_example(meta, name=f"metadata of user {sub!r}")
        self._store.set_user_meta(sub, data, now=self._clock.time())
        return self.user_state(sub)

    def users(self) -> pd.DataFrame:
        """Connected users: user, marketo (credential status), credential_id, endpoint,
        enabled_workflows, meta, created."""
        return users_frame(self._store)
