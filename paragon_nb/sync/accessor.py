"""The pandas accessor ``df.marketo``: ``df.marketo.sync(client, ...)`` is
``sync_leads(df, client, ...)``. ``import paragon_nb`` (or ``%load_ext paragon_nb``) loads
this module right after pandas is imported, or at once if pandas already is, so the order of
the imports does not matter (``paragon_nb._imports.when_imported``).

    import paragon_nb
    import pandas as pd
    result = df.marketo.sync(sandbox.client(), list="Newsletter", create_list=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover - kept light: loaded whenever pandas is
    from paragon_nb.marketo.client import MarketoClient
    from paragon_nb.sync.result import SyncResult

__all__ = ["MarketoAccessor"]


@pd.api.extensions.register_dataframe_accessor("marketo")
class MarketoAccessor:
    """``df.marketo``: Marketo operations on a DataFrame of leads."""

    def __init__(self, df: pd.DataFrame) -> None:
        self._df = df

    def sync(self, client: MarketoClient, **kwargs: Any) -> SyncResult:
        """Same as :func:`paragon_nb.sync_leads` (same keyword arguments)."""
        from paragon_nb.sync.runner import sync_leads

        return sync_leads(self._df, client, **kwargs)

    def dry_run(self, client: MarketoClient, **kwargs: Any) -> SyncResult:
        """``sync(..., dry_run=True)``: the plan, no writes."""
        return self.sync(client, dry_run=True, **kwargs)
