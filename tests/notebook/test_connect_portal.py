"""Connect Portal driven headless: set ``.value``, ``.click()``, assert on model and view.

Over the real ``Project`` (tmp folder, ``FakeClock``) and the in-process sandbox: the
``project`` and ``app`` fixtures of conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from paragon_nb.marketo.models import StaticList
from paragon_nb.runtime.api import Connection, CredentialStatus, WorkflowSettings
from paragon_nb.runtime.project import Project
from paragon_nb.runtime.workflows import UserSetting
from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.widgets.connect_portal import (
    ConnectPortal,
    ConnectPortalModel,
    identity_for,
)
from paragon_nb.widgets.connect_portal_fields import SharedSettingsPanel
from paragon_nb.widgets.list_picker import ListPicker
from paragon_nb.widgets.settings_form import setting_field

from .conftest import UNREACHABLE_HOST
from .test_magics_runtime import SPEC

ENDPOINT = "http://127.0.0.1:9999/rest"
WORKFLOW = "Sync new leads to Marketo"


def _fill(portal: ConnectPortal, app: SandboxApp, *, secret: str | None = None,
          endpoint: str = ENDPOINT) -> None:  # fmt: skip
    portal._client_id.value = app.client_id
    portal._client_secret.value = app.client_secret if secret is None else secret
    portal._endpoint.value = endpoint


def _connection(project: Project, sub: str = "u1") -> Connection | None:
    return project.user_state(sub).connection


def _entry(project: Project, sub: str = "u1") -> WorkflowSettings | None:
    """The user's stored settings/enabled entry of the seed workflow (None if never saved)."""
    return project.user_state(sub).workflows.get(project.workflow(WORKFLOW).id)


def test_identity_is_prefilled_from_the_endpoint_until_edited(project: Project) -> None:
    portal = ConnectPortal(project, user_id="u1")
    portal._endpoint.value = "https://123-ABC-456.mktorest.com/rest"
    assert portal._identity.value == "https://123-ABC-456.mktorest.com/identity"
    portal._identity.value = "https://custom.example/identity"
    portal._endpoint.value = "https://999-XYZ-000.mktorest.com/rest"
    assert portal._identity.value == "https://custom.example/identity"
    assert identity_for("not a url") == ""


def test_connect_success_shows_connection_with_masked_secret_and_clears_field(
    project: Project, app: SandboxApp
) -> None:
    portal = ConnectPortal(project, user_id="u1")
    assert portal._tabs.titles == ("Connect",)
    _fill(portal, app)
    portal._connect.click()
    assert portal.model.connected, portal.model.error
    assert portal._client_secret.value == ""
    assert portal._tabs.titles == ("Connection", "Configuration")
    shown = portal._connection.value
    secret = app.client_secret
    assert ENDPOINT in shown and app.client_id in shown and secret not in shown
    assert "••••" in shown
    assert secret not in repr(portal) and secret not in repr(portal.model.trait_values())
    assert _connection(project) == Connection(
        credential_id=portal.model._credential_id() or "",
        status=CredentialStatus.VALID,
        endpoint=ENDPOINT,
        client_id=app.client_id,
        identity="http://127.0.0.1:9999/identity",
    )


@pytest.mark.parametrize(
    ("secret", "endpoint", "words"),
    [
        ("wrong", ENDPOINT, "refused the Client ID / Client Secret"),
        (None, f"http://{UNREACHABLE_HOST}/rest", f"Could not reach http://{UNREACHABLE_HOST}"),
        ("", ENDPOINT, "Fill in the Client Secret"),
    ],
)
def test_connect_errors_are_inline_plain_words(
    project: Project, app: SandboxApp, secret: str | None, endpoint: str, words: str
) -> None:
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal, app, secret=secret, endpoint=endpoint)
    portal._connect.click()
    assert not portal.model.connected
    assert words in portal.model.error
    assert words.split(" http")[0] in portal._status.value
    assert portal._tabs.titles == ("Connect",)
    assert _connection(project) is None  # nothing stored


def test_configuration_tab_lists_deployed_workflows_with_settings(
    project: Project, app: SandboxApp
) -> None:
    project.add_workflow(SPEC.replace(WORKFLOW, "Draft only"))  # never deployed
    newsletter, webinar = app.create_list("Newsletter"), app.create_list("Webinar attendees")
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal, app)
    portal._connect.click()
    names = [p.workflow_name for p in portal._panels]
    assert names == [WORKFLOW]  # the undeployed draft is not shown
    panel = portal.panel(WORKFLOW)
    picker = panel.field("marketo_list")
    assert isinstance(picker, ListPicker)
    # the user's lists are there as soon as the account is connected
    assert [o[1] for o in picker._dropdown.options] == [newsletter["id"], webinar["id"]]
    later = app.create_list("Added later")
    picker._refresh.click()
    assert sorted(o[1] for o in picker._dropdown.options) == sorted(
        [newsletter["id"], webinar["id"], later["id"]]
    )
    with pytest.raises(KeyError, match="Sync new leads"):
        portal.panel("nope")


@pytest.mark.parametrize("enabled", [True, False])
def test_a_required_setting_left_empty_is_never_saved(
    project: Project, app: SandboxApp, enabled: bool
) -> None:
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal, app)
    portal._connect.click()
    panel = portal.panel(WORKFLOW)
    panel._enabled.value = enabled
    assert panel.save() is False
    status = panel._status.value
    assert "Not saved: fill in the required setting(s) Marketo list first." in status
    assert "paragon-error" in status and "Saved" not in status
    assert _entry(project) is None  # neither settings stored nor the workflow enabled


def test_required_setting_enforced_before_enabling_then_saved(
    project: Project, app: SandboxApp
) -> None:
    webinar = app.create_list("Webinar")
    portal = ConnectPortal(project, user_id="u1")
    _fill(portal, app)
    portal._connect.click()
    panel = portal.panel(project.workflow(WORKFLOW).id)  # by id works as by name
    panel._enabled.value = True
    panel._save.click()
    assert _entry(project) is None
    picker = panel.field("marketo_list")
    picker._refresh.click()
    picker._dropdown.value = webinar["id"]
    panel._save.click()
    assert _entry(project) == WorkflowSettings(True, {"marketo_list": webinar["id"]})
    assert "enabled" in panel._status.value


def test_reopened_portal_shows_saved_state_and_disconnect_resets(
    project: Project, app: SandboxApp
) -> None:
    newsletter = app.create_list("Newsletter")
    first = ConnectPortal(project, user_id="u1")
    first.connect(endpoint=ENDPOINT, client_id=app.client_id, client_secret=app.client_secret)
    panel = first.panel(WORKFLOW)
    panel.field("marketo_list").value = newsletter["id"]
    panel.enabled = True
    assert panel.save()
    again = ConnectPortal(project, user_id="u1")
    assert again.model.connected and again.model.endpoint == ENDPOINT
    assert again.panel(WORKFLOW).enabled
    assert again.panel(WORKFLOW).field("marketo_list").value == newsletter["id"]
    again._disconnect.click()
    assert not again.model.connected and again._tabs.titles == ("Connect",)
    assert _connection(project) is None


def test_model_usable_without_a_view(project: Project, app: SandboxApp) -> None:
    model = ConnectPortalModel(project, user_id="u9")
    assert model.connect(
        endpoint=ENDPOINT + "/", client_id=f" {app.client_id} ", client_secret=app.client_secret
    )
    assert model.endpoint == ENDPOINT and model.client_id == app.client_id
    assert [wf.name for wf in model.workflows()] == [WORKFLOW]
    [setting] = model.workflows()[0].user_settings
    assert (setting.id, setting.required) == ("marketo_list", True)


class _Credentials:
    """A CredentialSource that is neither a sandbox nor MarketoCredentials."""

    def __init__(self, app: SandboxApp) -> None:
        self.endpoint, self.client_id = ENDPOINT, app.client_id
        self.client_secret = app.client_secret
        self.identity: str | None = None  # derived from the endpoint


def test_credentials_fill_the_form_and_the_secret_never_enters_a_widget(
    project: Project, app: SandboxApp
) -> None:
    portal = ConnectPortal(project, user_id="u1", credentials=_Credentials(app))
    assert portal._endpoint.value == ENDPOINT and portal._client_id.value == app.client_id
    assert portal._client_secret.value == ""
    assert "leave empty" in portal._client_secret.placeholder
    assert portal.connect()  # press Connect with the password field left empty
    assert project.user_state("u1").enabled
    secret = app.client_secret
    assert secret not in repr(portal) and secret not in repr(portal.model.trait_values())
    assert all(secret not in str(v) for v in portal._client_secret.get_state().values())


def test_the_credentials_secret_goes_only_to_their_own_endpoint_and_client_id(
    project: Project, app: SandboxApp
) -> None:
    portal = ConnectPortal(project, user_id="u1", credentials=_Credentials(app))
    portal._endpoint.value = "http://127.0.0.1:9998/rest"  # another instance
    assert not portal.connect()
    assert "Fill in the Client Secret" in portal.model.error


def test_marketo_env_vars_prefill_the_portal(
    project: Project, app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKETO_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("MARKETO_CLIENT_ID", app.client_id)
    monkeypatch.setenv("MARKETO_CLIENT_SECRET", app.client_secret)
    portal = ConnectPortal(project, user_id="u1")
    assert portal.model.credentials_source == "the MARKETO_* environment variables"
    assert portal.connect() and portal._client_secret.value == ""


def test_connection_tab_shows_the_endpoint_normalised(project: Project, app: SandboxApp) -> None:
    portal = ConnectPortal(project, user_id="u1")
    portal.connect(
        endpoint="  " + ENDPOINT + "/v1/ ", client_id=app.client_id, client_secret=app.client_secret
    )
    assert portal.model.endpoint == ENDPOINT
    assert f"<td>{ENDPOINT}</td>" in portal._connection.value


def test_a_filter_set_from_code_shows_in_the_filter_box() -> None:
    picker = ListPicker(
        lambda: [StaticList(id=1, name="Newsletter"), StaticList(id=2, name="Webinar")]
    )
    picker.refresh()
    picker.filter = "news"
    assert picker._filter.value == "news"
    assert "1 of 2 static list(s)" in picker._status.value
    assert [o[1] for o in picker._dropdown.options] == [1]


def test_a_settings_form_shows_tooltips_keeps_whole_numbers_and_saves_only_when_complete() -> None:
    """SettingsForm, the one form code under both the workflow panels and the shared
    Settings section (SharedSettingsPanel here: it needs no project)."""
    specs = [
        UserSetting(id="region", label="Region", required=True, tooltip="Where Marketo is"),
        UserSetting(id="batch", type="number", default=50),
    ]
    saved: list[dict[str, Any]] = []

    def save(settings: dict[str, Any]) -> tuple[bool, str]:
        saved.append(settings)
        return True, "Settings saved."

    form = SharedSettingsPanel(
        specs, {}, field_for=lambda s, v: setting_field(s, v, ListPicker), save=save
    )
    assert form.field("region").tooltip == "Where Marketo is"
    assert form.field("region").description == "Region *"
    assert form.missing() == ["Region"]
    assert not form.save() and saved == []
    assert "Region" in form._status.value
    form.field("region").value = "EU"
    assert form.save()
    assert saved == [{"region": "EU", "batch": 50}] and isinstance(saved[0]["batch"], int)
    assert "Settings saved." in form._status.value
