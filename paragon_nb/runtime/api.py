"""The typed values the runtime hands to skins (widgets, magics, display) and routes.

One declaration per shape: routes, widgets and tests import these instead of guessing at
dicts. The runtime builds them; nobody else constructs them except tests.

    receipt = project.trigger_event("user-1", "Lead Created", {"email": "a@x.com"})
    print(receipt)                 # the event id
    receipt.run_ids, receipt.not_triggered

    state = project.user_state("user-1")            # UserState
    state.connection.status, state.workflow(workflow_id).enabled
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from paragon_nb.runtime.rows import AppEventRow

__all__ = [
    "AppEvent",
    "Connection",
    "CredentialStatus",
    "EventReceipt",
    "EventRecord",
    "InstanceQueue",
    "MARKETO",
    "RunRecord",
    "RunStatus",
    "StepRecord",
    "StepStatus",
    "UserState",
    "WorkflowSettings",
    "WorkflowVersion",
]

#: An App Event as ``project.app_event(name)`` returns it (id, name, example, inferred JSON
#: Schema, created, updated): the stored row itself, declared once in runtime.rows.
AppEvent = AppEventRow


#: the integration name of Marketo (``connect_user(sub, MARKETO, ...)``, ``integrations.marketo``)
MARKETO = "marketo"


class RunStatus(StrEnum):
    """A run's status, as stored in ``runs.status`` and shown in the run history."""

    QUEUED = "queued"
    RUNNING = "running"
    #: parked by a Delay step until ``runs.not_before`` (Task History: DELAYED)
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StepStatus(StrEnum):
    """A step record's status (``run_steps.status``); ``running`` includes waiting for a
    Marketo batch or for a retry."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class CredentialStatus(StrEnum):
    """A stored credential's state (``credentials.status``), the SDK's ``credentialStatus``."""

    VALID = "VALID"
    INVALID = "INVALID"


UNFINISHED = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


@dataclass(frozen=True)
class EventReceipt:
    """What accepting an App Event produced.

    ``run_ids``: one run per deployed workflow on that event, enabled for the user with a VALID
    Marketo credential. ``not_triggered``: one plain sentence per workflow on that event that
    did not run (or one sentence saying nothing listens). ``repeated``: True when the answer
    came from an earlier event with the same ``Idempotency-Key`` (nothing new was created).
    ``str(receipt)`` is the event id.
    """

    event_id: str
    name: str
    run_ids: tuple[str, ...] = ()
    not_triggered: tuple[str, ...] = ()
    repeated: bool = False

    def __str__(self) -> str:
        return self.event_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "name": self.name,
            "run_ids": list(self.run_ids),
            "not_triggered": list(self.not_triggered),
            "repeated": self.repeated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, repeated: bool = False) -> EventReceipt:
        return cls(
            event_id=data["event_id"],
            name=data["name"],
            run_ids=tuple(data.get("run_ids", ())),
            not_triggered=tuple(data.get("not_triggered", ())),
            repeated=repeated,
        )


def _duration(started: float | None, ended: float | None) -> float | None:
    return (ended - started) if ended and started else None


@dataclass(frozen=True)
class EventRecord:
    """An accepted event as ``project.events()`` lists it and a run shows its cause;
    ``received`` in epoch seconds, ``run_count`` the runs it started."""

    id: str
    name: str
    user: str
    payload: dict[str, Any]
    received: float
    run_count: int = 0


@dataclass(frozen=True)
class StepRecord:
    """One step of a run as the run history shows it. ``batch_id`` names the Marketo call the
    step went out in (None when it was sent alone or made no batched call); ``input`` and
    ``output`` have secrets masked; times are epoch seconds."""

    step_id: str
    action: str
    status: str
    attempts: int
    started: float | None
    finished: float | None
    input: Any
    output: Any
    error: str | None
    batch_id: str | None = None
    batch_size: int | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while unfinished)."""
        return _duration(self.started, self.finished)

    @property
    def finished_ok(self) -> bool:
        return self.status == StepStatus.SUCCEEDED

    @property
    def is_finished(self) -> bool:
        return self.status in (StepStatus.SUCCEEDED, StepStatus.FAILED)


@dataclass(frozen=True)
class InstanceQueue:
    """One Marketo instance (endpoint + client id) as ``project.queue()`` shows it."""

    instance: str
    queued: int
    in_flight_calls: int
    calls: int
    records: int
    limiter: str

    @property
    def records_per_call(self) -> float:
        return self.records / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Connection:
    """A user's Marketo credential as the runtime shows it: never its secret. ``status`` is
    VALID until Marketo refuses it (``error`` then says how)."""

    credential_id: str
    status: CredentialStatus
    endpoint: str
    client_id: str
    identity: str | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == CredentialStatus.VALID


@dataclass(frozen=True)
class WorkflowSettings:
    """One user's settings of one workflow and whether they enabled it."""

    enabled: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserState:
    """A Connected User as ``project.user_state(sub)`` returns it (a snapshot; every change
    returns a new one). ``workflows``: workflow id -> :class:`WorkflowSettings` of the
    workflows the user configured; ``shared_settings``: the integration-level settings.
    The SDK's ConnectUser JSON (``GET /sdk/me``) is derived from it in
    :func:`paragon_nb.runtime.connect_shapes.user_state`.
    """

    user_id: str
    meta: dict[str, Any] = field(default_factory=dict)
    connection: Connection | None = None
    workflows: dict[str, WorkflowSettings] = field(default_factory=dict)
    shared_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        """True with a stored credential, VALID or not."""
        return self.connection is not None

    @property
    def enabled(self) -> bool:
        """True when the user's Marketo credential is VALID (the SDK's ``enabled``)."""
        return self.connection is not None and self.connection.valid

    def workflow(self, workflow_id: str) -> WorkflowSettings:
        """The user's settings of ``workflow_id`` (disabled, none set, when never configured)."""
        return self.workflows.get(workflow_id) or WorkflowSettings()


@dataclass(frozen=True)
class RunRecord:
    """One run as ``project.run(run_id)`` returns it: its workflow version, user, status,
    the event that caused it (None for a scheduled or requested run without one) and every
    step record (secrets masked). Times are epoch seconds; ``not_before`` is a waiting
    run's resume time (a Delay); ``task_count`` counts as Paragon does (runtime.tasks)."""

    run_id: str
    workflow: str | None
    workflow_id: str
    version: int
    user: str
    status: RunStatus
    error: str | None
    created: float
    started: float | None
    ended: float | None
    replay_of: str | None
    not_before: float | None
    task_count: int
    event: EventRecord | None
    steps: tuple[StepRecord, ...] = ()

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (None while unfinished)."""
        return _duration(self.started, self.ended)

    def step(self, step_id: str) -> StepRecord:
        """The (first) record of step ``step_id``; KeyError naming the recorded ones."""
        for s in self.steps:
            if s.step_id == step_id:
                return s
        raise KeyError(
            f"run {self.run_id} has no step {step_id!r}; "
            f"recorded: {', '.join(s.step_id for s in self.steps) or 'none'}"
        )


@dataclass(frozen=True)
class WorkflowVersion:
    """One deployed version of a workflow as ``project.versions(name)`` lists it: its
    number, when it was deployed, the App Event it is bound to, its spec (a plain dict) and
    whether it is the live one."""

    version: int
    deployed_at: float
    event: str
    spec: dict[str, Any]
    live: bool
