"""When a Scheduler trigger fires: every N seconds/minutes/hours/days/weeks, or a cron
expression (croniter: the well-kept cron library, so we do not hand-write cron parsing),
in an IANA time zone (zoneinfo).

"Every N units" counts from the moment the schedule first saw the user (its anchor), so
"every 15 minutes" fires 15, 30, 45 minutes after enabling. A cron expression is read in
the user's time zone, so "0 9 * * *" is 09:00 local, across daylight-saving changes.

    check_schedule(trigger)                        # ValueError naming the bad part
    next_fire(trigger, after=t, anchor=a, tz="Europe/Paris")   # epoch seconds > t
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

__all__ = ["EVERY_UNITS", "check_schedule", "next_fire", "zone"]

#: "every N <unit>" units in seconds
EVERY_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0,
               "weeks": 7 * 86400.0}  # fmt: skip


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (ValueError naming it when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is not an IANA name such as America/Los_Angeles or UTC"
        ) from None


def check_schedule(trigger: Any) -> None:
    """ValueError unless exactly one of ``every``/``cron`` is given and each part is valid."""
    if (trigger.every is None) == (trigger.cron is None):
        raise ValueError("a schedule needs exactly one of 'every' (with 'unit') or 'cron'")
    unit = trigger.unit.lower()
    if trigger.every is not None and unit not in EVERY_UNITS:
        raise ValueError(f"schedule unit {trigger.unit!r} is not one of {', '.join(EVERY_UNITS)}")
    if trigger.every is not None and trigger.every * EVERY_UNITS[unit] < 1:
        raise ValueError("a schedule fires at most once a second")
    if trigger.cron is not None and not croniter.is_valid(trigger.cron):
        raise ValueError(
            f"cron expression {trigger.cron!r} is not valid (five fields: minute hour "
            "day-of-month month day-of-week, e.g. '0 9 * * 1-5')"
        )
    zone(trigger.timezone)


def next_fire(trigger: Any, *, after: float, anchor: float, tz: str) -> float:
    """The first fire time strictly after ``after`` (epoch seconds)."""
    if trigger.every is not None:
        period = trigger.every * EVERY_UNITS[trigger.unit.lower()]
        n = math.floor((after - anchor) / period) + 1
        return anchor + max(n, 1) * period
    start = datetime.fromtimestamp(after, zone(tz))
    return float(croniter(trigger.cron, start).get_next(float))
