"""The APScheduler trigger of the daily draw, over core/run_times.py's fire times (one
definition for `schedule next` and `schedule run`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from screening.core.run_times import fire_times


def _trigger_class() -> type:
    # APScheduler 3 ships without type hints (no py.typed, no stubs); imported here so
    # that a command that does not schedule never loads it.
    from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]

    class DailyTrigger(BaseTrigger):
        """An APScheduler trigger over ``fire_times``."""

        def __init__(self, at: time, zone: ZoneInfo) -> None:
            self.at, self.zone = at, zone

        def get_next_fire_time(
            self, previous_fire_time: datetime | None, now: datetime
        ) -> datetime | None:
            start = now
            if previous_fire_time is not None:  # as CronTrigger: strictly after the last
                start = min(now, previous_fire_time + timedelta(microseconds=1))
                if start == previous_fire_time:
                    start += timedelta(microseconds=1)
            return next(fire_times(self.at, self.zone, start))

        def __str__(self) -> str:
            return f"daily at {self.at.isoformat()} {self.zone.key}"

    return DailyTrigger


def daily_trigger(at: time, zone: ZoneInfo) -> object:
    """The APScheduler trigger that fires at ``fire_time`` of every local day."""
    return _trigger_class()(at, zone)
