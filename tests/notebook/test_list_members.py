"""``paragon_nb.list_members``: a static list's members as a DataFrame (sandbox in process)."""

from __future__ import annotations

import pandas as pd
import pytest

import paragon_nb
from paragon_nb.errors import MarketoNotFound
from paragon_nb.sandbox.app import SandboxApp


@pytest.fixture
def client():
    app = SandboxApp()
    client = app.client()
    frame = pd.DataFrame(
        {"email": [f"reader{i}@example.com" for i in range(650)], "firstName": ["R"] * 650}
    )
    paragon_nb.sync_leads(frame, client, list="Readers", create_list=True, progress=False)
    app.create_list("Empty")
    return client


def test_members_of_a_list_by_name_every_page(client) -> None:
    members = paragon_nb.list_members(client, "Readers", fields=["email", "firstName"])
    assert list(members.columns) == ["id", "email", "firstName"]
    assert len(members) == 650  # three pages of 300
    assert members["email"].str.startswith("reader").all()
    assert str(members["id"].dtype) == "Int64" and members["id"].is_unique
    assert members.attrs["list"]["name"] == "Readers"


def test_by_id_default_fields_and_missing_values(client) -> None:
    list_id = client.get_list_by_name("Readers").id
    members = paragon_nb.list_members(client, list_id)
    assert members.attrs["list"] == {"id": list_id, "name": "Readers"} and len(members) == 650
    assert list(members.columns) == ["id", "email", "firstName", "lastName", "company", "updatedAt"]
    assert members["lastName"].isna().all()  # <NA>, not None
    assert isinstance(members["updatedAt"].dtype, pd.DatetimeTZDtype)


def test_an_empty_list_and_an_unknown_one(client) -> None:
    empty = paragon_nb.list_members(client, "Empty", fields=["email"])
    assert empty.empty and list(empty.columns) == ["id", "email"]
    with pytest.raises(MarketoNotFound, match=r"static list 'Nope' not found.*'Readers'"):
        paragon_nb.list_members(client, "Nope")
