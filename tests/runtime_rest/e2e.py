"""Shared setup for end-to-end REST tests: a real Project wired to a sandbox Marketo with
the seed's App Event and workflow deployed, a signing key and one list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.runtime.examples import SEED_WORKFLOW_YAML
from paragon_nb.runtime.project import Project
from paragon_nb.tokens import SigningKey, sign_user_token

SEED_SPEC = SEED_WORKFLOW_YAML  # verbatim from the issue
WORKFLOW = "Sync new leads to Marketo"
EVENT = "Lead Created"


def lead(i: int | str = 0) -> dict[str, str]:
    return {
        "first_name": "Ada",
        "last_name": f"Lovelace{i}",
        "email": f"ada{i}@example.com",
        "company": "Analytical Engines",
        "title": "Engineer",
    }


def in_process_factory(transport: httpx.BaseTransport, **client_kw: Any) -> Any:
    """A client_factory routing the user's Marketo calls to an in-process sandbox."""

    def factory(creds: Any) -> MarketoClient:
        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            transport=transport,
            **client_kw,
        )

    return factory


@dataclass
class Seeded:
    project: Project
    key: SigningKey
    workflow_id: str

    def token(self, sub: str = "user-1", **kw: Any) -> str:
        return sign_user_token(self.key.private_pem, sub, **kw)


def seed_project(path: Path | str, **project_kw: Any) -> Seeded:
    """Project with key, App Event and the seed workflow deployed (no user yet); ``path``: a
    folder or a PostgreSQL URL."""
    project = Project.create("Seed", path=path, **project_kw)
    key = project.generate_signing_key()
    project.define_app_event(EVENT, example=lead())
    workflow = project.add_workflow(SEED_SPEC)
    project.deploy(WORKFLOW)
    return Seeded(project, key, str(workflow.id))


def connect_and_enable(
    seeded: Seeded,
    sub: str,
    *,
    endpoint: str,
    client_id: str,
    client_secret: str,
    identity: str | None,
    list_id: int,
) -> None:
    """What a user does in the Connect Portal, through the Project API."""
    project = seeded.project
    project.connect_user(
        sub,
        "marketo",
        endpoint=endpoint,
        client_id=client_id,
        client_secret=client_secret,
        identity=identity,
    )
    project.set_workflow_settings(sub, WORKFLOW, {"marketo_list": list_id})
    project.enable_workflow(sub, WORKFLOW)
