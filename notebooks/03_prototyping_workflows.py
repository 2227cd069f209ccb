# ---
# jupyter:
#   jupytext:
#     custom_cell_magics: workflow,app_event
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Prototyping workflows with magics
#
# The magics make a notebook a small workflow editor: define App Events and workflows in cells,
# deploy, fire events, look at runs. This notebook adds what real workflows need: **Python
# steps**, **conditions**, **strict events**, a step that **fails and retries**, **replay**, and
# the **REST trigger from another process**.

# %%
import os
import tempfile
from pathlib import Path

# Everything this notebook creates (project, journal, sandbox state) goes to a scratch folder,
# so running it again starts from zero.
workdir = Path(tempfile.mkdtemp(prefix="paragon-tutorial-"))
os.environ["PARAGON_NB_HOME"] = str(workdir / "home")

# %%
from paragon_nb import MarketoSandbox, Project, sign_user_token
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.retry import RetryPolicy

# Re-running this cell keeps the sandbox that is already running (and its VIP list).
if "sandbox" not in globals() or not sandbox.running:
    sandbox = MarketoSandbox().start()
    vip = sandbox.app.create_list("VIP")


# %%
def client_factory(creds):
    # No retries inside the client, so the workflow's own step retries are visible below.
    return MarketoClient(
        creds.endpoint,
        creds.client_id,
        creds.client_secret,
        identity=creds.identity,
        retry=RetryPolicy(max_attempts=1),
    )


project = Project.create("Prototypes", path=workdir / "prototypes", client_factory=client_factory)
project.connect_user(
    "user-1",
    "marketo",
    endpoint=sandbox.endpoint,
    client_id=sandbox.client_id,
    client_secret=sandbox.client_secret,
)

# %load_ext paragon_nb
# %paragon project $project

# %% [markdown]
# ## A Python step and a condition
#
# A `python` step calls a function you register with the project (a prototype of logic your
# app or a Paragon Function would hold). A `condition` step branches on `{{ }}` values.


# %%
def score_lead(company: str, employees: int) -> int:
    return min(100, employees // 100) + (50 if company.endswith("Inc") else 0)


project.register_function("score_lead", score_lead, output=0)

# %% tags=["nbval-check-output"] magic_args="Signup" language="app_event"
# {"email": "ada@example.com", "company": "Engines Inc", "employees": 1200}

# %% tags=["nbval-check-output"] magic_args="--deploy" language="workflow"
# name: Route signups
# trigger:
#   app_event: Signup
# user_settings:
#   - id: vip_list
#     label: VIP list
#     type: marketo_list
#     required: true
# steps:
#   - id: score
#     action: python
#     function: score_lead
#     input:
#       company: "{{event.company}}"
#       employees: "{{event.employees}}"
#   - id: upsert
#     action: marketo.create_or_update_lead
#     retry: {max_retries: 3, delays: [0.2]}
#     fields:
#       email: "{{event.email}}"
#       company: "{{event.company}}"
#   - id: is_vip
#     action: condition
#     if: {left: "{{steps.score.result}}", op: greater_than, right: 50}
#     then:
#       - id: add_vip
#         action: marketo.add_leads_to_list
#         list_id: "{{settings.vip_list}}"
#         lead_ids: ["{{steps.upsert.id}}"]

# %%
project.set_workflow_settings("user-1", "Route signups", {"vip_list": vip["id"]})
project.enable_workflow("user-1", "Route signups")
ada = {"email": "ada@example.com", "company": "Engines Inc", "employees": 1200}
bob = {"email": "bob@example.com", "company": "Corner Shop", "employees": 3}
# %paragon event Signup $ada
# %paragon event Signup $bob
# %paragon runs

# %% tags=["nbval-check-output"]
members = set(sandbox.app.list_members(vip["id"]))
for lead in sorted(sandbox.app.leads(), key=lambda lead: lead["email"]):
    print(lead["email"], "VIP" if lead["id"] in members else "-")

# %% [markdown]
# ## Strict events
#
# Paragon accepts any payload. While prototyping you can ask for checks against the example:

# %% tags=["nbval-check-output", "raises-exception"]
# %config ParagonMagics.strict_events = True
# %paragon event Signup '{"email": "carol@example.com", "company": "Acme", "employees": "lots"}'

# %%
# %config ParagonMagics.strict_events = False

# %% [markdown]
# ## A failing step, retries, replay
#
# We make Marketo answer `502` to the next two upserts. The `upsert` step retries (3 retries,
# 0.2 s apart, as its `retry:` says) and succeeds on the third attempt.

# %% tags=["nbval-check-output"]
sandbox.app.set_faults(["leads:seq=502,502"])
# %paragon event Signup '{"email": "dan@example.com", "company": "Dan Inc", "employees": 10}'
latest = project.runs().sort_values("started").iloc[-1]
steps = project.run(latest["run_id"]).steps
print(latest["status"], {s.step_id: s.attempts for s in steps})

# %% [markdown]
# When retries are not enough, the run fails and says why. Fix the cause, then **replay** it:
# the same payload and settings go through the workflow again.

# %% tags=["nbval-check-output"]
sandbox.app.set_faults(["leads:seq=502,502,502,502"])
# %paragon event Signup '{"email": "erin@example.com", "company": "Erin Inc", "employees": 10}'
failed = project.runs().sort_values("started").iloc[-1]
print(failed["status"])
sandbox.app.set_faults(None)
replayed = project.replay(failed["run_id"])
project.wait_idle(timeout=60)
print(project.run(replayed).status)

# %% [markdown]
# ## The REST trigger, from another process
#
# `project.serve()` serves the project's REST API. Any process holding a user token can send
# events, exactly as your backend would send them to Paragon. The token goes through the
# environment, never into the notebook's output.

# %%
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

# %% tags=["nbval-check-output"]
import sys

python = sys.executable  # the kernel's Python, where paragon_nb is installed
# !{python} {script}

# %% tags=["nbval-check-output"]
project.wait_idle(timeout=60)
print("fay@example.com" in {lead["email"] for lead in sandbox.app.leads()})

# %% [markdown]
# ## A fan-out over a list of leads
#
# A **Fan Out** step runs its steps once per element of an array, all at once, and the workflow
# goes on when every element is done. Inside, `{{steps.<id>.instance}}` is the element. Here
# one event carries 1,000 leads: their upserts share Marketo calls (at most 300 records each),
# so the sandbox sees 4 upsert calls, not 1,000.

# %% tags=["nbval-check-output"] magic_args="Leads Imported" language="app_event"
# {"source": "Webinar", "leads": [{"email": "ada@example.com", "company": "Engines Inc"}]}

# %% tags=["nbval-check-output"] magic_args="--deploy" language="workflow"
# name: Import lead lists
# trigger:
#   app_event: Leads Imported
# steps:
#   - id: each_lead
#     action: fan_out
#     over: "{{event.leads}}"
#     steps:
#       - id: upsert
#         action: marketo.create_or_update_lead
#         fields:
#           email: "{{steps.each_lead.instance.email}}"
#           company: "{{steps.each_lead.instance.company}}"
#           leadSource: "{{event.source}}"

# %% tags=["nbval-check-output"]
project.enable_workflow("user-1", "Import lead lists")
imported = [{"email": f"lead{i}@example.com", "company": f"Company {i}"} for i in range(1000)]
UPSERTS = "POST /rest/v1/leads.json"
upserts_before = sandbox.app.stats.calls_by_route[UPSERTS]
receipt = project.trigger_event("user-1", "Leads Imported", {"source": "Web", "leads": imported})
project.wait_idle(timeout=120)
run = project.run(receipt.run_ids[0])
print(run.status, "- leads:", len(run.steps[0].output["results"]))
print("upsert calls:", sandbox.app.stats.calls_by_route[UPSERTS] - upserts_before)
print("tasks:", run.task_count)  # one per upsert, as Paragon counts; the fan-out is free

# %% [markdown]
# ## A scheduled workflow, over a simulated week
#
# A **Scheduler** trigger runs a workflow for every user who enabled it, every N
# seconds/minutes/hours/days or on a cron expression, in an IANA time zone (Paragon's default
# is America/Los_Angeles; a user's `timezone` metadata overrides it). A project on the real
# clock checks its schedules every second by itself. To see a whole week without waiting, we
# open a second project on a simulated clock and move it forward: `project.tick()` does what is
# due at the clock's time (missed ticks, e.g. while the project was closed, run once).

# %%
from paragon_nb.clock import FakeClock  # a clock that only moves when told to

clock = FakeClock()  # 2026-01-01 00:00 UTC
weekly = Project.create("Schedules", path=workdir / "schedules", clock=clock)
weekly.register_function("digest", lambda at: f"digest for {at}", output="")
weekly.add_workflow("""
name: Weekday digest
trigger:
  schedule: {cron: "0 9 * * 1-5"}     # 09:00 on weekdays, in the user's time zone
steps:
  - {id: digest, action: python, function: digest, input: {at: "{{event.scheduled_at}}"}}
""")
weekly.deploy("Weekday digest")
for user, zone in (("user-la", None), ("user-paris", "Europe/Paris")):
    weekly.connect_user(
        user,
        "marketo",
        endpoint=sandbox.endpoint,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    if zone:
        weekly.set_user_meta(user, {"timezone": zone})
    weekly.enable_workflow(user, "Weekday digest")

# %% tags=["nbval-check-output"]
for _ in range(7 * 24):  # a week, an hour at a time
    weekly.tick()
    clock.advance(3600)
weekly.wait_idle(timeout=60)
for _, row in weekly.runs().sort_values(["user", "started"]).iterrows():
    print(row["user"], weekly.run(row["run_id"]).event.payload["scheduled_at"])
weekly.close()

# %% [markdown]
# ## The SDK's proxy, an environment secret, a Field Mapping and Task History
#
# Four more of Paragon's building blocks, each with the same name as there:
#
# - `paragon.request("marketo", path, ...)`: **the proxy**, any Marketo REST call with the
#   user's own credential (it spends from the same Marketo budget as the workflows);
# - `project.set_secret(name, value)`: an **environment secret**, used as `{{secrets.NAME}}`
#   in a step, encrypted at rest and masked in every run record;
# - a **Field Mapping** setting: the user maps each of your app's fields to a Marketo field
#   (picked live from `describe` in the Connect Portal), and Create or Update Lead takes its
#   fields from that mapping;
# - the **Task History API**, read with a project API key (never a user token).

# %% tags=["nbval-check-output"]
from paragon_nb import Paragon

paragon = Paragon(project)
paragon.authenticate(project.id, os.environ["USER_TOKEN"])
answer = paragon.request("marketo", "v1/leads.json?filterType=email&filterValues=ada@example.com")
print([lead["email"] for lead in answer["result"]])

# %% [markdown]
# A secret comes from where you keep secrets (here: a random one, so none is ever written in
# the notebook). The step receives the real value; the run record shows `***`.

# %%
import secrets

project.set_secret("CRM_TOKEN", os.environ.get("CRM_TOKEN") or secrets.token_urlsafe(24))


def tag_in_crm(email: str, token: str) -> dict:
    return {"tagged": email, "sent_with": token}  # a stand-in for a call to your CRM


project.register_function("tag_in_crm", tag_in_crm, output={"tagged": "", "sent_with": ""})

# %% tags=["nbval-check-output"] magic_args="--deploy" language="workflow"
# name: Mapped signups
# trigger:
#   app_event: Signup
# user_settings:
#   - id: lead_fields
#     label: Lead fields
#     type: field_mapping
#     fields: [email, company]
#     required: true
#     tooltip: The Marketo field each of our fields goes to
# steps:
#   - id: upsert
#     action: marketo.create_or_update_lead
#     fields_from: {mapping: "{{settings.lead_fields}}", record: "{{event}}"}
#   - id: tag
#     action: python
#     function: tag_in_crm
#     input: {email: "{{event.email}}", token: "{{secrets.CRM_TOKEN}}"}

# %% [markdown]
# In the Connect Portal the user picks a Marketo field for each app field (the options come
# from their Marketo's `describe`); here we save the same choice in code:

# %%
project.disable_workflow("user-1", "Route signups")
project.set_workflow_settings(
    "user-1", "Mapped signups", {"lead_fields": {"email": "email", "company": "company"}}
)
project.enable_workflow("user-1", "Mapped signups")
paragon.connect("marketo").panel("Mapped signups")

# %% tags=["nbval-check-output"]
receipt = project.trigger_event(
    "user-1", "Signup", {"email": "gus@example.com", "company": "Gus GmbH", "employees": 40}
)
project.wait_idle(timeout=60)
run = project.run(receipt.run_ids[0])
print(run.status, {s.step_id: s.output for s in run.steps if s.step_id == "tag"})
print([(lead["email"], lead["company"]) for lead in sandbox.app.leads()
       if lead["email"] == "gus@example.com"])  # fmt: skip

# %% [markdown]
# **Task History**: your backend reads executions with a project API key (shown once; only its
# digest is stored). Statuses are Paragon's: `EXECUTING`, `FAILED`, `SUCCEEDED`, `DELAYED`.

# %% tags=["nbval-check-output"]
import httpx

os.environ["PARAGON_API_KEY"] = project.create_api_key("tutorial").key
history = httpx.get(
    f"{server.url}/projects/{project.id}/task-history/workflow-executions",
    headers={"Authorization": "Bearer " + os.environ["PARAGON_API_KEY"]},
    params={"workflowId": project.workflow("Mapped signups").id},
).json()
print(history["total"], [e["status"] for e in history["data"]])
print([s["stepId"] for s in history["data"][0]["stepExecutions"]])
