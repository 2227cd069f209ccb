"""Shared set-up of the SDK-parity tests: a real project on a FakeClock wired to an in-process
sandbox, the seed workflow deployed, one user connected with the workflow enabled."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paragon_nb._clock import FakeClock
from paragon_nb.runtime.project import Project
from paragon_nb.sandbox.app import LOCAL_ORIGIN, SandboxApp

from .e2e import WORKFLOW, Seeded, connect_and_enable, in_process_factory, seed_project

ENDPOINT = f"{LOCAL_ORIGIN}/rest"
IDENTITY = f"{LOCAL_ORIGIN}/identity"


@dataclass
class World:
    seeded: Seeded
    sandbox: SandboxApp
    clock: FakeClock
    list_id: int

    @property
    def project(self) -> Project:
        return self.seeded.project

    def token(self, sub: str = "user-1") -> str:
        """A user token valid on the project's (fake) clock."""
        return self.seeded.token(sub, now=self.clock.time())

    def connect(self, sub: str = "user-1") -> None:
        connect_and_enable(
            self.seeded,
            sub,
            endpoint=ENDPOINT,
            identity=IDENTITY,
            client_id=self.sandbox.client_id,
            client_secret=self.sandbox.client_secret,
            list_id=self.list_id,
        )


def make_world(path: Path, **project_kw: Any) -> World:
    sandbox = SandboxApp(rate_limit=None)
    clock = FakeClock(start=1_800_000_000)
    seeded = seed_project(
        path, client_factory=in_process_factory(sandbox.transport()), clock=clock, **project_kw
    )
    listing = sandbox.create_list("Newsletter")
    world = World(seeded, sandbox, clock, int(listing["id"]))
    return world


def every_stored_text(folder: Path) -> str:
    """Every value of every row of every table of the project database, as one text."""
    conn = sqlite3.connect(folder / "project.sqlite3")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        parts = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                parts.extend(str(v) for v in row)
        return "\n".join(parts)
    finally:
        conn.close()


__all__ = ["ENDPOINT", "IDENTITY", "WORKFLOW", "World", "every_stored_text", "make_world"]
