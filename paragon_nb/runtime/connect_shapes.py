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

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from paragon_nb.runtime.api import MARKETO

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


def _iso(value: Any) -> str | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)


def _configuration(credential_id: str, marketo: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": configuration_id(credential_id),
        "connectCredentialId": credential_id,
        "workflowSettings": marketo.get("workflowSettings", {}),
        "sharedSettings": marketo.get("sharedSettings", {}),
        "configMeta": {},
        "externalId": None,
        "isDefault": True,
        "dateCreated": None,
        "dateUpdated": None,
    }


def credential(project: Any, sub: str, marketo: dict[str, Any]) -> dict[str, Any]:
    """A Credential (§2.4) of the user's Marketo state, with the deprecated ``config``."""
    cred_id = str(marketo["credentialId"])
    settings = marketo.get("workflowSettings", {})
    shared = marketo.get("sharedSettings", {})
    config = marketo.get("config") or {}
    return {
        "id": cred_id,
        "projectId": str(project.id),
        "integrationId": integration_id(project),
        "integration": INTEGRATION,
        "integrationType": INTEGRATION,
        "personaId": sub,
        "configurations": [_configuration(cred_id, marketo)],
        "isPreviewCredential": False,
        "providerId": config.get("client_id"),  # (U) the Marketo instance's client id
        "providerData": {"endpoint": config.get("endpoint")} if config.get("endpoint") else {},
        "status": marketo.get("credentialStatus"),
        "dateCreated": _iso(marketo.get("dateCreated")),
        "dateUpdated": _iso(marketo.get("dateUpdated")),
        "dateRefreshed": _iso(marketo.get("dateRefreshed")),
        "refreshFailureCount": 0,
        # deprecated in the SDK's types, still what REST callers read (§3)
        "config": {
            "workflowSettings": settings,
            "configuredWorkflows": settings,
            "sharedSettings": shared,
        },
    }


def user_state(project: Any, sub: str) -> dict[str, Any]:
    """``project.user_state(sub)`` in the ConnectUser shape the SDK reads (§2.4)."""
    state = json.loads(json.dumps(project.user_state(sub), default=str))
    state.pop("token", None)
    marketo = state.setdefault("integrations", {}).setdefault(INTEGRATION, {"enabled": False})
    settings = marketo.setdefault("workflowSettings", {})
    marketo["configuredWorkflows"] = settings  # deprecated alias the docs still use
    marketo.setdefault("sharedSettings", {})
    marketo.setdefault("providerData", {})
    marketo.setdefault("configMeta", {})
    if marketo.get("credentialId"):
        cred = credential(project, sub, marketo)
        marketo["allCredentials"] = [cred]
        marketo["allConfigurations"] = list(cred["configurations"])
        marketo["credentialConfigId"] = cred["configurations"][0]["id"]
        marketo["providerId"] = cred["providerId"]
    else:
        marketo["allCredentials"] = []
        marketo["allConfigurations"] = []
    return {
        **state,
        "authenticated": True,
        "userId": sub,
        "meta": state.get("meta") or {},
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
