"""paragon_nb: get leads into Marketo from Jupyter.

Public names are imported lazily (``paragon_nb.MarketoClient`` loads httpx, ``sync_leads``
loads pandas), so ``import paragon_nb`` stays cheap. Its one effect: ``df.marketo`` is
registered as soon as pandas is imported (at once if it already is), whatever the order of
``import pandas``, ``import paragon_nb`` and ``%load_ext paragon_nb``.

    from paragon_nb import MarketoSandbox, sync_leads
    with MarketoSandbox() as sandbox:
        result = sync_leads(df, sandbox.client(), list="Newsletter", create_list=True)
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from paragon_nb._imports import lazy_exports, when_imported

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "MarketoClient": "paragon_nb.marketo.client",
    "MarketoSandbox": "paragon_nb.sandbox.server",
    "Paragon": "paragon_nb.runtime.sdk",
    "ParagonError": "paragon_nb.errors",
    "Project": "paragon_nb.runtime.project",
    "SigningKey": "paragon_nb.tokens",
    "SyncResult": "paragon_nb.sync.result",
    "list_members": "paragon_nb.sync.members",
    "sign_user_token": "paragon_nb.tokens",
    "sync_history": "paragon_nb.sync.history",
    "sync_leads": "paragon_nb.sync.runner",
    "verify_user_token": "paragon_nb.tokens",
}

__all__ = [
    "MarketoClient",
    "MarketoSandbox",
    "Paragon",
    "ParagonError",
    "Project",
    "SigningKey",
    "SyncResult",
    "__version__",
    "list_members",
    "load_ipython_extension",
    "sign_user_token",
    "sync_history",
    "sync_leads",
    "verify_user_token",
]

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.errors import ParagonError
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.runtime.project import Project
    from paragon_nb.runtime.sdk import Paragon
    from paragon_nb.sandbox.server import MarketoSandbox
    from paragon_nb.sync.history import sync_history
    from paragon_nb.sync.members import list_members
    from paragon_nb.sync.result import SyncResult
    from paragon_nb.sync.runner import sync_leads
    from paragon_nb.tokens import SigningKey, sign_user_token, verify_user_token


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

# ``df.marketo``: pandas' accessor registry lives in pandas, so the accessor module (which
# imports pandas) is loaded right after pandas is, never before: no pandas, no cost.
when_imported("pandas", "paragon_nb.sync.accessor")

if "IPython" in sys.modules and sys.modules["IPython"].get_ipython() is not None:
    # Inside IPython/Jupyter: a ParagonError from any call shows as one short block (opt out
    # with c.ParagonMagics.short_errors = False). magics.py holds all the IPython code.
    importlib.import_module("paragon_nb.magics").install_on_import(
        sys.modules["IPython"].get_ipython()
    )


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext paragon_nb``: registers the cell magics."""
    from paragon_nb.magics import load_ipython_extension as _load

    _load(ipython)
