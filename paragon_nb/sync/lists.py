"""Static-list helpers for the sync: find a list by name or id, explain a missing one,
and the mirror (remove members that are not in the input).

    target = find_list(client, "Newsletter")        # StaticList or None
    ids = mirror_removals(client, target, plan, "email")
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from paragon_nb.errors import MarketoError, MarketoNotFound
from paragon_nb.marketo.client import MarketoClient
from paragon_nb.marketo.models import StaticList

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb.sync.plan import Plan

__all__ = ["find_list", "mirror_removals", "missing_list_message", "remove_members"]


def find_list(client: MarketoClient, name_or_id: str | int) -> StaticList | None:
    """The static list with this id (an int, or a string of digits) or exact name; None
    when there is none. A digit string that is no list id is also tried as a name."""
    if isinstance(name_or_id, bool):
        raise TypeError("list must be a list name or id, not a bool")
    if isinstance(name_or_id, int) or str(name_or_id).strip().isdigit():
        try:
            found = client.get_list(int(name_or_id))
        except MarketoNotFound:
            found = None
        if found is not None or isinstance(name_or_id, int):
            return found
    return client.get_list_by_name(str(name_or_id))


def missing_list_message(client: MarketoClient, name_or_id: str | int) -> str:
    """``list 'X' not found in Marketo; existing lists: ...; pass create_list=True``."""
    try:
        names = [lst.name for lst in islice(client.iter_lists(), 10)]
    except MarketoError:
        names = []
    existing = f"existing lists: {', '.join(repr(n) for n in names)}" if names else "no lists"
    return (
        f"list {name_or_id!r} not found in Marketo ({existing}); pass create_list=True "
        "(CLI --create-list) to create it"
    )


def _norm(value: object) -> str:
    return str(value).strip().lower()


def mirror_removals(
    client: MarketoClient, target: StaticList, plan: Plan, lookup_field: str
) -> list[int]:
    """Ids of the list's members whose lookup value appears nowhere in the input."""
    keep = {_norm(k) for k in plan.keys if k is not None}
    removals: list[int] = []
    for lead in client.iter_list_members(target.id, fields=["id", lookup_field]):
        value = lead.get(lookup_field)
        if value is None or _norm(value) not in keep:
            removals.append(int(lead["id"]))
    return removals


def remove_members(client: MarketoClient, target: StaticList | None, ids: list[int]) -> int:
    """Remove ``ids`` from the list; returns how many were removed. The client sends calls
    of <= 300 and counts ``1015 lead not in list`` as removed."""
    if target is None:
        return 0
    answers = client.remove_from_list(target.id, ids)
    return sum(1 for answer in answers if answer.status.value == "removed")
