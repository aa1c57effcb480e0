"""Why a day has no draw to act on: the clinic was closed, no track meets that weekday,
or the site did not exist yet. One answer for `schedule next` (the days ahead) and
`report reconcile` (the days behind), so that a day neither explains is the one that
needs attention: a meeting day nobody drew.

The daily job still fires on such a day (it records the day's empty draw, keeps up and
reveals keys); nobody is selected, so there is nothing for staff to collect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select

from screening.config import WEEKDAYS
from screening.db.models import Closure, LedgerRow
from screening.services.plumbing.context import Context

DAY_NAMES = {
    "mon": "Mondays",
    "tue": "Tuesdays",
    "wed": "Wednesdays",
    "thu": "Thursdays",
    "fri": "Fridays",
    "sat": "Saturdays",
    "sun": "Sundays",
}


@dataclass(frozen=True)
class NoDraw:
    """Why nobody is drawn on a day: ``kind`` for tools (``closed``, ``no_meeting``,
    ``before_start``), ``words`` for staff."""

    kind: str
    words: str


@dataclass(frozen=True)
class DaysOff:
    """What decides the days without a draw between two dates, read once."""

    started: date | None  # the site's first local day (its first ledger entry)
    closures: dict[date, str]  # closures in force, with their reasons
    meeting_weekdays: frozenset[int] | None  # None: every day counts (days = "calendar")

    def why(self, day: date) -> NoDraw | None:
        """Why there is no draw on ``day``, or None when the clinic meets that day."""
        if self.started is not None and day < self.started:
            return NoDraw("before_start", f"before the clinic's first day ({self.started})")
        if day in self.closures:
            return NoDraw("closed", f"clinic closed ({self.closures[day]})")
        if self.meeting_weekdays is not None and day.weekday() not in self.meeting_weekdays:
            return NoDraw("no_meeting", f"no track meets on {DAY_NAMES[WEEKDAYS[day.weekday()]]}")
        return None


def days_off(ctx: Context, first: date, last: date) -> DaysOff:
    """The closures between ``first`` and ``last``, the site's first day and the
    weekdays its tracks meet (from the config in force)."""
    settings = ctx.settings
    with ctx.database.read() as session:
        closures = {
            row.day: row.reason
            for row in session.exec(
                select(Closure).where(
                    Closure.site == ctx.site,
                    Closure.day >= first,
                    Closure.day <= last,
                    col(Closure.withdrawn_seq).is_(None),
                )
            )
        }
        began = session.execute(
            sa.select(sa.func.min(col(LedgerRow.at))).where(col(LedgerRow.site) == ctx.site)
        ).scalar_one()
    meeting = (
        None
        if settings.policy.days == "calendar"
        else frozenset(
            WEEKDAYS.index(name) for track in settings.tracks.values() for name in track.days
        )
    )
    started = began.astimezone(settings.zone).date() if began is not None else None
    return DaysOff(started, closures, meeting)


def why_no_draw(ctx: Context, days: list[date]) -> dict[date, NoDraw]:
    """For each of ``days`` that has no draw to act on, why (the others are left out)."""
    if not days:
        return {}
    known = days_off(ctx, min(days), max(days))
    found = {day: known.why(day) for day in days}
    return {day: why for day, why in found.items() if why is not None}
