"""The runtime's shared pieces: project options, row dataclasses, the did-you-mean helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from paragon_nb._clock import FakeClock
from paragon_nb.errors import NotFoundError, closest, did_you_mean
from paragon_nb.runtime.project import Project, ProjectOptions
from paragon_nb.runtime.rows import CredentialRow, WorkflowRow

from .conftest import SEED_SPEC, connect
from .fakes import CLIENT_SECRET, FakeMarketo


def test_did_you_mean_names_the_closest_choice_or_nothing() -> None:
    assert closest("Lead Craeted", ["Deal Won", "Lead Created"]) == "Lead Created"
    assert closest("zzz", ["Lead Created"]) is None
    assert did_you_mean("Lead Craeted", ["Lead Created"]) == "; did you mean 'Lead Created'?"
    assert did_you_mean("lst", ["list"], show="settings.{}".format) == (
        "; did you mean settings.list?"
    )
    assert did_you_mean("zzz", ["Lead Created"]) == ""


def test_a_missing_workflow_error_suggests_the_close_name(project: Project) -> None:
    project.add_workflow(SEED_SPEC)
    with pytest.raises(NotFoundError, match="did you mean 'Sync new leads to Marketo'"):
        project.workflow("Sync new leads to Markto")


def test_options_are_said_once_and_keyword_arguments_still_work(
    project_dir: Path, clock: FakeClock, marketo: FakeMarketo
) -> None:
    with Project.create(
        "Demo", path=project_dir, clock=clock, client_factory=marketo.factory, workers=2
    ) as p:
        assert p.options.workers == 2 and p.options.clock is clock
        assert p.options.coalesce is True  # the default, declared once in ProjectOptions
    opts = ProjectOptions(clock=clock, client_factory=marketo.factory, coalesce=False)
    with Project.open(project_dir, options=opts, workers=3) as p:
        assert p.options == ProjectOptions(
            clock=clock, client_factory=marketo.factory, coalesce=False, workers=3
        )
    with pytest.raises(TypeError, match=r"unknown Project option.*worker.*options: clock"):
        Project.open(project_dir, worker=3)


def test_the_store_hands_back_row_dataclasses(project: Project) -> None:
    project.add_workflow(SEED_SPEC)
    connect(project)
    row = project._store.workflow_row("Sync new leads to Marketo")
    assert isinstance(row, WorkflowRow)
    assert row.deployed_version is None and row.draft["trigger"]["app_event"] == "Lead Created"
    cred = project._store.credential("user-1", "marketo")
    assert isinstance(cred, CredentialRow) and cred.status == "VALID"
    assert CLIENT_SECRET not in repr(cred) and cred.secret_enc not in repr(cred)
