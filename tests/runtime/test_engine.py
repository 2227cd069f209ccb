from __future__ import annotations

import threading
from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import (
    MarketoAuthError,
    MarketoRequestError,
    RateLimited,
    TransientMarketoError,
)
from paragon_nb.runtime.project import Project

from .conftest import LEAD_EXAMPLE, SEED_SPEC, connect
from .fakes import CLIENT_SECRET, FakeMarketo

WF = "Sync new leads to Marketo"


def only_run(project: Project) -> dict:
    assert project.wait_idle(5)
    runs = project.runs()
    assert len(runs) == 1, runs
    return project.run(runs.run_id[0])


def steps_by_id(run: dict) -> dict[str, dict]:
    return {s.step_id: s for s in run.steps}


def add_flow(project: Project, steps_yaml: str, *, name: str = "Flow") -> None:
    project.add_workflow(f"name: {name}\ntrigger:\n  app_event: Lead Created\nsteps:\n{steps_yaml}")
    project.deploy(name)
    project.enable_workflow("user-1", name)


def test_seed_flow_puts_the_lead_in_the_picked_list(seeded: Project, marketo: FakeMarketo) -> None:
    event_id = seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE).event_id
    assert [e.id for e in seeded.events()] == [event_id]  # persisted before returning
    run = only_run(seeded)
    assert run.status == "succeeded" and run.event.payload == LEAD_EXAMPLE
    steps = steps_by_id(run)
    assert steps["upsert_lead"].input["fields"]["firstName"] == "Ada"
    assert steps["upsert_lead"].output == {"id": 1, "status": "created"}
    assert steps["add_to_list"].input == {"list_id": 1001, "lead_ids": [1]}
    assert steps["add_to_list"].output["added"] == 1
    assert [s.attempts for s in run.steps] == [1, 1]
    assert marketo.members[1001] == {1}
    assert marketo.leads[1]["email"] == "ada@example.com"
    frame = seeded.runs()
    assert list(frame.columns[:9]) == [
        "run_id",
        "workflow",
        "version",
        "user",
        "event",
        "status",
        "started",
        "duration",
        "error",
    ]
    assert frame.iloc[0]["workflow"] == WF and frame.iloc[0]["event"] == "Lead Created"


@pytest.mark.parametrize("why", ["disabled", "other user", "undeployed", "invalid", "other event"])
def test_events_without_an_enabled_valid_workflow_start_no_run(seeded: Project, why: str) -> None:
    sub, name = "user-1", "Lead Created"
    if why == "disabled":
        seeded.disable_workflow("user-1", WF)
    elif why == "other user":
        sub = "user-2"
    elif why == "undeployed":
        seeded.undeploy(WF)
    elif why == "invalid":
        cred = seeded.user_state("user-1").connection.credential_id  # type: ignore[union-attr]
        seeded._store.set_credential_status(cred, "INVALID", error="revoked", now=0)
    else:
        name = "Contact Created"
    event_id = seeded.trigger_event(sub, name, LEAD_EXAMPLE).event_id
    assert seeded.wait_idle(5)
    assert seeded.runs().empty
    assert seeded.events()[0].id == event_id and seeded.events()[0].run_count == 0


def test_transient_errors_are_retried_on_the_injected_clock(
    seeded: Project, marketo: FakeMarketo, clock: FakeClock
) -> None:
    marketo.fail(
        "sync_leads",
        RateLimited("window full", code="606"),
        TransientMarketoError("bad gateway", code="502"),
    )
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run = only_run(seeded)
    assert run.status == "succeeded"
    assert steps_by_id(run)["upsert_lead"].attempts == 3
    assert clock.sleeps == [10.0, 20.0]


def test_retries_stop_after_five_with_paragons_schedule(
    seeded: Project, marketo: FakeMarketo, clock: FakeClock
) -> None:
    marketo.fail("add_to_list", *[TransientMarketoError("down", code="503")] * 6)
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run = only_run(seeded)
    assert run.status == "failed"
    assert run.error == "step 'add_to_list': [503] down"
    step = steps_by_id(run)["add_to_list"]
    assert step.status == "failed" and step.attempts == 6
    assert clock.sleeps == [10.0, 20.0, 30.0, 50.0, 80.0]
    assert run.duration == pytest.approx(190.0)


def test_final_errors_and_retry_false_fail_at_once(
    seeded: Project, marketo: FakeMarketo, clock: FakeClock
) -> None:
    marketo.fail("sync_leads", MarketoRequestError("Value for field 'email' invalid", code="1003"))
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run = only_run(seeded)
    assert run.status == "failed" and "1003" in run.error
    assert steps_by_id(run)["upsert_lead"].attempts == 1
    assert "add_to_list" not in steps_by_id(run)
    assert clock.sleeps == [] and marketo.calls.count("add_to_list") == 0


def test_retry_false_turns_auto_retry_off(
    project: Project, marketo: FakeMarketo, clock: FakeClock
) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    connect(project)
    add_flow(
        project,
        '  - id: get\n    action: marketo.get_leads\n    values: "{{event.email}}"\n'
        "    retry: false\n",
    )
    marketo.fail("get_leads", TransientMarketoError("down", code="503"))
    project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert only_run(project).status == "failed" and clock.sleeps == []


def test_missing_event_value_fails_the_step_with_its_path(
    seeded: Project, marketo: FakeMarketo
) -> None:
    payload = {k: v for k, v in LEAD_EXAMPLE.items() if k != "company"}
    seeded.trigger_event("user-1", "Lead Created", payload)
    run = only_run(seeded)
    assert run.status == "failed"
    assert "{{event.company}}: no value at event.company" in run.error
    assert marketo.calls.count("sync_leads") == 0


def test_auth_errors_mark_the_credential_invalid(seeded: Project, marketo: FakeMarketo) -> None:
    marketo.fail("sync_leads", MarketoAuthError("access revoked", code="603"))
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert only_run(seeded).status == "failed"
    state = seeded.user_state("user-1")
    assert state.connection is not None and state.connection.status == "INVALID"
    assert state.enabled is False
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    seeded.wait_idle(5)
    assert len(seeded.runs()) == 1  # no run while INVALID
    assert seeded.check_credential("user-1") == "VALID"


def test_condition_python_and_lookup_steps(project: Project, marketo: FakeMarketo) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    seen: list[dict] = []

    def tag(email: str, plan: str) -> dict:
        seen.append({"email": email, "plan": plan})
        return {"tag": f"{plan}:{email}"}

    project.register_function("tag", tag, output={"tag": "x"})
    connect(project)
    project.set_user_meta("user-1", {"Plan": "pro"})
    add_flow(
        project,
        """\
  - id: upsert
    action: marketo.create_or_update_lead
    fields: {email: "{{event.email}}"}
  - id: is_acme
    action: condition
    if: {left: "{{event.company}}", op: equals, right: Acme}
    then:
      - id: tagged
        action: python
        function: tag
        input: {email: "{{event.email}}", plan: "{{user.meta.Plan}}"}
    else:
      - id: fetched
        action: marketo.get_lead_by_id
        lead_id: "{{steps.upsert.id}}"
      - id: found
        action: marketo.get_leads
        filter_type: email
        values: ["{{steps.fetched.lead.email}}"]
""",
    )
    project.trigger_event("user-1", "Lead Created", {**LEAD_EXAMPLE, "company": "Acme"})
    project.trigger_event("user-1", "Lead Created", {**LEAD_EXAMPLE, "email": "b@x.com"})
    assert project.wait_idle(5)
    runs = [project.run(r) for r in project.runs().run_id]
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    first, second = (steps_by_id(r) for r in runs)
    assert first["is_acme"].output == {"result": True, "selectedChoice": "Yes"}
    assert first["tagged"].output == {"result": {"tag": "pro:ada@example.com"}}
    assert "fetched" not in first  # the branch not taken leaves no record
    assert second["is_acme"].output["selectedChoice"] == "No" and "tagged" not in second
    assert second["fetched"].output["lead"]["email"] == "b@x.com"
    assert second["found"].output["count"] == 1
    assert seen == [{"email": "ada@example.com", "plan": "pro"}]


def test_continue_on_failure_makes_the_error_the_output(
    project: Project, marketo: FakeMarketo
) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.register_function("boom", lambda: 1 / 0)
    project.register_function("note", lambda msg: msg.upper())
    connect(project)
    add_flow(
        project,
        """\
  - id: risky
    action: python
    function: boom
    continue_on_failure: true
  - id: check
    action: condition
    if: {left: "{{steps.risky.error.type}}", op: equals, right: ZeroDivisionError}
    then:
      - id: noted
        action: python
        function: note
        input: {msg: "failed with {{steps.risky.error.message}}"}
""",
    )
    project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run = only_run(project)
    steps = steps_by_id(run)
    assert run.status == "succeeded"
    assert steps["risky"].status == "failed"
    assert steps["risky"].error == "ZeroDivisionError: division by zero"
    assert steps["noted"].output == {"result": "FAILED WITH ZERODIVISIONERROR: DIVISION BY ZERO"}


def test_python_step_errors_and_unregistered_functions(
    project: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.register_function("f", lambda: {"ok": True})
    connect(project)
    add_flow(project, "  - id: call\n    action: python\n    function: f\n")
    project.close()
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        again.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        run = only_run(again)
        assert run.status == "failed"
        assert "python function 'f' is not registered" in run.error
        assert "register_function" in run.error


def test_secrets_are_masked_in_run_records(project: Project, marketo: FakeMarketo) -> None:
    project.define_app_event("Lead Created", example={"api_token": "tok-123456"})
    project.register_function("echo", lambda api_token, note: f"{note}")
    connect(project)
    add_flow(
        project,
        """\
  - id: call
    action: python
    function: echo
    input: {api_token: "{{event.api_token}}", note: "the secret is """
        + CLIENT_SECRET
        + '"}\n',
    )
    project.trigger_event("user-1", "Lead Created", {"api_token": "tok-123456"})
    run = only_run(project)
    step = steps_by_id(run)["call"]
    assert step.input["input"] == {"api_token": "***", "note": "the secret is ***"}
    assert step.output == {"result": "the secret is ***"}
    assert CLIENT_SECRET not in repr(run)


def test_replay_uses_the_original_version_by_default(seeded: Project, marketo: FakeMarketo) -> None:
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    first = only_run(seeded)
    seeded.update_workflow(WF, SEED_SPEC.replace("firstName:", "nickname:"))
    assert seeded.deploy(WF) == 2
    again = seeded.run(seeded.replay(first.run_id))
    seeded.wait_idle(5)
    again = seeded.run(again.run_id)
    assert again.status == "succeeded" and again.version == 1
    assert again.replay_of == first.run_id and again.event == first.event
    latest = seeded.run(seeded.replay(first.run_id, version="deployed"))
    seeded.wait_idle(5)
    assert seeded.run(latest.run_id).version == 2
    assert marketo.leads[1]["nickname"] == "Ada"


def test_queued_runs_resume_when_the_project_is_reopened(
    seeded: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    seeded._engine.close()  # as if the process died right after accepting the event
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert list(seeded.runs()["status"]) == ["queued"]
    seeded.close()
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        assert again.wait_idle(5)
        assert list(again.runs()["status"]) == ["succeeded"]
    assert marketo.members[1001] == {1}


def test_a_running_run_resumes_after_its_last_finished_step(
    seeded: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run_id = only_run(seeded).run_id
    # rewind: the upsert finished, the list add was in flight when the process died
    with seeded._store.run_tx() as c:
        c.execute("UPDATE runs SET status = 'running', ended = NULL WHERE id = ?", (run_id,))
        c.execute(
            "UPDATE run_steps SET status = 'running', output = NULL "
            "WHERE run_id = ? AND step_id = 'add_to_list'",
            (run_id,),
        )
    marketo.members[1001].clear()
    calls_before = marketo.calls.count("sync_leads")
    seeded.close()
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        assert again.wait_idle(5)
        run = again.run(run_id)
    assert run.status == "succeeded"
    assert marketo.calls.count("sync_leads") == calls_before  # the upsert was not done twice
    assert marketo.members[1001] == {1}
    assert steps_by_id(run)["add_to_list"].attempts == 2


def test_wait_idle_times_out_while_a_run_is_busy(project: Project) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    gate = threading.Event()
    project.register_function("block", lambda: gate.wait(5))
    connect(project)
    add_flow(project, "  - id: b\n    action: python\n    function: block\n")
    project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert project.wait_idle(0.05) is False
    gate.set()
    assert project.wait_idle(5) is True


def test_concurrent_events_all_complete(seeded: Project, marketo: FakeMarketo) -> None:
    def fire(start: int) -> None:
        for i in range(start, start + 10):
            seeded.trigger_event("user-1", "Lead Created", {**LEAD_EXAMPLE, "email": f"l{i}@x.com"})

    threads = [threading.Thread(target=fire, args=(n * 10,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seeded.wait_idle(10)
    runs = seeded.runs()
    assert len(runs) == 40 and set(runs["status"]) == {"succeeded"}
    assert len(marketo.members[1001]) == 40 and len(seeded.events()) == 40


def test_two_projects_on_one_folder_never_run_a_run_twice(
    project: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    gate, started, calls = threading.Event(), threading.Event(), []

    def slow() -> str:
        calls.append(1)
        started.set()
        gate.wait(5)
        return "done"

    project.register_function("slow", slow)
    connect(project)
    add_flow(project, "  - id: s\n    action: python\n    function: slow\n")
    project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert started.wait(5)
    # a second process-like opener resumes unfinished runs: this one is owned by a live engine
    other = Project.open(project_dir, clock=clock, client_factory=marketo.factory)
    other.register_function("slow", slow)
    assert other.wait_idle(5)
    gate.set()
    assert project.wait_idle(5)
    assert len(calls) == 1 and list(other.runs()["status"]) == ["succeeded"]
    other.close()


def test_owner_liveness() -> None:
    import os
    import socket
    import subprocess
    import sys

    from paragon_nb.runtime.ownership import owner_is_stale

    host = socket.gethostname()
    assert owner_is_stale(f"{host}:{os.getpid()}:closed-engine")
    assert not owner_is_stale(f"other-host:{os.getpid()}:x")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_is_stale(f"{host}:{child.pid}:x")
    assert owner_is_stale("garbage")


@pytest.mark.sqlite_only  # deletes the folder's key file
def test_an_undecryptable_credential_fails_the_run_clearly(
    seeded: Project, project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    seeded.close()
    (project_dir / "secret.key").unlink()  # the key that encrypted the client secret is gone
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        again.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        run = only_run(again)
    assert run.status == "failed"
    assert "cannot be decrypted with the current key" in run.error


def test_parameter_shapes_are_coerced_per_action() -> None:
    from paragon_nb.runtime.steps import ACTIONS

    ids = ACTIONS["marketo.add_leads_to_list"].validate({"list_id": "12", "lead_ids": "1, 2"})
    assert ids.list_id == 12 and ids.lead_ids == [1, 2]
    single = ACTIONS["marketo.add_leads_to_list"].validate({"list_id": 12, "lead_ids": 7})
    assert single.lead_ids == [7]
    leads = ACTIONS["marketo.get_leads"].validate({"filter_type": "company", "values": "Acme, Inc"})
    assert leads.values == ["Acme, Inc"]
    from paragon_nb.errors import StepError

    with pytest.raises(StepError, match=r"bad parameters for marketo\.add_leads_to_list: list_id"):
        ACTIONS["marketo.add_leads_to_list"].validate({"list_id": "Newsletter", "lead_ids": [1]})


def test_a_condition_that_cannot_be_evaluated_fails_the_run(
    project: Project, marketo: FakeMarketo
) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.register_function("never", lambda: 1)
    connect(project)
    add_flow(
        project,
        """\
  - id: big
    action: condition
    if: {left: "{{event.company}}", op: greater_than, right: [1]}
    then:
      - id: after
        action: python
        function: never
""",
    )
    project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    run = only_run(project)
    steps = steps_by_id(run)
    assert run.status == "failed" and run.error.startswith("step 'big': cannot compare")
    assert steps["big"].status == "failed" and steps["big"].output is None
    assert steps["big"].input["op"] == "greater_than" and steps["big"].attempts == 1
    assert "after" not in steps
