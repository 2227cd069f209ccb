"""The sync form, headless. Mapping suggestions need only ``describe``; the Dry run / Sync
buttons run against the sandbox in-process."""

from __future__ import annotations

import pandas as pd

from paragon_nb.marketo.models import LeadField
from paragon_nb.widgets.sync_form import IGNORE, UNMAPPED, SyncForm

FIELDS = [
    LeadField(id=1, displayName="Email Address", dataType="email", name="email"),
    LeadField(id=2, displayName="First Name", dataType="string", name="firstName"),
    LeadField(id=3, displayName="Company Name", dataType="string", name="company"),
    LeadField(id=4, displayName="Id", dataType="integer", name="id", read_only=True),
]


class DescribeOnly:
    def describe(self) -> list[LeadField]:
        return FIELDS


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": ["ada@example.com", "bob@example.com"],
            "first_name": ["Ada", "Bob"],
            "shoe size": [38, 44],
        }
    )


def test_mapping_is_suggested_and_editable() -> None:
    form = SyncForm(DescribeOnly(), frames={"leads": _frame()})
    assert form.model.mapping == {
        "Email": "email",
        "first_name": "firstName",
        "shoe size": UNMAPPED,  # never silently ignored
    }
    assert form._columns["Email"].options == (IGNORE, "company", "email", "firstName")
    assert "column 'shoe size' maps to no Marketo field" in form.model.error
    assert "paragon-error" in form._status.value
    form._columns["shoe size"].value = "company"
    assert form.model.error == "" and form._status.value == ""
    assert form.model.mapping["shoe size"] == "company"
    assert form._lookup.options == ("company", "email", "firstName")
    assert form._lookup.value == "email"
    kwargs = form.model._kwargs()
    assert kwargs["mapping"] == {
        "Email": "email",
        "first_name": "firstName",
        "shoe size": "company",
    }
    assert kwargs["ignore"] == []


def test_no_frame_is_a_plain_error() -> None:
    form = SyncForm(DescribeOnly(), frames={})
    form._sync.click()
    assert "Pick a DataFrame first" in form._status.value


def test_dry_run_then_sync_against_the_sandbox() -> None:
    from paragon_nb.sandbox.app import SandboxApp

    app = SandboxApp()
    client = app.client()
    form = SyncForm(client, frames={"leads": _frame()}, ignore=["shoe size"])
    form._list.value = "Newsletter"
    form._create_list.value = True
    form._dry_run.click()
    assert form.model.error == ""
    assert app.lead_count() == 0
    planned = form.model.result.summary["planned_calls"]
    assert form._status.value.startswith("<b>Dry run:</b> would create 2")
    assert form._status.value.endswith(f" · would cost {planned} API calls")
    form._sync.click()
    assert form.model.error == "", form.model.error
    result = form.model.result
    assert list(result.rows["status"]) == ["created", "created"]
    assert app.lead_count() == 2
    calls = form.model.result.summary["calls"]
    assert calls > 0
    assert form._status.value == f"<b>Sync:</b> created 2 · {calls} API calls"
    form._sync.click()  # unchanged rows cost nothing
    assert set(form.model.result.rows["status"]) == {"unchanged"}


def test_an_unmapped_column_stops_the_sync_with_the_did_you_mean() -> None:
    from paragon_nb.sandbox.app import SandboxApp

    app = SandboxApp()
    frame = pd.DataFrame({"email": ["ada@example.com"], "Employees": ["12"]})
    form = SyncForm(app.client(), frames={"leads": frame})
    assert form.model.mapping["Employees"] == UNMAPPED
    assert "did you mean 'numberOfEmployees'" in form.model.error
    form._dry_run.click()
    assert form.model.result is None and "numberOfEmployees" in form.model.error
    form._columns["Employees"].value = IGNORE  # dropped on purpose: now it runs
    form._dry_run.click()
    assert form.model.error == "" and form.model.result is not None


def test_the_callers_mapping_is_honoured() -> None:
    from paragon_nb.sandbox.app import SandboxApp

    app = SandboxApp()
    frame = pd.DataFrame({"email": ["ada@example.com"], "Employees": ["12"]})
    form = SyncForm(
        app.client(), frames={"leads": frame}, mapping={"Employees": "numberOfEmployees"}
    )
    assert form.model.mapping == {"email": "email", "Employees": "numberOfEmployees"}
    assert form.model.error == ""
    form._list.value = "Newsletter"
    form._create_list.value = True
    form._sync.click()
    assert list(form.model.result.rows["status"]) == ["created"]
