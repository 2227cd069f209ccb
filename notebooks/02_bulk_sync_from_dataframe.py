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
# # Bulk sync: a DataFrame of leads into Marketo
#
# The tutorial sends one lead per event. Analysts usually have a **spreadsheet**: hundreds or
# thousands of leads, some of them wrong. `sync_leads(df, client, list=...)` upserts every valid
# row (batches of 300, within Marketo's rate and concurrency limits), adds the leads to a static
# list, and returns **one result row per input row**. This notebook walks through a messy frame:
# dry run, sync, look at the invalid rows, fix them, re-run (unchanged rows cost nothing), resume
# after an outage, and the command-line equivalent.

# %%
import os
import tempfile
from pathlib import Path

# Everything this notebook creates (project, journal, sandbox state) goes to a scratch folder,
# so running it again starts from zero.
workdir = Path(tempfile.mkdtemp(prefix="paragon-tutorial-"))
os.environ["PARAGON_NB_HOME"] = str(workdir / "home")

# %%
import pandas as pd

from paragon_nb import MarketoSandbox, sync_leads

# A local Marketo (MarketoClient.from_env() for a real one). Re-running this cell keeps the
# sandbox that is already running.
if "sandbox" not in globals() or not sandbox.running:
    sandbox = MarketoSandbox().start()
client = sandbox.client()

# %% [markdown]
# ## A realistic, messy frame
#
# Stray spaces and capitals, an address that is not one, a missing email, a duplicate, a
# number of employees that is not a number.

# %%
leads = pd.DataFrame(
    {
        "Email": [
            " Ada@Example.com",
            "grace@example.com",
            "not-an-email",
            None,
            "alan@example.com",
            "grace@example.com",
            "katherine@example.com",
            "edsger@example",
        ],
        "First Name": [
            "Ada",
            "Grace",
            "Nobody",
            "Missing",
            "Alan",
            "Grace B.",
            "Katherine",
            "Edsger",
        ],
        "Company": ["Analytical Engines", "Navy", "?", "?", "Bletchley", "US Navy", "NASA", "TU/e"],
        "Employees": ["12", "1000", "3", "4", "many", "1000", "17000", "500"],
    }
)
leads

# %% [markdown]
# Columns are matched to Marketo's fields by name (`First Name` -> `firstName`). A column that
# matches nothing stops the sync **before anything is written**, with a suggestion:

# %% tags=["nbval-check-output", "raises-exception"]
sync_leads(leads, client, list="Newsletter", create_list=True, dry_run=True)

# %%
mapping = {"Employees": "numberOfEmployees"}

# %% [markdown]
# ## Dry run first
#
# A dry run writes nothing. It reads the existing leads and tells you what would happen to
# each row, and what the real run would cost in API calls (Marketo allows 50,000 a day).

# %% tags=["nbval-check-output"]
plan = sync_leads(
    leads,
    client,
    list="Newsletter",
    create_list=True,
    mapping=mapping,
    dry_run=True,
)
plan.counts

# %%
plan.rows

# %% [markdown]
# ## Sync
#
# The progress bar counts the rows done and the API calls made so far: the same count of
# calls as the summary of the result.

# %%
result = sync_leads(leads, client, list="Newsletter", create_list=True, mapping=mapping)
result

# %% tags=["nbval-check-output"]
result.counts

# %% [markdown]
# Invalid rows were never sent; each says why. Rows on the same email are collapsed to the
# last one (the earlier one is `skipped`, naming the row that was sent).

# %% tags=["nbval-check-output"]
result.rows[result.rows["status"] != "created"][["status", "reason_code"]]

# %% [markdown]
# ## Fix the rows and run again
#
# Only what changed is sent: the sync keeps a journal of what it wrote (a fingerprint per
# lead), so the rows already in Marketo come back `unchanged` and cost no lead writes.

# %% tags=["nbval-check-output"]
fixed = leads.copy()
fixed.loc[2, "Email"] = "nobody@example.com"
fixed.loc[3, "Email"] = "missing@example.com"
fixed.loc[4, "Employees"] = "40"
fixed.loc[7, "Email"] = "edsger@example.nl"

again = sync_leads(fixed, client, list="Newsletter", mapping=mapping)
again.counts

# %% tags=["nbval-check-output"]
writes_before = sandbox.app.stats.write_calls
once_more = sync_leads(fixed, client, list="Newsletter", mapping=mapping)
print(once_more.counts)
print("write calls for this run:", sandbox.app.stats.write_calls - writes_before)

# %% [markdown]
# ## Resume after an outage
#
# Here Marketo answers `502 Bad Gateway` to upserts after the first one (we tell the sandbox
# to), and this client gives up quickly. Rows that could not be written are `failed`, not lost;
# `result.retry()` sends exactly those once Marketo is back. The same journal makes an
# interrupted run (Ctrl-C, a killed kernel) pick up where it stopped when run again.

# %%
from paragon_nb.marketo.retry import RetryPolicy

big = pd.DataFrame(
    {
        "email": [f"reader{i}@example.com" for i in range(900)],
        "firstName": [f"Reader {i}" for i in range(900)],
    }
)
impatient = sandbox.client(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05))
sandbox.app.set_faults(["leads:seq=ok,502,502,502,502,502,502"])
partial = sync_leads(big, impatient, list="Readers", create_list=True)
partial.counts

# %% tags=["nbval-check-output"]
sandbox.app.set_faults(None)  # Marketo is back
resumed = partial.retry()
print(resumed.counts)
print("leads in Marketo:", sandbox.app.lead_count())

# %% [markdown]
# ## The same from the command line
#
# `paragon-nb sync` reads a CSV or Parquet file, uses `MARKETO_ENDPOINT`, `MARKETO_CLIENT_ID`
# and `MARKETO_CLIENT_SECRET` (here: the sandbox's), and writes a report with one row per input
# row. Exit code 0 when every row went through, 1 when some failed or were invalid.

# %% tags=["nbval-check-output"]
import sys

csv_path = workdir / "leads.csv"
report_path = workdir / "report.csv"
leads.to_csv(csv_path, index=False)
os.environ.update(
    MARKETO_ENDPOINT=sandbox.endpoint,
    MARKETO_CLIENT_ID=sandbox.client_id,
    MARKETO_CLIENT_SECRET=sandbox.client_secret,
)
python = sys.executable  # the kernel's Python, where paragon_nb is installed
args = f"{csv_path} --list Newsletter --map Employees=numberOfEmployees --report {report_path}"
# !{python} -m paragon_nb.cli sync {args} --no-progress > /dev/null 2>&1; echo "exit code $?"

# %% tags=["nbval-check-output"]
pd.read_csv(report_path)[["row", "status", "reason_code"]]

# %% [markdown]
# There is also a form: `SyncForm(client)` lists the DataFrames in the notebook, shows the
# mapping (editable; like `sync_leads`, it stops at a column that maps to no field until you
# map or ignore it) and has Dry run / Sync buttons. Every button is one `sync_leads` call.

# %%
from paragon_nb.widgets.sync_form import SyncForm

SyncForm(client, frames={"fixed": fixed}, mapping=mapping)  # the mapping the sync used
