"""Connect Portal driven headless: set ``.value``, ``.click()``, assert on model and view."""

from __future__ import annotations

import pytest

from paragon_nb.marketo.models import StaticList
from paragon_nb.widgets.connect_portal import (
    ConnectPortal,
    ConnectPortalModel,
    identity_for,
)
from paragon_nb.widgets.list_picker import ListPicker

from .fakes import SECRET, FakeProject

ENDPOINT = "http://127.0.0.1:9999/rest"


def _fill(portal: ConnectPortal, *, secret: str = SECRET, endpoint: str = ENDPOINT) -> None:
    portal._client_id.value = "abc"
    portal._client_secret.value = secret
    portal._endpoint.value = endpoint


def test_identity_is_prefilled_from_the_endpoint_until_edited() -> None:
    portal = ConnectPortal(FakeProject(), user_id="u1")
    portal._endpoint.value = "https://123-ABC-456.mktorest.com/rest"
    assert portal._identity.value == "https://123-ABC-456.mktorest.com/identity"
    portal._identity.value = "https://custom.example/identity"
    portal._endpoint.value = "https://999-XYZ-000.mktorest.com/rest"
    assert portal._identity.value == "https://custom.example/identity"
    assert identity_for("not a url") == ""


def test_connect_success_shows_connection_with_masked_secret_and_clears_field() -> None:
    project = FakeProject()
    portal = ConnectPortal(project, user_id="u1")
    assert portal._tabs.titles == ("Connect",)
    _fill(portal)
    portal._connect.click()
    assert portal.model.connected
    assert portal._client_secret.value == ""
    assert portal._tabs.titles == ("Connection", "Configuration")
    shown = portal._connection.value
    assert ENDPOINT in shown and "abc" in shown and SECRET not in shown and "••••" in shown
    assert SECRET not in repr(portal) and SECRET not in repr(portal.model.trait_values())
    assert project.calls[0] == (
        "connect_user",
        {"endpoint": ENDPOINT, "client_id": "abc", "identity": "http://127.0.0.1:9999/identity"},
    )


@pytest.mark.parametrize(
    ("secret", "endpoint", "words"),
    [
        ("wrong", ENDPOINT, "refused the Client ID / Client Secret"),
        (SECRET, "http://unreachable.invalid/rest", "Could not reach http://unreachable.invalid"),
        ("", ENDPOINT, "Fill in the Client Secret"),
    ],
)
def test_connect_errors_are_inline_plain_words(secret: str, endpoint: str, words: str) -> None:
    portal = ConnectPortal(FakeProject(), user_id="u1")
    _fill(portal, secret=secret, endpoint=endpoint)
    portal._connect.click()
    assert not portal.model.connected
    assert words in portal.model.error
    assert words.split(" http")[0] in portal._status.value
    assert portal._tabs.titles == ("Connect",)


def test_configuration_tab_lists_deployed_workflows_with_settings() -> None:
    project = FakeProject()
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal)
    portal._connect.click()
    names = [p.workflow_name for p in portal._panels]
    assert names == ["Sync new leads to Marketo"]  # the undeployed draft is not shown
    panel = portal.panel("Sync new leads to Marketo")
    picker = panel.field("marketo_list")
    assert isinstance(picker, ListPicker)
    # the user's lists are there as soon as the account is connected
    assert [o[1] for o in picker._dropdown.options] == [1001, 1002]
    project.lists.append(StaticList(id=1003, name="Added later"))
    picker._refresh.click()
    assert sorted(o[1] for o in picker._dropdown.options) == [1001, 1002, 1003]
    with pytest.raises(KeyError, match="Sync new leads"):
        portal.panel("nope")


@pytest.mark.parametrize("enabled", [True, False])
def test_a_required_setting_left_empty_is_never_saved(enabled: bool) -> None:
    project = FakeProject()
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal)
    portal._connect.click()
    panel = portal.panel("wf-1")
    panel._enabled.value = enabled
    assert panel.save() is False
    status = panel._status.value
    assert "Not saved: fill in the required setting(s) Marketo list first." in status
    assert "paragon-error" in status and "Saved" not in status
    assert not [c for c in project.calls if c[0] in ("enable_workflow", "set_workflow_settings")]


def test_required_setting_enforced_before_enabling_then_saved() -> None:
    project = FakeProject()
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal)
    portal._connect.click()
    panel = portal.panel("wf-1")
    panel._enabled.value = True
    panel._save.click()
    assert not [c for c in project.calls if c[0] == "enable_workflow"]
    picker = panel.field("marketo_list")
    picker._refresh.click()
    picker._dropdown.value = 1002
    panel._save.click()
    assert ("set_workflow_settings", ("wf-1", {"marketo_list": 1002})) in project.calls
    assert ("enable_workflow", "wf-1") in project.calls
    state = project.user_state("u1")["integrations"]["marketo"]["workflowSettings"]["wf-1"]
    assert state == {"enabled": True, "settings": {"marketo_list": 1002}}
    assert "enabled" in panel._status.value


def test_reopened_portal_shows_saved_state_and_disconnect_resets() -> None:
    project = FakeProject()
    first = ConnectPortal(project, user_id="u1")
    first.connect(endpoint=ENDPOINT, client_id="abc", client_secret=SECRET)
    panel = first.panel("wf-1")
    panel.field("marketo_list").value = 1001
    panel.enabled = True
    assert panel.save()
    again = ConnectPortal(project, user_id="u1")
    assert again.model.connected and again.model.endpoint == ENDPOINT
    assert again.panel("wf-1").enabled
    assert again.panel("wf-1").field("marketo_list").value == 1001
    again._disconnect.click()
    assert not again.model.connected and again._tabs.titles == ("Connect",)
    assert project.user_state("u1")["integrations"]["marketo"]["enabled"] is False


def test_model_usable_without_a_view() -> None:
    model = ConnectPortalModel(FakeProject(), user_id="u9")
    assert model.connect(endpoint=ENDPOINT + "/", client_id=" abc ", client_secret=SECRET)
    assert model.endpoint == ENDPOINT and model.client_id == "abc"
    assert [wf["name"] for wf in model.workflows()] == ["Sync new leads to Marketo"]


class _Credentials:
    """Something with endpoint / client_id / client_secret, as a sandbox is."""

    endpoint = ENDPOINT
    client_id = "abc"
    client_secret = SECRET


def test_credentials_fill_the_form_and_the_secret_never_enters_a_widget() -> None:
    project = FakeProject()
    portal = ConnectPortal(project, user_id="u1", credentials=_Credentials())
    assert portal._endpoint.value == ENDPOINT and portal._client_id.value == "abc"
    assert portal._client_secret.value == ""
    assert "leave empty" in portal._client_secret.placeholder
    assert portal.connect()  # press Connect with the password field left empty
    assert project.calls[0][0] == "connect_user"
    assert SECRET not in repr(portal) and SECRET not in repr(portal.model.trait_values())
    assert all(SECRET not in str(v) for v in portal._client_secret.get_state().values())


def test_the_credentials_secret_goes_only_to_their_own_endpoint_and_client_id() -> None:
    portal = ConnectPortal(FakeProject(), user_id="u1", credentials=_Credentials())
    portal._endpoint.value = "http://127.0.0.1:9998/rest"  # another instance
    assert not portal.connect()
    assert "Fill in the Client Secret" in portal.model.error


def test_marketo_env_vars_prefill_the_portal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETO_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("MARKETO_CLIENT_ID", "abc")
    monkeypatch.setenv("MARKETO_CLIENT_SECRET", SECRET)
    portal = ConnectPortal(FakeProject(), user_id="u1")
    assert portal.model.credentials_source == "the MARKETO_* environment variables"
    assert portal.connect() and portal._client_secret.value == ""


def test_connection_tab_shows_the_endpoint_normalised() -> None:
    portal = ConnectPortal(FakeProject(), user_id="u1")
    portal.connect(endpoint="  " + ENDPOINT + "/v1/ ", client_id="abc", client_secret=SECRET)
    assert portal.model.endpoint == ENDPOINT
    assert f"<td>{ENDPOINT}</td>" in portal._connection.value


def test_a_filter_set_from_code_shows_in_the_filter_box() -> None:
    picker = ListPicker(lambda: [{"id": 1, "name": "Newsletter"}, {"id": 2, "name": "Webinar"}])
    picker.refresh()
    picker.filter = "news"
    assert picker._filter.value == "news"
    assert "1 of 2 static list(s)" in picker._status.value
    assert [o[1] for o in picker._dropdown.options] == [1]
