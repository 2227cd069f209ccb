"""A static list's members as a DataFrame: ``paragon_nb.list_members(client, "Newsletter")``.

One row per lead in the list (Marketo's ``GET /rest/v1/lists/{id}/leads.json``, paged by
``nextPageToken`` in the client), with ``id`` first and then the requested fields in the
order asked for. Read-only: it never changes the list.

    members = list_members(client, "Newsletter", fields=["email", "firstName"])
    members["email"].str.endswith("@example.com").all()
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

import pandas as pd

from paragon_nb.errors import MarketoError, MarketoNotFound
from paragon_nb.marketo.models import StaticList
from paragon_nb.sync.lists import find_list

__all__ = ["DEFAULT_MEMBER_FIELDS", "list_members"]

#: What a reader wants to see first; any REST field name from ``client.describe()`` works.
DEFAULT_MEMBER_FIELDS = ("email", "firstName", "lastName", "company", "updatedAt")


def list_members(
    client: Any, list: str | int | StaticList, *, fields: Sequence[str] | None = None
) -> pd.DataFrame:
    """The leads in static list ``list`` (its name, id or a ``StaticList``) as a DataFrame.

    Columns: ``id`` (Int64) then ``fields`` (default :data:`DEFAULT_MEMBER_FIELDS`); a field
    Marketo leaves out for a lead is missing (``<NA>``). An empty list gives an empty frame
    with those columns. Raises ``MarketoNotFound`` naming the list and a few existing ones
    when there is no such list, and any ``MarketoError`` the calls raise.
    """
    target = list if isinstance(list, StaticList) else find_list(client, list)
    if target is None:
        raise MarketoNotFound(_missing(client, list), code="1013")
    wanted = [f for f in (fields or DEFAULT_MEMBER_FIELDS) if f != "id"]
    rows = client.iter_list_members(int(target.id), fields=["id", *wanted])
    frame = pd.DataFrame.from_records(rows, columns=["id", *wanted])
    frame["id"] = frame["id"].astype("Int64")
    for column in wanted:
        if column in _DATES:
            frame[column] = pd.to_datetime(frame[column], errors="coerce", utc=True)
        elif frame[column].dtype == object and frame[column].map(_scalar).all():
            frame[column] = frame[column].astype("string")  # missing as <NA>, not None
    frame = frame.convert_dtypes()
    frame.attrs["list"] = {"id": int(target.id), "name": target.name}
    return frame


_DATES = frozenset({"createdAt", "updatedAt"})


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _missing(client: Any, name_or_id: Any) -> str:
    try:
        names = [lst.name for lst in islice(client.iter_static_lists(), 10)]
    except MarketoError:
        names = []
    existing = ", ".join(repr(n) for n in names) if names else "none"
    return f"static list {name_or_id!r} not found in Marketo (existing lists: {existing})"
