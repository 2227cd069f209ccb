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
# # Going live: a real Marketo, and Paragon's cloud
#
# Everything in the other notebooks ran against the local sandbox. The same code runs against
# a real Marketo instance and, for events, against Paragon's own API. This notebook shows the
# switch. Cells that need real credentials **skip cleanly** when none are set, so it still
# runs top to bottom offline.

# %%
import os
import tempfile
from pathlib import Path

# Everything this notebook creates (project, journal, sandbox state) goes to a scratch folder,
# so running it again starts from zero.
workdir = Path(tempfile.mkdtemp(prefix="paragon-tutorial-"))
os.environ["PARAGON_NB_HOME"] = str(workdir / "home")

# %% [markdown]
# ## 1. A real Marketo
#
# In Marketo: *Admin > Integration > LaunchPoint* (a Custom Service with an API-only user)
# gives the **Client ID** and **Client Secret**; *Admin > Web Services > REST API* gives the
# **Endpoint** (ends in `/rest`) and the **Identity** URL. Put them in the environment (never in
# the notebook):
#
# ```bash
# export MARKETO_ENDPOINT=https://123-ABC-456.mktorest.com/rest
# export MARKETO_CLIENT_ID=...
# export MARKETO_CLIENT_SECRET=...
# ```

# %% [markdown]
# A client built from those values derives the Identity URL from the endpoint and never shows
# the secret (not in its repr, its errors or its logs):

# %% tags=["nbval-check-output"]
from paragon_nb import MarketoClient

example = MarketoClient("https://123-ABC-456.mktorest.com/rest", "my-client-id", "my-secret")
print(repr(example))
print(example.identity)

# %%
LIVE = all(
    os.environ.get(v) for v in ("MARKETO_ENDPOINT", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET")
)
print("real Marketo credentials:", "set" if LIVE else "not set: the live cells will skip")

# %%
if LIVE:
    live = MarketoClient.from_env()
    fields = live.check()  # a token and describe: proves the credentials work
    print(live, "-", len(fields), "lead fields")
else:
    print("skipped (no MARKETO_* variables)")

# %% [markdown]
# Syncing a DataFrame is the same call as in `02_bulk_sync_from_dataframe.ipynb`. Start with a
# **dry run**: it writes nothing and tells you the cost in API calls against today's quota.

# %%
import pandas as pd

from paragon_nb import sync_leads

if LIVE:
    sample = pd.DataFrame({"email": ["paragon-nb-test@example.com"], "firstName": ["Test"]})
    print(sync_leads(sample, live, list="paragon-nb test", dry_run=True, progress=False))
else:
    print("skipped (no MARKETO_* variables)")

# %% [markdown]
# ## 2. Your users connect their own Marketo
#
# With the local runtime, a user connects through the Connect Portal
# (`paragon.connect("marketo")`) exactly as in tutorial 01, typing their instance's values.
# Nothing in the workflow changes: it runs against whichever Marketo the user connected.
#
# ## 3. Paragon's cloud
#
# In production your app talks to Paragon itself. `Paragon(base_url=...)` speaks the same REST
# paths as the local server (`/projects/{id}/sdk/...`), so the code that sent events locally
# sends them to Paragon, given your project id and a token signed with the **signing key from
# Paragon's dashboard**:
#
# ```bash
# export PARAGON_PROJECT_ID=...
# export PARAGON_SIGNING_KEY_FILE=path/to/private.pem
# ```

# %%
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

# %% [markdown]
# ## Checklist before going live
#
# - Credentials come from the environment or a secret store, never from a notebook cell.
# - Dry-run large syncs and check the planned calls against the 50,000/day quota.
# - Keep the journal folder (`$PARAGON_NB_HOME`) between runs: it is what makes re-runs cheap
#   and interrupted runs resumable.
# - Test workflows locally (notebook 03) with the same YAML you deploy.
