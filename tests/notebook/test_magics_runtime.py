"""The magics over a real runtime Project (no Marketo needed for these paths)."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from paragon_nb.display import RunHistory

SPEC = """\
name: Sync new leads to Marketo
trigger:
  app_event: Lead Created
user_settings:
  - id: marketo_list
    label: Marketo list
    type: marketo_list
    required: true
steps:
  - id: upsert_lead
    action: marketo.create_or_update_lead
    lookup_field: email
    fields:
      email: "{{event.email}}"
      firstName: "{{event.first_name}}"
  - id: add_to_list
    action: marketo.add_leads_to_list
    list_id: "{{settings.marketo_list}}"
    lead_ids: ["{{steps.upsert_lead.id}}"]
"""


def test_event_workflow_deploy_and_trigger_on_a_new_project(ip, tmp_path: Path, capsys) -> None:
    ip.user_ns["where"] = str(tmp_path / "proj")
    ip.run_line_magic("paragon", "project $where")
    magics = ip.magics_manager.registry["ParagonMagics"]
    project = magics.project
    assert (tmp_path / "proj").is_dir()
    schema = ip.run_cell_magic(
        "app_event", "Lead Created", '{"email": "ada@example.com", "first_name": "Ada"}'
    )
    assert "event.first_name: string" in repr(schema)
    diagram = ip.run_cell_magic("workflow", "--deploy", SPEC)
    assert diagram.status == "deployed"
    assert [w.name for w in project.workflows() if w.deployed] == ["Sync new leads to Marketo"]
    # re-running the cell edits the draft instead of failing on the duplicate name
    ip.run_cell_magic("workflow", "", SPEC.replace("firstName", "lastName"))
    ip.user_ns["lead"] = {"email": "ada@example.com", "first_name": "Ada"}
    event_id = ip.run_line_magic("paragon", "event Lead Created $lead --user nobody")
    assert isinstance(event_id, str) and event_id
    said = capsys.readouterr().out
    assert "not triggered: " in said and "Sync new leads to Marketo" in said
    runs = ip.run_line_magic("paragon", "runs")
    assert isinstance(runs, RunHistory) and runs.runs == []  # nobody is connected: no run
    reason = said.split("not triggered: ", 1)[1].splitlines()[0]
    assert repr(runs) == f"No runs yet. The last event 'Lead Created' started no run: {reason}."


def test_runs_before_any_event_give_the_general_hint(ip, tmp_path: Path) -> None:
    ip.run_line_magic("paragon", f"project {tmp_path / 'p'}")
    runs = ip.run_line_magic("paragon", "runs")
    assert repr(runs).startswith("No runs yet. A run starts when an App Event reaches")


def test_bad_reference_fails_deploy_with_one_line(ip, tmp_path: Path) -> None:
    ip.run_line_magic("paragon", f"project {tmp_path / 'proj'}")
    ip.run_cell_magic("app_event", "Lead Created", '{"email": "a@b.c"}')
    bad = SPEC.replace("{{event.first_name}}", "{{event.nickname}}")
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("workflow", "--deploy", bad)
    assert "event.nickname" in str(info.value) and "\n" not in str(info.value)


def test_strict_events_reject_bad_payload(ip, tmp_path: Path) -> None:
    ip.run_line_magic("config", "ParagonMagics.strict_events = True")
    ip.run_line_magic("paragon", f"project {tmp_path / 'proj'}")
    ip.run_cell_magic("app_event", "Lead Created", '{"email": "a@b.c"}')
    with pytest.raises(UsageError, match="EventValidationError"):
        ip.run_line_magic("paragon", """event Lead Created '{"email": 5}'""")


def test_project_can_be_an_open_project_object(ip, tmp_path: Path) -> None:
    from paragon_nb.runtime.project import Project

    project = Project.create("Mine", path=tmp_path / "mine")
    ip.user_ns["mine"] = project
    assert ip.run_line_magic("paragon", "project $mine") is project
    ip.user_ns["nothing"] = 42
    with pytest.raises(UsageError, match="neither a folder nor a Project"):
        ip.run_line_magic("paragon", "project $nothing")


def test_sandbox_start_status_stop(ip, capsys) -> None:
    sandbox = ip.run_line_magic("paragon", "sandbox start")
    assert sandbox.endpoint.startswith("http://127.0.0.1:")
    assert ip.run_line_magic("paragon", "sandbox start") is sandbox  # one per shell
    assert ip.run_line_magic("paragon", "sandbox status") is sandbox
    assert sandbox.client_secret not in repr(sandbox)
    client = sandbox.client()
    try:
        assert client.check()  # it answers
    finally:
        client.close()
    ip.run_line_magic("paragon", "sandbox stop")
    assert ip.run_line_magic("paragon", "sandbox status") is None
    assert "not running" in capsys.readouterr().out


def test_a_new_project_is_named_after_its_folder(ip, tmp_path: Path) -> None:
    project = ip.run_line_magic("paragon", f"project {tmp_path / 'marketo-tutorial'}")
    assert project.name == "marketo-tutorial"


def test_a_paragon_error_from_any_call_shows_as_one_short_block(ip, capsys) -> None:
    from paragon_nb.errors import MappingError

    ip.user_ns["MappingError"] = MappingError
    shown: list = []
    ip.display_pub.publish = lambda data, **kw: shown.append(data)  # what the frontend gets
    result = InteractiveShell.run_cell(
        ip, "raise MappingError(\"column 'Employees' maps to no field; map it with --map\")"
    )
    assert isinstance(result.error_in_exec, MappingError)
    (block,) = shown
    assert block["text/plain"] == (
        "MappingError: column 'Employees' maps to no field\n  map it with --map"
    )
    assert "<details><summary" in block["text/html"] and "Traceback" in block["text/html"]
    assert "Traceback" not in capsys.readouterr().out  # no 40-line traceback besides it

    ip.run_line_magic("config", "ParagonMagics.short_errors = False")
    shown.clear()
    InteractiveShell.run_cell(ip, "raise MappingError('again')")
    assert shown == [] and "Traceback" in capsys.readouterr().out


def test_other_errors_keep_their_traceback(ip, capsys) -> None:
    InteractiveShell.run_cell(ip, "1/0")
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_importing_paragon_nb_inside_ipython_installs_short_errors(ip, monkeypatch) -> None:
    import importlib

    import paragon_nb
    from paragon_nb.errors import ParagonError

    monkeypatch.setattr("IPython.get_ipython", lambda: ip)
    ip.set_custom_exc((), None)
    importlib.reload(paragon_nb)
    assert ip.custom_exceptions == (ParagonError,)
