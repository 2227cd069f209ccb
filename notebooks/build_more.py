"""Tutorials 02-04 (imported by build_notebooks.py, which writes them)."""

from __future__ import annotations

import nbformat
from build_notebooks import CHECK, SCRATCH, code, md, notebook


def bulk_sync_02() -> nbformat.NotebookNode:
    return notebook(
        [
            md("""
# Bulk sync: a DataFrame of leads into Marketo

The tutorial sends one lead per event. Analysts usually have a **spreadsheet**: hundreds or
thousands of leads, some of them wrong. `sync_leads(df, client, list=...)` upserts every valid
row (batches of 300, within Marketo's rate and concurrency limits), adds the leads to a static
list, and returns **one result row per input row**. This notebook walks through a messy frame:
dry run, sync, look at the invalid rows, fix them, re-run (unchanged rows cost nothing), resume
after an outage, and the command-line equivalent.
"""),
            code(SCRATCH),
            code("""
import pandas as pd
from paragon_nb import MarketoSandbox, sync_leads

sandbox = MarketoSandbox().start()     # a local Marketo; MarketoClient.from_env() for a real one
client = sandbox.client()
"""),
            md("""
## A realistic, messy frame

Stray spaces and capitals, an address that is not one, a missing email, a duplicate, a
number of employees that is not a number.
"""),
            code("""
leads = pd.DataFrame({
    "Email": [" Ada@Example.com", "grace@example.com", "not-an-email", None,
              "alan@example.com", "grace@example.com", "katherine@example.com", "edsger@example"],
    "First Name": ["Ada", "Grace", "Nobody", "Missing", "Alan", "Grace B.", "Katherine", "Edsger"],
    "Company": ["Analytical Engines", "Navy", "?", "?", "Bletchley", "US Navy", "NASA", "TU/e"],
    "Employees": ["12", "1000", "3", "4", "many", "1000", "17000", "500"],
})
leads
"""),
            md("""
Columns are matched to Marketo's fields by name (`First Name` -> `firstName`). A column that
matches nothing stops the sync **before anything is written**, with a suggestion:
"""),
            code(
                """
sync_leads(leads, client, list="Newsletter", create_list=True, dry_run=True)
""",
                CHECK,
                "raises-exception",
            ),
            code("""
mapping = {"Employees": "numberOfEmployees"}
"""),
            md("""
## Dry run first

A dry run writes nothing. It reads the existing leads and tells you what would happen to
each row, and what the real run would cost in API calls (Marketo allows 50,000 a day).
"""),
            code(
                """
plan = sync_leads(leads, client, list="Newsletter", create_list=True, mapping=mapping,
                  dry_run=True, progress=False)
plan.counts
""",
                CHECK,
            ),
            code("plan.rows"),
            md("## Sync"),
            code("""
result = sync_leads(leads, client, list="Newsletter", create_list=True, mapping=mapping,
                    progress=False)
result
"""),
            code("result.counts", CHECK),
            md("""
Invalid rows were never sent; each says why. Rows on the same email are collapsed to the
last one (the earlier one is `skipped`, naming the row that was sent).
"""),
            code("result.rows[result.rows['status'] != 'created'][['status', 'reason_code']]", CHECK),
            md("""
## Fix the rows and run again

Only what changed is sent: the sync keeps a journal of what it wrote (a fingerprint per
lead), so the rows already in Marketo come back `unchanged` and cost no lead writes.
"""),
            code(
                """
fixed = leads.copy()
fixed.loc[2, "Email"] = "nobody@example.com"
fixed.loc[3, "Email"] = "missing@example.com"
fixed.loc[4, "Employees"] = "40"
fixed.loc[7, "Email"] = "edsger@example.nl"

again = sync_leads(fixed, client, list="Newsletter", mapping=mapping, progress=False)
again.counts
""",
                CHECK,
            ),
            code(
                """
writes_before = sandbox.app.stats.write_calls
once_more = sync_leads(fixed, client, list="Newsletter", mapping=mapping, progress=False)
print(once_more.counts)
print("write calls for this run:", sandbox.app.stats.write_calls - writes_before)
""",
                CHECK,
            ),
            md("""
## Resume after an outage

Here Marketo answers `502 Bad Gateway` to upserts after the first one (we tell the sandbox
to), and this client gives up quickly. Rows that could not be written are `failed`, not lost;
`result.retry()` sends exactly those once Marketo is back. The same journal makes an
interrupted run (Ctrl-C, a killed kernel) pick up where it stopped when run again.
"""),
            code("""
from paragon_nb.marketo.retry import RetryPolicy

big = pd.DataFrame({
    "email": [f"reader{i}@example.com" for i in range(900)],
    "firstName": [f"Reader {i}" for i in range(900)],
})
impatient = sandbox.client(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05))
sandbox.app.set_faults(["leads:seq=ok,502,502,502,502,502,502"])
partial = sync_leads(big, impatient, list="Readers", create_list=True, progress=False)
partial.counts
"""),
            code(
                """
sandbox.app.set_faults(None)           # Marketo is back
resumed = partial.retry()
print(resumed.counts)
print("leads in Marketo:", sandbox.app.lead_count())
""",
                CHECK,
            ),
            md("""
## The same from the command line

`paragon-nb sync` reads a CSV or Parquet file, uses `MARKETO_ENDPOINT`, `MARKETO_CLIENT_ID`
and `MARKETO_CLIENT_SECRET` (here: the sandbox's), and writes a report with one row per input
row. Exit code 0 when every row went through, 1 when some failed or were invalid.
"""),
            code(
                """
import sys

csv_path = workdir / "leads.csv"
report_path = workdir / "report.csv"
leads.to_csv(csv_path, index=False)
os.environ.update(
    MARKETO_ENDPOINT=sandbox.endpoint,
    MARKETO_CLIENT_ID=sandbox.client_id,
    MARKETO_CLIENT_SECRET=sandbox.client_secret,
)
!{sys.executable} -m paragon_nb.cli sync {csv_path} --list Newsletter --map Employees=numberOfEmployees --report {report_path} --no-progress > /dev/null 2>&1; echo "exit code $?"
""",
                CHECK,
            ),
            code(
                """
pd.read_csv(report_path)[["row", "status", "reason_code"]]
""",
                CHECK,
            ),
            md("""
There is also a form: `SyncForm(client)` lists the DataFrames in the notebook, shows the
mapping (editable), and has Dry run / Sync buttons. Every button is one `sync_leads` call.
"""),
            code("""
from paragon_nb.widgets.sync_form import SyncForm

SyncForm(client, frames={"fixed": fixed})
"""),
        ]
    )


ROUTE_SPEC = """
%%workflow --deploy
name: Route signups
trigger:
  app_event: Signup
user_settings:
  - id: vip_list
    label: VIP list
    type: marketo_list
    required: true
steps:
  - id: score
    action: python
    function: score_lead
    input:
      company: "{{event.company}}"
      employees: "{{event.employees}}"
  - id: upsert
    action: marketo.create_or_update_lead
    retry: {max_retries: 3, delays: [0.2]}
    fields:
      email: "{{event.email}}"
      company: "{{event.company}}"
  - id: is_vip
    action: condition
    if: {left: "{{steps.score.result}}", op: greater_than, right: 50}
    then:
      - id: add_vip
        action: marketo.add_leads_to_list
        list_id: "{{settings.vip_list}}"
        lead_ids: ["{{steps.upsert.id}}"]
"""

SEND_SCRIPT = '''
key = project.generate_signing_key()
os.environ["USER_TOKEN"] = sign_user_token(key.private_pem, "user-1")
server = project.serve()
script = workdir / "send_event.py"
script.write_text(f"""
import os, httpx
response = httpx.post(
    "{server.url}/projects/{project.id}/sdk/events/trigger",
    headers={{"Authorization": "Bearer " + os.environ["USER_TOKEN"]}},
    json={{"name": "Signup",
           "payload": {{"email": "fay@example.com", "company": "Fay Inc", "employees": 7000}}}},
)
print(response.status_code)
""")
print("wrote", script.name)
'''


def prototyping_03() -> nbformat.NotebookNode:
    return notebook(
        [
            md("""
# Prototyping workflows with magics

The magics make a notebook a small workflow editor: define App Events and workflows in cells,
deploy, fire events, look at runs. This notebook adds what real workflows need: **Python
steps**, **conditions**, **strict events**, a step that **fails and retries**, **replay**, and
the **REST trigger from another process**.
"""),
            code(SCRATCH),
            code("""
from paragon_nb import MarketoSandbox, Project, sign_user_token
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.retry import RetryPolicy

sandbox = MarketoSandbox().start()
vip = sandbox.app.create_list("VIP")


def client_factory(creds):
    # No retries inside the client, so the workflow's own step retries are visible below.
    return MarketoClient(creds.endpoint, creds.client_id, creds.client_secret,
                         identity=creds.identity, retry=RetryPolicy(max_attempts=1))


project = Project.create("Prototypes", path=workdir / "prototypes", client_factory=client_factory)
project.connect_user("user-1", "marketo", endpoint=sandbox.endpoint,
                     client_id=sandbox.client_id, client_secret=sandbox.client_secret)

%load_ext paragon_nb
%paragon project $project
"""),
            md("""
## A Python step and a condition

A `python` step calls a function you register with the project (a prototype of logic your
app or a Paragon Function would hold). A `condition` step branches on `{{ }}` values.
"""),
            code("""
def score_lead(company: str, employees: int) -> int:
    return min(100, employees // 100) + (50 if company.endswith("Inc") else 0)


project.register_function("score_lead", score_lead, output=0)
"""),
            code(
                """
%%app_event Signup
{"email": "ada@example.com", "company": "Engines Inc", "employees": 1200}
""",
                CHECK,
            ),
            code(ROUTE_SPEC, CHECK),
            code("""
project.set_workflow_settings("user-1", "Route signups", {"vip_list": vip["id"]})
project.enable_workflow("user-1", "Route signups")
signups = [
    {"email": "ada@example.com", "company": "Engines Inc", "employees": 1200},
    {"email": "bob@example.com", "company": "Corner Shop", "employees": 3},
]
for payload in signups:
    %paragon event Signup $payload
%paragon runs
"""),
            code(
                """
members = set(sandbox.app.list_members(vip["id"]))
for lead in sorted(sandbox.app.leads(), key=lambda lead: lead["email"]):
    print(lead["email"], "VIP" if lead["id"] in members else "-")
""",
                CHECK,
            ),
            md("""
## Strict events

Paragon accepts any payload. While prototyping you can ask for checks against the example:
"""),
            code(
                """
%config ParagonMagics.strict_events = True
%paragon event Signup '{"email": "carol@example.com", "company": "Acme", "employees": "lots"}'
""",
                CHECK,
                "raises-exception",
            ),
            code("%config ParagonMagics.strict_events = False"),
            md("""
## A failing step, retries, replay

We make Marketo answer `502` to the next two upserts. The `upsert` step retries (3 retries,
0.2 s apart, as its `retry:` says) and succeeds on the third attempt.
"""),
            code(
                """
sandbox.app.set_faults(["leads:seq=502,502"])
%paragon event Signup '{"email": "dan@example.com", "company": "Dan Inc", "employees": 10}'
latest = project.runs().sort_values("started").iloc[-1]
steps = project.run(latest["run_id"])["steps"]
print(latest["status"], {s["step_id"]: s["attempts"] for s in steps})
""",
                CHECK,
            ),
            md("""
When retries are not enough, the run fails and says why. Fix the cause, then **replay** it:
the same payload and settings go through the workflow again.
"""),
            code(
                """
sandbox.app.set_faults(["leads:seq=502,502,502,502"])
%paragon event Signup '{"email": "erin@example.com", "company": "Erin Inc", "employees": 10}'
failed = project.runs().sort_values("started").iloc[-1]
print(failed["status"])
sandbox.app.set_faults(None)
replayed = project.replay(failed["run_id"])
project.wait_idle(timeout=60)
print(project.run(replayed)["status"])
""",
                CHECK,
            ),
            md("""
## The REST trigger, from another process

`project.serve()` serves the project's REST API. Any process holding a user token can send
events, exactly as your backend would send them to Paragon. The token goes through the
environment, never into the notebook's output.
"""),
            code(SEND_SCRIPT),
            code(
                """
import sys

!{sys.executable} {script}
""",
                CHECK,
            ),
            code(
                """
project.wait_idle(timeout=60)
print("fay@example.com" in {lead["email"] for lead in sandbox.app.leads()})
""",
                CHECK,
            ),
        ]
    )


def going_live_04() -> nbformat.NotebookNode:
    return notebook(
        [
            md("""
# Going live: a real Marketo, and Paragon's cloud

Everything in the other notebooks ran against the local sandbox. The same code runs against
a real Marketo instance and, for events, against Paragon's own API. This notebook shows the
switch. Cells that need real credentials **skip cleanly** when none are set, so it still
runs top to bottom offline.
"""),
            code(SCRATCH),
            md("""
## 1. A real Marketo

In Marketo: *Admin > Integration > LaunchPoint* (a Custom Service with an API-only user)
gives the **Client ID** and **Client Secret**; *Admin > Web Services > REST API* gives the
**Endpoint** (ends in `/rest`) and the **Identity** URL. Put them in the environment (never in
the notebook):

```bash
export MARKETO_ENDPOINT=https://123-ABC-456.mktorest.com/rest
export MARKETO_CLIENT_ID=...
export MARKETO_CLIENT_SECRET=...
```
"""),
            md("""
A client built from those values derives the Identity URL from the endpoint and never shows
the secret (not in its repr, its errors or its logs):
"""),
            code(
                """
from paragon_nb import MarketoClient

example = MarketoClient("https://123-ABC-456.mktorest.com/rest", "my-client-id", "my-secret")
print(repr(example))
print(example.identity)
""",
                CHECK,
            ),
            code("""
LIVE = all(os.environ.get(v) for v in
           ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET"))
print("real Marketo credentials:", "set" if LIVE else "not set: the live cells will skip")
"""),
            code("""
if LIVE:
    live = MarketoClient.from_env()
    fields = live.check()            # a token and describe: proves the credentials work
    print(live, "-", len(fields), "lead fields")
else:
    print("skipped (no MARKETO_* variables)")
"""),
            md("""
Syncing a DataFrame is the same call as in `02_bulk_sync_from_dataframe.ipynb`. Start with a
**dry run**: it writes nothing and tells you the cost in API calls against today's quota.
"""),
            code("""
import pandas as pd
from paragon_nb import sync_leads

if LIVE:
    sample = pd.DataFrame({"email": ["paragon-nb-test@example.com"], "firstName": ["Test"]})
    print(sync_leads(sample, live, list="paragon-nb test", dry_run=True, progress=False))
else:
    print("skipped (no MARKETO_* variables)")
"""),
            md("""
## 2. Your users connect their own Marketo

With the local runtime, a user connects through the Connect Portal
(`paragon.connect("marketo")`) exactly as in tutorial 01, typing their instance's values.
Nothing in the workflow changes: it runs against whichever Marketo the user connected.

## 3. Paragon's cloud

In production your app talks to Paragon itself. `Paragon(base_url=...)` speaks the same REST
paths as the local server (`/projects/{id}/sdk/...`), so the code that sent events locally
sends them to Paragon, given your project id and a token signed with the **signing key from
Paragon's dashboard**:

```bash
export PARAGON_PROJECT_ID=...
export PARAGON_SIGNING_KEY_FILE=path/to/private.pem
```
"""),
            code("""
from pathlib import Path

from paragon_nb import Paragon, sign_user_token

CLOUD = bool(os.environ.get("PARAGON_PROJECT_ID") and os.environ.get("PARAGON_SIGNING_KEY_FILE"))
if CLOUD:
    private_pem = Path(os.environ["PARAGON_SIGNING_KEY_FILE"]).read_text()
    token = sign_user_token(private_pem, "user-1", ttl=600)
    cloud = Paragon(base_url=os.environ.get("PARAGON_BASE_URL", "https://api.useparagon.com"))
    cloud.authenticate(os.environ["PARAGON_PROJECT_ID"], token)
    print(cloud.get_user()["integrations"].get("marketo", {}))
else:
    print("skipped (no PARAGON_PROJECT_ID / PARAGON_SIGNING_KEY_FILE)")
"""),
            md("""
## Checklist before going live

- Credentials come from the environment or a secret store, never from a notebook cell.
- Dry-run large syncs and check the planned calls against the 50,000/day quota.
- Keep the journal folder (`$PARAGON_NB_HOME`) between runs: it is what makes re-runs cheap
  and interrupted runs resumable.
- Test workflows locally (notebook 03) with the same YAML you deploy.
"""),
        ]
    )


more = {
    "02_bulk_sync_from_dataframe.ipynb": bulk_sync_02,
    "03_prototyping_workflows.ipynb": prototyping_03,
    "04_going_live.ipynb": going_live_04,
}
