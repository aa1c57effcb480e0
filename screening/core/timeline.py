"""A client's progress: the calendar strip, the events in order, and the measures a
treatment team reads. Pure: the caller gathers the facts and passes "today".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

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
CLEAN = ("negative", "expected_positive")
MISSES = ("no_show", "refused", "unable_to_provide")
POSITIVE = ("unexpected_positive", "possible_tampering", "positive")


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

    @property
    def missed(self) -> bool:
        """One definition of a miss everywhere: no-show, refusal, could not provide, or a
        specimen adulterated or substituted (a refusal by 49 CFR 40.191(b))."""
        return self.status in MISSES or self.validity in ("adulterated", "substituted")

    @property
    def awaiting_lab(self) -> bool:
        return self.status == "collected" and self.reading in ("pending", "inconclusive")


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


@dataclass(frozen=True)
class Measures:
    selected: int
    due: int  # settled: not pending, excused or awaiting the lab
    completed: int
    completion_rate: float | None
    negative_rate: float | None
    current_negative_run: int
    longest_negative_run: int
    days_since_unexpected_positive: int | None
    misses_last_30_days: int
    for_cause: int
    substances_by_month: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "selected": self.selected,
            "due": self.due,
            "completed": self.completed,
            "completion_rate": self.completion_rate,
            "negative_rate": self.negative_rate,
            "current_negative_run": self.current_negative_run,
            "longest_negative_run": self.longest_negative_run,
            "days_since_unexpected_positive": self.days_since_unexpected_positive,
            "misses_last_30_days": self.misses_last_30_days,
            "for_cause": self.for_cause,
            "substances_by_month": self.substances_by_month,
        }


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


def counted(screenings: Iterable[ScreeningFact]) -> list[ScreeningFact]:
    """The screenings the measures count: random and interval ones (for-cause screenings
    are reported apart), not cancelled or voided, and a specimen repeated by an observed
    recollection counted once, through the recollection."""
    screenings = list(screenings)
    replaced = {s.replaces for s in screenings if s.replaces is not None}
    return [
        s
        for s in screenings
        if s.reason != "for_cause"
        and s.id not in replaced
        and s.status not in ("cancelled", "inconclusive")
        and not s.void
    ]


def runs(screenings: Iterable[ScreeningFact]) -> tuple[int, int]:
    """(current, longest) runs of consecutive negative screens, in date order.

    A clean screen (negative, or positive only for what is prescribed) extends the run; a
    positive, tampering or a miss counted as positive ends it; anything else (excused,
    pending, cancelled, inconclusive, a miss counted apart, an unexpected negative, which
    is flagged on its own) neither extends nor ends it.
    """
    current = longest = 0
    for screening in sorted(counted(screenings), key=lambda s: (s.day, s.id)):
        if screening.counts_as in CLEAN:
            current += 1
            longest = max(longest, current)
        elif screening.counts_as in POSITIVE:
            current = 0
    return current, longest


def measures(facts: Facts, today: date) -> Measures:
    """The measures up to ``today``. Rates and runs count random and interval screenings
    (see ``counted``); the last unexpected positive and the substances found count every
    collection, for-cause ones included: they are clinical facts, not statistics."""
    all_until = [s for s in facts.screenings if s.day <= today]
    screenings = counted(all_until)
    settled = [
        s for s in screenings if s.status not in ("pending", "excused") and not s.awaiting_lab
    ]
    completed = [s for s in settled if s.status == "collected"]
    clean = [s for s in completed if s.counts_as in CLEAN]
    current, longest = runs(all_until)
    replaced = {s.replaces for s in all_until if s.replaces is not None}
    findings = [
        s
        for s in all_until
        if s.status == "collected" and not s.void and s.id not in replaced and s.unexpected
    ]
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for s in findings:
        by_month[f"{s.day:%Y-%m}"].update(s.unexpected)
    window = today - timedelta(days=29)
    last = max((s.day for s in findings), default=None)
    return Measures(
        selected=len(screenings),
        due=len(settled),
        completed=len(completed),
        completion_rate=_rate(len(completed), len(settled)),
        negative_rate=_rate(len(clean), len(completed)),
        current_negative_run=current,
        longest_negative_run=longest,
        days_since_unexpected_positive=(today - last).days if last else None,
        misses_last_30_days=sum(1 for s in all_until if s.missed and s.day >= window),
        for_cause=sum(1 for s in all_until if s.reason == "for_cause" and s.status != "cancelled"),
        substances_by_month={
            month: dict(sorted(counts.items())) for month, counts in sorted(by_month.items())
        },
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None
