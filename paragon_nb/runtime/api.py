"""The typed values the runtime hands to skins (widgets, magics, display) and routes.

One declaration per shape: routes, widgets and tests import these instead of guessing at
dicts. The runtime builds them; nobody else constructs them except tests.

    receipt = project.trigger_event("user-1", "Lead Created", {"email": "a@x.com"})
    print(receipt)                 # the event id
    receipt.run_ids, receipt.not_triggered
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "CredentialStatus",
    "EventReceipt",
    "InstanceQueue",
    "MARKETO",
    "RunStatus",
    "StepRecord",
    "StepStatus",
]


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
