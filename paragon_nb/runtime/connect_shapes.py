"""The JSON shapes Paragon's Connect API answers, as ``@useparagon/connect`` 2.4.0 reads them.

Built from a project's state for the REST routes (reference paragon-platform.md §2.4, §3,
and the SDK bundle, §2.6). What the published SDK needs, read from its code:

- ``GET /sdk/me``: ``integrations.<type>.allCredentials[].configurations[]`` (it flattens
  them into ``allConfigurations``), a configuration with ``isDefault`` whose
  ``workflowSettings`` it checks before enable/disable, credential ids that are UUIDs (any
  other id is taken for an external id), and ``project.accessibleFeatures`` (it refuses
  ``uninstallIntegration`` without ``"headless-cp"``);
- ``GET /sdk/integrations``: items with ``configs[0].values.workflowMeta`` keyed by workflow
  id (how it finds a workflow's integration) and ``isActive``.

One Marketo credential per user and one (default) configuration per credential: the
configuration id is derived from the credential id. Secrets never appear in any shape.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from paragon_nb.runtime.api import MARKETO, UserState

__all__ = [
    "FEATURES",
    "INTEGRATION",
    "configuration_id",
    "credential",
    "integration",
    "integration_id",
    "metadata",
    "user_state",
]

INTEGRATION = MARKETO  # the name routes.py imports from here; the value is said once in api.py
NAME = "Marketo"
BRAND_COLOR = "#5C4C9F"  # (U) Marketo's purple; Paragon's exact value is not public
#: what ``project.accessibleFeatures`` lists: headless (install/uninstall without the
#: portal), user metadata. (U) the values are the SDK's ConnectAddOn names.
FEATURES = ("headless-cp", "user-metadata")


def integration_id(project: Any) -> str:
    """A stable id for the project's Marketo integration (accepted wherever Paragon takes one)."""
    # (U) Paragon's integration ids are UUIDs it assigns; ours is derived from the project id.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paragon-nb:{project.id}:{INTEGRATION}"))


def configuration_id(credential_id: str) -> str:
    """The id of a credential's one (default) configuration."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paragon-nb:configuration:{credential_id}"))


def _workflow_settings(state: UserState) -> dict[str, Any]:
    """``workflowSettings``: workflow id -> ``{"enabled", "settings"}``."""
    return {
        wf_id: {"enabled": entry.enabled, "settings": copy.deepcopy(entry.settings)}
        for wf_id, entry in state.workflows.items()
    }


def _configuration(credential_id: str, state: UserState) -> dict[str, Any]:
    return {
        "id": configuration_id(credential_id),
        "connectCredentialId": credential_id,
        "workflowSettings": _workflow_settings(state),
        "sharedSettings": copy.deepcopy(state.shared_settings),
        "configMeta": {},
        "externalId": None,
        "isDefault": True,
        "dateCreated": None,
        "dateUpdated": None,
    }


def credential(project: Any, state: UserState) -> dict[str, Any]:
    """The Credential (§2.4) of a connected user's Marketo, with the deprecated ``config``."""
    conn = state.connection
    if conn is None:
        raise ValueError(f"user {state.user_id!r} has no Marketo credential")
    settings = _workflow_settings(state)
    return {
        "id": conn.credential_id,
        "projectId": str(project.id),
        "integrationId": integration_id(project),
        "integration": INTEGRATION,
        "integrationType": INTEGRATION,
        "personaId": state.user_id,
        "configurations": [_configuration(conn.credential_id, state)],
        "isPreviewCredential": False,
        "providerId": conn.client_id,  # (U) the Marketo instance's client id
        "providerData": {"endpoint": conn.endpoint} if conn.endpoint else {},
        "status": str(conn.status),
        # (U) the stored credential has created/checked times; Paragon's meaning of these
        # three is undocumented, so they stay null as before
        "dateCreated": None,
        "dateUpdated": None,
        "dateRefreshed": None,
        "refreshFailureCount": 0,
        # deprecated in the SDK's types, still what REST callers read (§3)
        "config": {
            "workflowSettings": settings,
            "configuredWorkflows": settings,
            "sharedSettings": copy.deepcopy(state.shared_settings),
        },
    }


def user_state(project: Any, state: UserState) -> dict[str, Any]:
    """A :class:`~paragon_nb.runtime.api.UserState` as the ConnectUser JSON the SDK reads
    (§2.4, ``GET /sdk/me``); the one place that shape is built."""
    settings = _workflow_settings(state)
    marketo: dict[str, Any] = {
        "enabled": state.enabled,
        "sharedSettings": copy.deepcopy(state.shared_settings),
        "workflowSettings": settings,
        "configuredWorkflows": settings,  # deprecated alias the docs still use
    }
    conn = state.connection
    if conn is not None:
        marketo.update(
            credentialId=conn.credential_id,
            credentialStatus=str(conn.status),
            config={"endpoint": conn.endpoint, "client_id": conn.client_id,
                    "identity": conn.identity},
        )  # fmt: skip
        if conn.error:
            marketo["credentialError"] = conn.error
    marketo.update(providerData={}, configMeta={})
    if conn is not None:
        cred = credential(project, state)
        marketo["allCredentials"] = [cred]
        marketo["allConfigurations"] = list(cred["configurations"])
        marketo["credentialConfigId"] = cred["configurations"][0]["id"]
        marketo["providerId"] = cred["providerId"]
    else:
        marketo["allCredentials"] = []
        marketo["allConfigurations"] = []
    return {
        "authenticated": True,
        "userId": state.user_id,
        "meta": copy.deepcopy(state.meta),
        "integrations": {INTEGRATION: marketo},
        "resources": [],
        "project": {"id": str(project.id), "accessibleFeatures": list(FEATURES)},
    }


def _workflows(project: Any) -> list[dict[str, Any]]:
    """Deployed workflows as ``[{id, name, description, version}]``."""
    return [
        {
            "id": str(wf.id),
            "name": wf.name,
            "description": wf.name,
            "version": wf.deployed_version,
        }
        for wf in project.workflows()
        if wf.deployed_version is not None
    ]


def integration(project: Any, *, has_credential: bool) -> dict[str, Any]:
    """The project's Marketo integration as ``GET /sdk/integrations`` lists it (§3)."""
    workflows = _workflows(project)
    workflow_meta = {
        wf["id"]: {"id": wf["id"], "title": wf["name"], "description": wf["description"]}
        for wf in workflows
    }
    return {
        "id": integration_id(project),
        "projectId": str(project.id),
        "type": INTEGRATION,
        "name": NAME,
        "brandColor": BRAND_COLOR,
        "isActive": True,
        "authenticationType": "text-credentials",  # (U) Marketo is "not OAuth" (§6.2)
        "needPreOauthInputs": False,
        "hasCredential": has_credential,
        "connectedUserLimitOnDevCred": 0,
        "connectedUserLimitReached": False,
        "configs": [
            {
                "values": {
                    "overview": "Sync your leads into your Marketo lists.",
                    "description": "Connect your Marketo instance",
                    "accentColor": BRAND_COLOR,
                    "sharedMeta": {},
                    "workflowMeta": workflow_meta,
                }
            }
        ],
        "workflows": workflows,
    }


def metadata(project: Any) -> list[dict[str, Any]]:
    """``GET /sdk/metadata``: ``[{type, name, brandColor, icon}]`` of the active integrations."""
    # (U) Paragon serves the icon from its CDN; there is none offline, so the path is ours.
    return [{"type": INTEGRATION, "name": NAME, "brandColor": BRAND_COLOR, "icon": None}]
