"""A client's progress: the calendar strip and the events in order. Pure: the caller
gathers the facts and passes "today". The measures (rate, runs, misses) are defined once,
in core/measures.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# One symbol a day; the legend explains them (and the HTML colours them).
LEGEND = {
    "*": "selected, pending",
    "o": "overdue (past its deadline, not collected)",
    "-": "negative",
    "e": "expected positive (prescribed)",
    "p": "positive, presumptive",
    "P": "positive, confirmed",
    "n": "unexpected negative (prescription not found)",
    "T": "possible tampering",
    "d": "dilute or invalid specimen",
    "N": "no-show",
    "R": "refused",
    "U": "unable to provide",
    "E": "excused",
    "x": "cancelled",
    "?": "inconclusive",
    "H": "on hold",
    "C": "clinic closed",
    "·": "meeting day, no screening",
    " ": "not a meeting day",
}
# When two screenings fall on one day, the cell shows the one that matters most.
_RANK = "TPpnNRod*U?eE-x"


@dataclass(frozen=True)
class ScreeningFact:
    id: int
    day: date
    reason: str  # random | interval | for_cause | recollection
    status: str
    counts_as: str  # see core.interpret.counts_as
    reading: str | None = None
    positives: tuple[str, ...] = ()
    confirmed: bool = False
    validity: str | None = None
    excuse: str | None = None
    unexpected: tuple[str, ...] = ()  # analytes read as unexpected positives
    replaces: int | None = None  # the screening a recollection stands in for

    @property
    def void(self) -> bool:
        return self.reading == "void"


@dataclass(frozen=True)
class Event:
    at: datetime
    day: date  # in the site's time zone
    text: str


@dataclass(frozen=True)
class Facts:
    """Everything the timeline shows of one client."""

    # Each stay in the program: (admitted, discharged or None); a re-admission adds one.
    stays: tuple[tuple[date, date | None], ...]
    meeting_days: frozenset[int]  # weekday numbers; all seven under days = "calendar"
    screenings: tuple[ScreeningFact, ...]
    holds: tuple[tuple[date, date], ...] = ()
    closures: frozenset[date] = frozenset()
    events: tuple[Event, ...] = ()


def symbol(screening: ScreeningFact) -> str:
    """The strip's symbol for one screening."""
    by_status = {
        "pending": "*",
        "overdue": "o",
        "no_show": "N",
        "refused": "R",
        "unable_to_provide": "U",
        "excused": "E",
        "cancelled": "x",
        "inconclusive": "?",
    }
    if screening.status in by_status:
        return by_status[screening.status]
    reading = screening.reading
    if reading == "possible_tampering":
        return "T"
    if reading == "unexpected_positive":
        return "P" if screening.confirmed else "p"
    if screening.validity in ("dilute", "invalid"):
        return "d"
    return {
        "expected_positive": "e",
        "unexpected_negative": "n",
        "negative": "-",
        "pending": "*",
    }.get(reading or "", "?")


def day_cell(facts: Facts, day: date, by_day: dict[date, list[ScreeningFact]]) -> str:
    """What the strip shows for ``day``."""
    if not any(start <= day and (end is None or day <= end) for start, end in facts.stays):
        return " "
    found = by_day.get(day)
    if found:
        return min((symbol(s) for s in found), key=_RANK.index)
    if day in facts.closures:
        return "C"
    if any(start <= day <= end for start, end in facts.holds):
        return "H"
    return "·" if day.weekday() in facts.meeting_days else " "


def strip(facts: Facts, first: date, last: date) -> list[tuple[date, list[str]]]:
    """Weeks as rows (Monday first) covering ``first``..``last``; days outside are blank."""
    by_day: dict[date, list[ScreeningFact]] = defaultdict(list)
    for screening in facts.screenings:
        by_day[screening.day].append(screening)
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        cells = []
        for offset in range(7):
            day = monday + timedelta(days=offset)
            cells.append(day_cell(facts, day, by_day) if first <= day <= last else " ")
        weeks.append((monday, cells))
        monday += timedelta(days=7)
    return weeks
