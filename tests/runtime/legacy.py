"""Builds a project folder as the first released version left it (schema version 1), with
plain SQL and no paragon_nb store code: the schema upgrade tests open it with today's code.

The first version ran store.py's ``_SCHEMA`` (today's migration 1, verbatim), inserted
``config_version``, wrote ``schema_version`` '1' at create and, from the batching release on,
added ``run_steps.batch_id``/``batch_size`` with an ALTER TABLE on every open
(``batch_columns``). The folder holds one deployed workflow, one connected user (secret
encrypted with the folder's key), one event and its succeeded run with two step records.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from paragon_nb.runtime.examples import SEED_WORKFLOW_YAML
from paragon_nb.runtime.schema import MIGRATIONS, statements
from paragon_nb.runtime.workflows import parse_spec
from paragon_nb.settings import SecretBox

PROJECT_ID = "0b6c6a4e-legacy-project"
WORKFLOW_ID = "wf-legacy-1"
RUN_ID = "run-legacy-1"
EVENT_ID = "evt-legacy-1"
APP_EVENT_ID = "ae-legacy-1"
SUB = "user-1"
LIST_ID = "1001"


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def make_v1_folder(
    folder: Path, *, endpoint: str, client_id: str, client_secret: str, batch_columns: bool
) -> None:
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / "project.sqlite3", isolation_level=None)
    for sql in statements(MIGRATIONS[0]):
        conn.execute(sql)
    if batch_columns:
        conn.execute("ALTER TABLE run_steps ADD COLUMN batch_id TEXT")
        conn.execute("ALTER TABLE run_steps ADD COLUMN batch_size INTEGER")
    example = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
               "company": "Analytical Engines", "title": "Engineer"}  # fmt: skip
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in example}}
    spec = parse_spec(SEED_WORKFLOW_YAML).to_dict()
    secret = SecretBox.for_folder(folder).encrypt(client_secret)
    t = 1_700_000_000.0
    rows = {
        "meta": [("id", PROJECT_ID), ("name", "Legacy"), ("created", repr(t)),
                 ("strict", "0"), ("schema_version", "1")],
        "app_events": [(APP_EVENT_ID, "Lead Created", _json(example), _json(schema), t, t)],
        "workflows": [(WORKFLOW_ID, spec["name"], _json(spec), 1, t, t)],
        "workflow_versions": [(WORKFLOW_ID, 1, _json(spec), APP_EVENT_ID, "Lead Created", t)],
        "users": [(SUB, _json({"plan": "pro"}), t)],
        "credentials": [("cred-1", SUB, "marketo", endpoint, None, client_id, secret,
                         "VALID", None, t, t)],
        "workflow_settings": [(SUB, WORKFLOW_ID, _json({"marketo_list": LIST_ID}), 1, t)],
        "events": [(EVENT_ID, 1, SUB, "Lead Created", _json(example), t, 1)],
        "runs": [(RUN_ID, 1, EVENT_ID, WORKFLOW_ID, 1, SUB, "succeeded", _json({}), t, t,
                  t + 1, None, None, None)],
    }  # fmt: skip
    conn.execute("BEGIN")
    for table, values in rows.items():
        marks = ", ".join("?" for _ in values[0])
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    steps = [("upsert_lead", "marketo.create_or_update_lead"),
             ("add_to_list", "marketo.add_leads_to_list")]  # fmt: skip
    for seq, (step_id, action) in enumerate(steps, start=1):
        conn.execute(
            "INSERT INTO run_steps(run_id, step_id, seq, action, status, input, output, "
            "attempts, started, ended) VALUES (?, ?, ?, ?, 'succeeded', '{}', '{}', 1, ?, ?)",
            (RUN_ID, step_id, seq, action, t, t + 1),
        )
    conn.execute("COMMIT")
    conn.close()
