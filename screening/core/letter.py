"""What a progress letter says of one client over a period, section by section, from the
same screenings and the same definitions as the timeline's measures (core/measures.py).
Pure: the caller passes every screening of the client and the period.

The sections are those a consent may share (core/disclosure.SHARES); the caller keeps
only those the consent allows, so a section it does not cover is absent, never zero:

- **attendance**: the random and interval screenings of the period (each specimen once,
  as the rate counts them): due (with an outcome), completed, excused, still open.
- **results**: every collection of the period, for-cause ones too (what was found is a
  clinical fact): negative (dilute ones noted apart, 49 CFR 40.197), unexpected positive
  (how many confirmed by the lab), possible tampering, and still awaiting a result.
- **missed**: every miss of the period, kept apart by kind, since courts count them
  differently: no-show, refusal, unable to provide, and a specimen adulterated or
  substituted (a refusal by 49 CFR 40.191(b)).
- **progress**: the run of negatives as it stands at the period's end, and a one-line
  trend in plain words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from screening.core.measures import (
    MISSED,
    NEGATIVE,
    NEGATIVE_READINGS,
    POSITIVE,
    POSITIVE_READINGS,
    REFUSED_SPECIMENS,
    Screened,
    counted,
    is_miss,
    measures,
    tally,
)
from screening.core.timeline import ScreeningFact
from screening.core.wording import plural

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


# A reading with an outcome; any other (pending, inconclusive) awaits one, but "not
# tested": a cup that tested nothing awaits nobody (core/measures.py's awaiting_lab).
_READ = (*NEGATIVE_READINGS, *POSITIVE_READINGS)
_NOT_AWAITED = (*_READ, "not_tested")


def sections(
    screenings: Sequence[ScreeningFact], first: date, last: date, today: date, missed_counts_as: str
) -> dict[str, dict[str, Any]]:
    """Every section of the letter for the period ``first``..``last`` (pass the client's
    whole history: a run does not restart where the period does)."""
    return {
        "attendance": _attendance(screenings, first, last, missed_counts_as),
        "results": _results(screenings, first, last),
        "missed": _missed(screenings, first, last),
        "progress": _progress(screenings, first, last, today, missed_counts_as),
    }


def _within(s: Screened, first: date, last: date) -> bool:
    return first <= s.day <= last


def _attendance(
    screenings: Sequence[ScreeningFact], first: date, last: date, policy: str
) -> dict[str, Any]:
    rated = [s for s in counted(screenings) if _within(s, first, last)]
    how = [tally(s, policy) for s in rated]
    missed = sum(1 for s in rated if is_miss(s.status, s.validity))
    completed = how.count(NEGATIVE) + how.count(POSITIVE) - (missed if policy == POSITIVE else 0)
    due = completed + missed
    return {
        "due": due,
        "completed": completed,
        "completion_rate": round(completed / due, 3) if due else None,
        "excused": sum(1 for s in rated if s.status == "excused"),
        "open": sum(1 for s in rated if s.status in ("pending", "overdue")),
    }


def _collections(
    screenings: Sequence[ScreeningFact], first: date, last: date
) -> list[ScreeningFact]:
    """Every specimen of the period with something found or awaited, each once (one an
    observed recollection repeats counts through the recollection), not voided, not a
    miss (an adulterated or substituted specimen is a refusal)."""
    replaced = {s.replaces for s in screenings if s.replaces is not None}
    return [
        s
        for s in screenings
        if _within(s, first, last)
        and s.status == "collected"
        and s.reading != "void"
        and s.id not in replaced
        and not is_miss(s.status, s.validity)
    ]


def _results(screenings: Sequence[ScreeningFact], first: date, last: date) -> dict[str, Any]:
    found = _collections(screenings, first, last)
    negatives = [s for s in found if s.reading in NEGATIVE_READINGS]
    # A dilute specimen is noted whether or not an observed recollection repeated it
    # (then the negative counted is the recollection's).
    dilute = [
        s
        for s in screenings
        if _within(s, first, last)
        and s.status == "collected"
        and s.reading in NEGATIVE_READINGS
        and s.validity == "dilute"
    ]
    positives = [s for s in found if s.reading == "unexpected_positive"]
    substances: Counter[str] = Counter()
    for s in positives:
        substances.update(s.unexpected)
    return {
        "negative": len(negatives),
        "dilute": len(dilute),
        "positive": len(positives),
        "confirmed": sum(1 for s in positives if s.confirmed),
        "substances": dict(sorted(substances.items())),
        "possible_tampering": sum(1 for s in found if s.reading == "possible_tampering"),
        "awaiting": sum(1 for s in found if s.reading not in _NOT_AWAITED),
    }


def _missed(screenings: Sequence[ScreeningFact], first: date, last: date) -> dict[str, int]:
    replaced = {s.replaces for s in screenings if s.replaces is not None}
    misses = [
        s
        for s in screenings
        if _within(s, first, last)
        and s.reading != "void"
        and s.id not in replaced
        and is_miss(s.status, s.validity)
    ]
    return {
        "no_show": sum(1 for s in misses if s.status == "no_show"),
        "refused": sum(1 for s in misses if s.status == "refused"),
        "unable_to_provide": sum(1 for s in misses if s.status == "unable_to_provide"),
        "adulterated_or_substituted": sum(1 for s in misses if s.validity in REFUSED_SPECIMENS),
    }


def _progress(
    screenings: Sequence[ScreeningFact], first: date, last: date, today: date, policy: str
) -> dict[str, Any]:
    end = min(last, today)
    then = measures(screenings, end, policy)
    since, passes_misses = _run_start(screenings, end, policy)
    found = [s for s in _collections(screenings, first, last) if s.reading in POSITIVE_READINGS]
    positives = sum(1 for s in found if s.reading == "unexpected_positive")
    tampering = len(found) - positives
    last_positive = max((s.day for s in found), default=None)
    any_result = any(s.reading in _READ for s in _collections(screenings, first, last))
    return {
        "current_run": then.current_negative_run,
        "run_since": since.isoformat() if since and then.current_negative_run else None,
        "longest_run": then.longest_negative_run,
        "positives_in_period": positives,
        "tampering_in_period": tampering,
        "last_positive_on": last_positive.isoformat() if last_positive else None,
        "trend": trend(
            positives,
            tampering,
            last_positive,
            then.current_negative_run,
            since,
            passes_misses,
            any_result,
            last,
        ),
    }


def _run_start(
    screenings: Sequence[ScreeningFact], end: date, policy: str
) -> tuple[date | None, bool]:
    """The day of the first negative of the run still going at ``end``, and whether a
    miss kept apart by policy falls inside it (the run passes over it)."""
    start: date | None = None
    passes = False
    for s in counted(s for s in screenings if s.day <= end):
        how = tally(s, policy)
        if how == NEGATIVE:
            if start is None:
                start, passes = s.day, False
        elif how == POSITIVE:
            start, passes = None, False
        elif how == MISSED and start is not None:
            passes = True
    return start, passes


def day_words(day: date, year: int | None = None) -> str:
    """ "3 November", with the year when it is not ``year``: "28 December 2025"."""
    words = f"{day.day} {MONTHS[day.month - 1]}"
    return words if day.year == year else f"{words} {day.year}"


def trend(
    positives: int,
    tampering: int,
    last_positive: date | None,
    run: int,
    since: date | None,
    passes_misses: bool,
    any_result: bool,
    last: date,
) -> str:
    """The progress section's one line: what a reader asks first, in plain words."""
    if last_positive is not None:
        found = [plural(positives, "unexpected positive")] if positives else []
        if tampering:
            found.append(f"{tampering} possible tampering")
        when = day_words(last_positive, last.year)
        return f"{' and '.join(found)} in the period, the last on {when}"
    if run and since is not None:
        # A miss kept apart by policy does not end a run: then "every screening" would
        # say more than the record knows.
        what = "every specimen collected" if passes_misses else "every screening"
        return f"Negative at {what} since {day_words(since, last.year)} ({run} in a row)"
    if not any_result:
        return "No screening result in the period"
    return "No unexpected positive in the period"
