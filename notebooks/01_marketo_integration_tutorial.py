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
# # Building a Marketo integration, in a notebook
#
# Paragon's tutorial *Building a Marketo Integration* wires an app to its users' Marketo: when
# your app emits a **Lead Created** event, a workflow **creates or updates the lead** in that
# user's Marketo and **adds it to the static list the user picked** when they connected.
#
# This notebook does every step of that tutorial locally, offline:
#
# 1. a Marketo to talk to (the local sandbox plays your user's Marketo instance);
# 2. a project, the **App Event** and the **workflow** (two Marketo steps and a *List* setting);
# 3. deploy, a **signing key** and a **user token**, authenticate like the SDK does;
# 4. the user connects Marketo in the **Connect Portal**, picks a list and enables the workflow;
# 5. send the event with the **SDK** and with the **REST API**, then see the lead in the list
#    and the run in the history.
#
# Run it top to bottom (*Run > Run All Cells*). Nothing needs credentials.

# %%
import os
import tempfile
from pathlib import Path

# Everything this notebook creates (project, journal, sandbox state) goes to a scratch folder,
# so running it again starts from zero.
workdir = Path(tempfile.mkdtemp(prefix="paragon-tutorial-"))
os.environ["PARAGON_NB_HOME"] = str(workdir / "home")

# %% [markdown]
# ## 1. A Marketo to talk to
#
# Your users bring their own Marketo. Here the **sandbox** stands in for one: it speaks
# Marketo's REST API (identity, leads, static lists, limits and error codes) on 127.0.0.1. We
# give it a few static lists, as a real instance would have.

# %%
from paragon_nb import MarketoSandbox

# Re-running this cell keeps the sandbox that is already running (and what it holds).
if "sandbox" not in globals() or not sandbox.running:
    sandbox = MarketoSandbox(
        client_id="tutorial-client",
        # the browser test passes its own secret; otherwise the sandbox makes one up
        client_secret=os.environ.get("TUTORIAL_SANDBOX_SECRET"),
    ).start()
    for name in ("Newsletter", "Webinar attendees", "Trade show 2026"):
        sandbox.app.create_list(name)
sandbox

# %% [markdown]
# ## 2. A project, the App Event and the workflow
#
# `%load_ext paragon_nb` adds the magics. `%paragon project` opens (or creates) a project: a
# folder holding its App Events, workflows, signing key, connected users and runs. A new
# project is named after its folder.

# %%
# %load_ext paragon_nb
# project = %paragon project $workdir/marketo-tutorial
project.name

# %% [markdown]
# An **App Event** is defined by an example payload. The schema inferred from it is what the
# workflow can reference as `{{event.<field>}}`.

# %% tags=["nbval-check-output"] magic_args="Lead Created" language="app_event"
# {
#   "email": "ada@example.com",
#   "first_name": "Ada",
#   "last_name": "Lovelace",
#   "company": "Analytical Engines",
#   "title": "Engineer"
# }

# %% [markdown]
# The **workflow** is the tutorial's: triggered by *Lead Created*, it upserts the lead, then
# adds it to the list in the user's **Marketo list** setting. `{{ }}` is the workflow's own
# templating (resolved per run, never from this notebook). `--deploy` checks every reference
# against the event schema, the settings and earlier steps, then makes it live.

# %% tags=["nbval-check-output"] magic_args="--deploy" language="workflow"
# name: Sync new leads to Marketo
# trigger:
#   app_event: Lead Created
# user_settings:
#   - id: marketo_list
#     label: Marketo list
#     type: marketo_list        # the "List" field: the user's Marketo static lists
#     required: true
# steps:
#   - id: upsert_lead
#     action: marketo.create_or_update_lead
#     lookup_field: email
#     fields:
#       email: "{{event.email}}"
#       firstName: "{{event.first_name}}"
#       lastName: "{{event.last_name}}"
#       company: "{{event.company}}"
#       title: "{{event.title}}"
#   - id: add_to_list
#     action: marketo.add_leads_to_list
#     list_id: "{{settings.marketo_list}}"
#     lead_ids: ["{{steps.upsert_lead.id}}"]

# %% [markdown]
# ## 3. Signing key, user token, authenticate
#
# Your app signs a short-lived **user token** (RS256 JWT) for each of its users with the
# project's **signing key**. The project keeps only the public half (shown below with its
# fingerprint, the `kid` of every token); the private key is shown once: here it stays in a
# variable, never printed. From a shell: `paragon-nb key PROJECT --out private.pem`.

# %%
from paragon_nb import Paragon, sign_user_token

key = project.generate_signing_key()
token = sign_user_token(key.private_pem, "user-1", ttl=3600)
print("the project keeps the public key, fingerprint", key.fingerprint)
print(project.public_key)
print("user token (shortened):", token[:10] + "…")

# %% [markdown]
# `Paragon` mirrors the JavaScript SDK: `authenticate(project_id, token)` checks the token and
# loads the user, exactly as `paragon.authenticate` does in your app's frontend.

# %% tags=["nbval-check-output"]
paragon = Paragon(project)
paragon.authenticate(project.id, token)
user = paragon.get_user()
print(user["userId"], "connected to Marketo:", user["integrations"]["marketo"]["enabled"])

# %% [markdown]
# ## 4. The user connects Marketo in the Connect Portal
#
# `paragon.connect("marketo")` opens the portal. A user types the four values Marketo gives
# them (*Admin > LaunchPoint > View Details* and *Admin > Web Services*). Here the portal is
# given the sandbox (`credentials=sandbox`): the **Endpoint URL** and **Client ID** are filled
# in, and the **Client Secret** is taken from the sandbox when you leave that field empty, so
# no secret is ever shown, typed or saved in this notebook. (Without `credentials=`, the
# `MARKETO_*` environment variables fill it in the same way.)
#
# Press **Connect**: the *Connection* tab shows the endpoint as it is used (normalised) and
# the secret masked. The *Configuration* tab lists the deployed workflow: pick a list in
# **Marketo list** (loaded live from the account), tick **Enabled**, **Save**. Saving without
# a list is refused: the workflow cannot run without one.

# %%
portal = paragon.connect("marketo", credentials=sandbox)
portal

# %% [markdown]
# The same, headless (what the cell below does when the notebook runs on its own): press
# Connect, then choose the list and enable the workflow through the same widgets.

# %%
if os.environ.get("TUTORIAL_INTERACTIVE") == "1":
    print("Connect in the portal above, enable the workflow, then run the cells below.")
else:
    portal.connect()  # presses Connect: the sandbox's secret goes straight to the project
    panel = portal.panel("Sync new leads to Marketo")
    lists = panel.field("marketo_list")
    lists.refresh()  # loads the user's static lists, every page
    lists.filter = "Newsletter"  # what a user types into the Filter box
    lists.value = lists.model.options[0][1]
    panel.enabled = True
    panel.save()
    print(portal.model.message, panel.model.last_saved)

# %% [markdown]
# ## 5. Send the event, with the SDK and with the REST API
#
# `paragon.event(name, payload)` is what your app calls. The REST route is the same one
# Paragon serves: `POST /projects/{id}/sdk/events/trigger` with the user token as Bearer.

# %%
paragon.event(
    "Lead Created",
    {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "title": "Engineer",
    },
)

# %% tags=["nbval-check-output"]
import httpx

server = project.serve()  # the project's REST API on 127.0.0.1
response = httpx.post(
    f"{server.url}/projects/{project.id}/sdk/events/trigger",
    headers={"Authorization": f"Bearer {token}"},
    json={
        "name": "Lead Created",
        "payload": {
            "email": "grace@example.com",
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "Navy",
            "title": "Rear Admiral",
        },
    },
)
print(response.status_code)

# %% [markdown]
# ## 6. The leads are in the list, the runs in the history
#
# Runs execute in the background; `wait_idle` waits for them. Then ask Marketo (the sandbox)
# which leads the list holds.

# %% tags=["nbval-check-output"]
project.wait_idle(timeout=60)
marketo = sandbox.client()
newsletter = marketo.get_list_by_name("Newsletter")
members = {m["email"] for m in marketo.list_members(newsletter.id, fields=["email"])}
for email in ("ada@example.com", "grace@example.com"):
    print(f"{email} in list {newsletter.name!r}: {email in members}")

# %%
# %paragon runs --last 5

# %% [markdown]
# Each row opens onto its steps: the rendered input, the output (the lead id, the list
# result), attempts and timing. `project.runs()` gives the same as a DataFrame.
#
# That is the whole tutorial. Next: `02_bulk_sync_from_dataframe.ipynb` (many leads at once),
# `03_prototyping_workflows.ipynb` (conditions, Python steps, retries, replay) and
# `04_going_live.ipynb` (a real Marketo and Paragon's cloud). The sandbox and the REST
# server stop with the kernel (or call `server.stop()` and `sandbox.stop()`).
