"""The Connect Portal over a real Project and the sandbox (in-process): the seed flow as a
user clicks it — connect, pick the list, enable — then an event lands the lead in that list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paragon_nb.marketo.client import MarketoClient
from paragon_nb.runtime.project import Project
from paragon_nb.widgets.connect_portal import ConnectPortal

from .conftest import ENDPOINT


def test_bad_secret_then_connect_pick_list_enable_and_event_lands(app, project) -> None:
    newsletter = app.create_list("Newsletter")
    app.create_list("Webinar")
    portal = ConnectPortal(project, user_id="user-1")
    portal.connect(endpoint=ENDPOINT, client_id=app.client_id, client_secret="wrong")
    assert not portal.model.connected
    assert "refused the Client ID / Client Secret" in portal._status.value
    portal.connect(endpoint=ENDPOINT, client_id=app.client_id, client_secret=app.client_secret)
    assert portal.model.connected, portal.model.error
    assert app.client_secret not in portal._connection.value
    panel = portal.panel("Sync new leads to Marketo")
    picker = panel.field("marketo_list")
    picker._refresh.click()
    labels = [label for label, _ in picker._dropdown.options]
    assert any(label.startswith("Newsletter") for label in labels), labels
    picker._filter.value = "news"
    picker._dropdown.value = int(newsletter["id"])
    panel._enabled.value = True
    panel._save.click()
    assert "enabled" in panel._status.value, panel._status.value
    project.trigger_event(
        "user-1", "Lead Created", {"email": "ada@example.com", "first_name": "Ada"}
    )
    assert project.wait_idle(timeout=30)
    lead_ids = [lead["id"] for lead in app.leads() if lead["email"] == "ada@example.com"]
    assert lead_ids and set(lead_ids) <= set(app.list_members(int(newsletter["id"])))
    runs = project.runs()
    assert list(runs["status"]) == ["succeeded"]


def test_unreachable_endpoint_is_plain_words(tmp_path: Path) -> None:
    from paragon_nb.marketo.retry import RetryPolicy

    def factory(creds: Any) -> MarketoClient:
        return MarketoClient(
            creds.endpoint,
            creds.client_id,
            creds.client_secret,
            identity=creds.identity,
            retry=RetryPolicy(max_attempts=1),
        )

    with Project.create("P", path=tmp_path / "p", client_factory=factory) as project:
        portal = ConnectPortal(project, user_id="u1")
        # port 9 (discard) on loopback: nothing listens there
        portal.connect(endpoint="http://127.0.0.1:9/rest", client_id="id", client_secret="s")
        assert not portal.model.connected
        assert portal.model.error.startswith("Could not reach http://127.0.0.1:9/rest.")


def test_invalid_credential_asks_to_reconnect(app, project) -> None:
    portal = ConnectPortal(project, user_id="user-1")
    portal.connect(endpoint=ENDPOINT, client_id=app.client_id, client_secret=app.client_secret)
    assert project.check_credential("user-1") == "VALID"
    assert "no longer accepts" not in portal._tabs.children[0].children[1].value
    portal.model.credential_status = "INVALID"  # as reload() reads after a failed recheck
    portal._render()
    assert (
        "Marketo no longer accepts these credentials" in portal._tabs.children[0].children[1].value
    )


def test_list_picker_pages_through_hundreds_of_lists(app, project) -> None:
    for i in range(450):
        app.create_list(f"Campaign {i:03d}")
    portal = ConnectPortal(project, user_id="user-1")
    portal.connect(endpoint=ENDPOINT, client_id=app.client_id, client_secret=app.client_secret)
    picker = portal.panel("Sync new leads to Marketo").field("marketo_list")
    picker._refresh.click()
    assert len(picker.model.lists) == 450  # more than two asset-API pages of 200
    picker._filter.value = "campaign 44"
    assert [label.split(" (")[0] for label, _ in picker._dropdown.options] == [
        f"Campaign {i}" for i in range(440, 450)
    ]
