"""trigger_event's receipt: runs started, why workflows did not run, idempotency, backpressure."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import BackpressureError, RuntimeStateError
from paragon_nb.runtime.api import EventReceipt
from paragon_nb.runtime.project import Project

from .conftest import LEAD_EXAMPLE, SEED_SPEC, connect
from .fakes import FakeMarketo

WF = "Sync new leads to Marketo"


def test_the_receipt_names_the_event_and_its_runs(seeded: Project) -> None:
    receipt = seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert isinstance(receipt, EventReceipt) and receipt.name == "Lead Created"
    assert str(receipt) == receipt.event_id == seeded.events()[0].id
    assert seeded.wait_idle(5)
    assert list(receipt.run_ids) == list(seeded.runs()["run_id"])
    assert receipt.not_triggered == () and receipt.repeated is False


@pytest.mark.parametrize(
    ("why", "sentence"),
    [
        ("disabled", f"workflow {WF!r} is not enabled for user 'user-1'"),
        ("other user", f"workflow {WF!r} did not run: user 'user-2' has not connected Marketo"),
        ("invalid", f"workflow {WF!r} did not run: user 'user-1''s Marketo credential is INVALID"),
        ("undeployed", f"workflow {WF!r} is not deployed"),
        ("other event", "no deployed workflow is triggered by 'Contact Created'"),
    ],
)
def test_not_triggered_says_why_in_one_sentence(seeded: Project, why: str, sentence: str) -> None:
    sub, name = "user-1", "Lead Created"
    if why == "disabled":
        seeded.disable_workflow("user-1", WF)
    elif why == "other user":
        sub = "user-2"
    elif why == "invalid":
        cred = seeded.user_state("user-1").connection.credential_id  # type: ignore[union-attr]
        seeded._store.set_credential_status(cred, "INVALID", error="revoked", now=0)
    elif why == "undeployed":
        seeded.undeploy(WF)
    else:
        name = "Contact Created"
    receipt = seeded.trigger_event(sub, name, LEAD_EXAMPLE)
    assert receipt.run_ids == () and receipt.not_triggered == (sentence,)


def test_a_draft_never_deployed_is_named(project: Project) -> None:
    project.define_app_event("Lead Created", example=LEAD_EXAMPLE)
    project.add_workflow(SEED_SPEC)
    receipt = project.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
    assert receipt.not_triggered == (f"workflow {WF!r} is not deployed",)


def test_a_repeated_idempotency_key_returns_the_first_receipt_and_records_nothing(
    seeded: Project, marketo: FakeMarketo, clock: FakeClock
) -> None:
    first = seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE, idempotency_key="k-1")
    again = seeded.trigger_event(
        "user-1", "Lead Created", {**LEAD_EXAMPLE, "email": "b@x.com"}, idempotency_key="k-1"
    )
    assert again.repeated and again.event_id == first.event_id
    assert again.run_ids == first.run_ids
    other_user = seeded.trigger_event("user-2", "Lead Created", LEAD_EXAMPLE, idempotency_key="k-1")
    assert other_user.event_id != first.event_id and not other_user.repeated
    assert seeded.wait_idle(5)
    assert len(seeded.events()) == 2 and len(seeded.runs()) == 1
    assert marketo.calls.count("sync_leads") == 1


def test_idempotency_survives_reopening_and_expires_after_24_hours(
    seeded: Project, project_dir: Path, marketo: FakeMarketo, clock: FakeClock
) -> None:
    first = seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE, idempotency_key="k")
    assert seeded.wait_idle(5)
    seeded.close()
    with Project.open(project_dir, clock=clock, client_factory=marketo.factory) as again:
        repeat = again.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE, idempotency_key="k")
        assert repeat.repeated and repeat.event_id == first.event_id
        clock.advance(24 * 3600 + 1)
        late = again.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE, idempotency_key="k")
        assert not late.repeated and late.event_id != first.event_id
        assert len(again.events()) == 2


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, 7])
def test_a_bad_idempotency_key_is_refused_naming_it(seeded: Project, key: object) -> None:
    with pytest.raises(RuntimeStateError, match="idempotency key"):
        seeded.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE, idempotency_key=key)  # type: ignore[arg-type]
    assert seeded.events() == []


def test_beyond_the_queued_run_bound_events_are_refused_and_nothing_is_recorded(
    tmp_path: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    path = tmp_path / "bound"
    with Project.create("B", path=path, clock=clock, client_factory=marketo.factory) as p:
        p.define_app_event("Lead Created", example=LEAD_EXAMPLE)
        p.add_workflow(SEED_SPEC)
        p.deploy(WF)
        connect(p)
        p.set_workflow_settings("user-1", WF, {"marketo_list": "1001"})
        p.enable_workflow("user-1", WF)
        p._engine.close()  # nothing executes: accepted runs stay queued
    with Project.open(
        path, clock=clock, client_factory=marketo.factory, max_queued_runs=2, resume=False
    ) as p:
        p._engine.close()
        p.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        p.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        with pytest.raises(BackpressureError, match="bound of 2") as caught:
            p.trigger_event("user-1", "Lead Created", LEAD_EXAMPLE)
        assert caught.value.retry_after > 0
        assert len(p.events()) == 2
        # an event that starts no run is never refused
        assert p.trigger_event("user-2", "Lead Created", LEAD_EXAMPLE).run_ids == ()
