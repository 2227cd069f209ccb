"""A stand-in for ``runtime.project.Project`` shaped exactly like its documented interface
(/tmp/task_runtime_iface.md), used until the real Project lands and for error paths that
are awkward to provoke on the real one. It keeps only what the portal reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paragon_nb.errors import (
    MarketoAuthError,
    NotFoundError,
    RuntimeStateError,
    TransientMarketoError,
)
from paragon_nb.marketo.models import StaticList

SECRET = "good-secret"
SEED_SETTINGS = [
    {"id": "marketo_list", "label": "Marketo list", "type": "marketo_list", "required": True},
    {"id": "note", "label": "Note", "type": "text", "required": False},
]


@dataclass
class FakeWorkflow:
    id: str
    name: str
    user_settings: list[dict[str, Any]]
    deployed: bool = True


class FakeClient:
    def __init__(self, lists: list[StaticList]) -> None:
        self.lists = lists
        self.calls = 0

    def iter_static_lists(self) -> Any:
        self.calls += 1
        yield from self.lists


@dataclass
class FakeProject:
    workflows_: list[FakeWorkflow] = field(
        default_factory=lambda: [
            FakeWorkflow("wf-1", "Sync new leads to Marketo", SEED_SETTINGS),
            FakeWorkflow("wf-2", "Draft only", [], deployed=False),
        ]
    )
    lists: list[StaticList] = field(
        default_factory=lambda: [
            StaticList(id=1001, name="Newsletter"),
            StaticList(id=1002, name="Webinar attendees"),
        ]
    )
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def workflows(self) -> list[FakeWorkflow]:
        return list(self.workflows_)

    def _wf(self, ref: str) -> FakeWorkflow:
        for wf in self.workflows_:
            if ref in (wf.id, wf.name):
                return wf
        raise NotFoundError(f"no workflow {ref!r}")

    def connect_user(self, sub: str, integration: str, **creds: Any) -> dict[str, Any]:
        self.calls.append(("connect_user", {k: v for k, v in creds.items() if "secret" not in k}))
        if "unreachable" in creds["endpoint"]:
            raise TransientMarketoError("connection refused")
        if creds["client_secret"] != SECRET:
            raise MarketoAuthError("identity answered 401 for client id 'abc'", code="401")
        self.users[sub] = {
            "endpoint": creds["endpoint"],
            "client_id": creds["client_id"],
            "workflows": {},
        }
        return self.user_state(sub)

    def disconnect_user(self, sub: str, integration: str) -> None:
        self.calls.append(("disconnect_user", sub))
        self.users.pop(sub, None)

    def set_workflow_settings(self, sub: str, workflow: str, settings: dict[str, Any]) -> None:
        self.calls.append(("set_workflow_settings", (workflow, dict(settings))))
        wf = self._wf(workflow)
        entry = self.users[sub]["workflows"].setdefault(wf.id, {"enabled": False, "settings": {}})
        entry["settings"] = dict(settings)

    def enable_workflow(self, sub: str, workflow: str) -> None:
        self.calls.append(("enable_workflow", workflow))
        wf = self._wf(workflow)
        entry = self.users[sub]["workflows"].setdefault(wf.id, {"enabled": False, "settings": {}})
        missing = [
            s["id"] for s in wf.user_settings if s["required"] and s["id"] not in entry["settings"]
        ]
        if missing:
            raise RuntimeStateError(f"required settings missing: {missing}")
        entry["enabled"] = True

    def disable_workflow(self, sub: str, workflow: str) -> None:
        self.calls.append(("disable_workflow", workflow))
        self.users[sub]["workflows"][self._wf(workflow).id]["enabled"] = False

    def marketo_client(self, sub: str) -> FakeClient:
        return FakeClient(self.lists)

    def user_state(self, sub: str) -> dict[str, Any]:
        user = self.users.get(sub)
        marketo: dict[str, Any] = {"enabled": user is not None}
        if user is not None:
            marketo.update(
                credentialId="cred-1",
                credentialStatus="VALID",
                config={"endpoint": user["endpoint"], "client_id": user["client_id"]},
                workflowSettings=user["workflows"],
            )
        return {
            "authenticated": True,
            "userId": sub,
            "meta": {},
            "integrations": {"marketo": marketo},
        }
