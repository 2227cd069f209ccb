"""Trust but verify: before rows are skipped as ``unchanged`` on the journal's word, check
that Marketo still holds their leads.

One read call checks a sample of up to 300 of the journal's lead ids (``filterType=id``;
rows journaled without an id, e.g. by an old Bulk Import, are looked up by their lookup
value instead). If every sampled lead is there the journal is trusted. On any miss (a reset
sandbox, leads deleted or merged in Marketo) every settled row is verified (read calls
only, 300 ids per call) and the rows whose lead is gone go back to ``send``: they are
synced (and listed) again. Dry runs do exactly the same reads, so their plan is the real one.

    trusted = verify_settled(client, plan, lookup_field="email", trusted=None)
"""

from __future__ import annotations

import numpy as np

from paragon_nb.marketo.batching import MAX_BATCH
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.sync.plan import Plan

__all__ = ["SAMPLE_SIZE", "verify_settled"]

SAMPLE_SIZE = MAX_BATCH


def _sample(positions: np.ndarray, size: int) -> np.ndarray:
    """Up to ``size`` positions spread evenly over ``positions`` (deterministic: a dry run
    and the real run read the same leads)."""
    if len(positions) <= size:
        return positions
    picks = np.linspace(0, len(positions) - 1, size).round().astype(np.int64)
    return positions[np.unique(picks)]


def _present(
    client: MarketoClient, plan: Plan, positions: np.ndarray, lookup_field: str
) -> np.ndarray:
    """Which of ``positions`` Marketo holds a lead for (bool array), by id where the journal
    has one, else by lookup value."""
    ids = plan.lead_id[positions]
    has_id = np.array([i is not None for i in ids], dtype=bool)
    found = np.zeros(len(positions), dtype=bool)
    if has_id.any():
        wanted = [int(i) for i in ids[has_id]]
        held = {int(lead["id"]) for lead in client.get_leads("id", wanted, fields=["id"])}
        found[has_id] = [i in held for i in wanted]
    if (~has_id).any():
        keys = plan.keys.many(positions[~has_id])
        leads = client.get_leads(lookup_field, keys, fields=["id", lookup_field])
        held_keys = {str(lead.get(lookup_field, "")).strip().lower() for lead in leads}
        found[~has_id] = [str(k).lower() in held_keys for k in keys]
    return found


def verify_settled(
    client: MarketoClient,
    plan: Plan,
    *,
    lookup_field: str,
    trusted: bool | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> bool | None:
    """Check the plan's journal-settled rows against Marketo (see module docstring); rows
    whose lead is gone are moved to ``plan.send``.

    ``trusted`` carries the verdict across the chunks of one streamed sync: ``None`` (not
    sampled yet: sample now), ``True`` (the sample found every lead: trust the rest),
    ``False`` (a miss was seen: verify every settled row). Returns the new verdict."""
    settled = plan.settled
    if len(settled) == 0 or trusted is True:
        return trusted
    if trusted is None:
        ids = plan.lead_id[settled]
        with_id = settled[np.array([i is not None for i in ids], dtype=bool)]
        probe = _sample(with_id if len(with_id) else settled, sample_size)
        probe_found = _present(client, plan, probe, lookup_field)
        if probe_found.all():
            return True
        rest = np.setdiff1d(settled, probe, assume_unique=True)
        missing = [probe[~probe_found]]
    else:
        rest, missing = settled, []
    missing.append(rest[~_present(client, plan, rest, lookup_field)])
    plan.resend(np.sort(np.concatenate(missing)))
    return False
