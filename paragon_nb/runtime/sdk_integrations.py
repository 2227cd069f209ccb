"""The user's integrations in the SDK mirror (:class:`~paragon_nb.runtime.sdk.Paragon`
inherits these): install and uninstall (``POST /sdk/credentials``, ``DELETE
/sdk/integrations/{type}``), workflow and integration-level settings (PATCH the
credential), enabling and disabling workflows, a dynamic setting's options and the proxy
(``/sdk/proxy/{type}/{path}``). Each call refreshes the user's state and tells the SDK
event subscribers, as ``@useparagon/connect`` does.

    paragon.install_integration("marketo", endpoint=..., client_id=..., client_secret=...)
    paragon.update_workflow_settings("marketo", workflow_id, {"marketo_list": 1001})
    paragon.enable_workflow(workflow_id)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paragon_nb.errors import NotFoundError, RuntimeStateError
from paragon_nb.runtime.sdk_events import SdkEvent

__all__ = ["IntegrationMethods"]


class IntegrationMethods:
    """The integration calls of ``Paragon`` (which sets these attributes)."""

    _state: dict[str, Any]
    _request: Callable[..., Any]
    _refresh: Callable[[], dict[str, Any]]
    refresh_user: Callable[[], dict[str, Any]]
    _emit_install: Callable[[SdkEvent, str, Any], None]
    _emit_workflow: Callable[[str, dict[str, Any]], None]

    def _marketo_state(self, integration: str) -> dict[str, Any]:
        if integration != "marketo":
            raise NotFoundError(
                f"integration {integration!r} is not in this project; configured: ['marketo']"
            )
        return self._state.get("integrations", {}).get("marketo", {})

    def _installed(self, integration: str) -> tuple[dict[str, Any], str]:
        """The user's state of ``integration`` and its credential id (NotFoundError if it is
        not installed)."""
        marketo = self._marketo_state(integration)
        credential_id = marketo.get("credentialId")
        if not credential_id:
            raise NotFoundError(
                f"Integration {integration} is not installed for this user; "
                "call install_integration first"
            )
        return marketo, str(credential_id)

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
        marketo, credential_id = self._installed(integration)
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
        marketo, credential_id = self._installed(integration)
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
