"""The progress measures a treatment team reads, defined once: every output that shows a
negative rate, a run, a miss count or the days since the last unexpected positive (the
timeline in each format, `report team` in each format) gets them from ``measures``.

The definition, screening by screening (``tally``):

- **Counted** for the rate, the runs and the completion: random and interval screenings
  (for-cause screenings are reported apart), each specimen once (an observed recollection
  stands in for the screening it repeats, and counts as that one would: a recollection of
  a for-cause specimen is reported apart with it, however many recollections it took), a
  voided result (recorded against the wrong client) nowhere.
- **Negative**: a collected specimen that reads negative for everything not prescribed:
  negative, positive only for what is prescribed (expected positive), or an unexpected
  negative (a prescribed medication not found; flagged on its own as possible diversion,
  but nothing unprescribed was found). A dilute negative is a negative (49 CFR 40.197).
- **Positive**: a collected specimen that reads unexpected positive (presumptive or
  confirmed; a confirmation that overturns it reads negative again) or possible tampering
  (an invalid specimen, a temperature out of range, a drug without its metabolite).
- **Miss**: a no-show, a refusal, a client unable to provide a specimen (a refusal by 49
  CFR 40.191(a)(5) unless excused with a medical reason), or an adulterated or substituted
  specimen (a refusal by 49 CFR 40.191(b)). How a miss counts is the policy's
  ``[results] missed_counts_as``: "positive" counts it as a positive (it is in the rate
  and ends a run); "missed" keeps it apart (out of the rate, a run passes over it). Either
  way it is counted and shown as a miss.
- **Nothing**, never negative: excused, cancelled, still pending, collected but awaiting
  the lab (or inconclusive, or with no analyte tested), a for-cause screening.

The measures, up to ``today``:

- **negative rate** = negatives / (negatives + positives [+ misses when they count as
  positive]); None when that is zero.
- **run of negatives**: consecutive counted negatives in date order; a positive ends it,
  and so does a miss counted as positive; screenings that count for nothing neither extend
  nor end it. The current run is the one still going; the longest, the longest ever.
- **completion**: completed (negatives and positives collected) of due (everything with
  an outcome: negatives, positives and misses).
- **misses in the last 7 and 30 days** (today included): every miss, for-cause ones too:
  attendance is a clinical fact, whatever the reason of the screening.
- **days since the last unexpected positive**: from the latest collection of any reason
  with an analyte read as unexpected positive. A positive for a prescribed medication
  (expected positive) does not reset it, nor does a miss: nothing was found.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

MISS_STATUSES = ("no_show", "refused", "unable_to_provide")
REFUSED_SPECIMENS = ("adulterated", "substituted")  # 49 CFR 40.191(b)
NEGATIVE_READINGS = ("negative", "expected_positive", "unexpected_negative")
POSITIVE_READINGS = ("unexpected_positive", "possible_tampering")
POLICIES = ("positive", "missed")
NEGATIVE, POSITIVE, MISSED = "negative", "positive", "missed"


class Screened(Protocol):
    """What the measures need of one screening (core.timeline.ScreeningFact has it).

    Read-only members, so that a frozen dataclass satisfies it."""

    @property
    def id(self) -> int: ...
    @property
    def day(self) -> date: ...
    @property
    def reason(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reading(self) -> str | None: ...
    @property
    def validity(self) -> str | None: ...
    @property
    def unexpected(self) -> tuple[str, ...]: ...
    @property
    def replaces(self) -> int | None: ...


def is_miss(status: str, validity: str | None = None) -> bool:
    """One definition of a miss everywhere (see the module's docstring)."""
    return status in MISS_STATUSES or (status == "collected" and validity in REFUSED_SPECIMENS)


def tally(screening: Screened, missed_counts_as: str) -> str | None:
    """What one screening adds to the rate and the runs: "negative", "positive" (a miss
    too, when the policy counts misses as positives), "missed" (a miss kept apart), or
    None (nothing: never negative)."""
    if missed_counts_as not in POLICIES:
        raise ValueError(f"missed_counts_as {missed_counts_as!r} is not one of {POLICIES}")
    if screening.reading == "void":
        return None
    if is_miss(screening.status, screening.validity):
        return POSITIVE if missed_counts_as == "positive" else MISSED
    if screening.status != "collected":
        return None
    if screening.reading in NEGATIVE_READINGS:
        return NEGATIVE
    if screening.reading in POSITIVE_READINGS:
        return POSITIVE
    return None  # awaiting the lab, inconclusive, not tested


def origins(screenings: Iterable[Screened]) -> dict[int, str]:
    """Each screening's reason as the measures take it: its own, except for an observed
    recollection, which takes that of the screening it repeats (followed back through a
    recollection of a recollection). A recollection is ordered by a specimen's validity,
    not by the draw: it says nothing of why the client was screened."""
    by_id = {s.id: s for s in screenings}
    reasons: dict[int, str] = {}
    for screening in by_id.values():
        origin, seen = screening, {screening.id}
        while origin.reason == "recollection" and origin.replaces in by_id:
            origin = by_id[origin.replaces]
            if origin.id in seen:  # never made so; a loop must not hang a report
                break
            seen.add(origin.id)
        reasons[screening.id] = origin.reason
    return reasons


def counted(screenings: Iterable[Screened]) -> list[Screened]:
    """The screenings the rate, the runs and the completion count, in date order: random
    and interval ones and their recollections, not cancelled, not voided, and a specimen
    repeated by an observed recollection counted once, through the recollection."""
    screenings = list(screenings)
    replaced = {s.replaces for s in screenings if s.replaces is not None}
    reasons = origins(screenings)
    return sorted(
        (
            s
            for s in screenings
            if reasons[s.id] != "for_cause"
            and s.id not in replaced
            and s.status not in ("cancelled", "inconclusive")
            and s.reading != "void"
        ),
        key=lambda s: (s.day, s.id),
    )


def runs(screenings: Iterable[Screened], missed_counts_as: str) -> tuple[int, int]:
    """(current, longest) runs of consecutive negatives, in date order (see the module's
    docstring for what extends and what ends one)."""
    current = longest = 0
    for screening in counted(screenings):
        how = tally(screening, missed_counts_as)
        if how == NEGATIVE:
            current += 1
            longest = max(longest, current)
        elif how == POSITIVE:
            current = 0
    return current, longest


@dataclass(frozen=True)
class Measures:
    missed_counts_as: str  # the policy the measures were computed under
    selected: int  # counted screenings (random and interval), pending ones included
    due: int  # with an outcome: negatives, positives and misses
    completed: int  # collected with a result: negatives and positives
    completion_rate: float | None
    awaiting_lab: int  # collected, no outcome yet: never negative
    negatives: int
    rated: int  # the rate's denominator
    negative_rate: float | None
    misses: int  # counted misses, all time: in the rate only under "positive"
    misses_in_rate: int
    current_negative_run: int
    longest_negative_run: int
    last_unexpected_positive: date | None
    days_since_unexpected_positive: int | None
    misses_last_7_days: int
    misses_last_30_days: int
    for_cause: int
    substances_by_month: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "missed_counts_as": self.missed_counts_as,
            "selected": self.selected,
            "due": self.due,
            "completed": self.completed,
            "completion_rate": self.completion_rate,
            "awaiting_lab": self.awaiting_lab,
            "negatives": self.negatives,
            "rated": self.rated,
            "negative_rate": self.negative_rate,
            "misses": self.misses,
            "misses_in_rate": self.misses_in_rate,
            "current_negative_run": self.current_negative_run,
            "longest_negative_run": self.longest_negative_run,
            "last_unexpected_positive": (
                self.last_unexpected_positive.isoformat() if self.last_unexpected_positive else None
            ),
            "days_since_unexpected_positive": self.days_since_unexpected_positive,
            "misses_last_7_days": self.misses_last_7_days,
            "misses_last_30_days": self.misses_last_30_days,
            "for_cause": self.for_cause,
            "substances_by_month": self.substances_by_month,
        }


def measures(screenings: Iterable[Screened], today: date, missed_counts_as: str) -> Measures:
    """Every progress measure of one client up to ``today``, from all their screenings
    (pass the whole history: a run does not restart where a report's period does)."""
    history = [s for s in screenings if s.day <= today]
    rated = counted(history)
    how = {s.id: tally(s, missed_counts_as) for s in history}
    outcomes = [how[s.id] for s in rated]
    negatives = outcomes.count(NEGATIVE)
    positives = outcomes.count(POSITIVE)
    counted_misses = sum(1 for s in rated if is_miss(s.status, s.validity))
    in_rate = counted_misses if missed_counts_as == "positive" else 0
    due = negatives + positives + outcomes.count(MISSED)
    completed = negatives + positives - in_rate
    current, longest = runs(history, missed_counts_as)
    replaced = {s.replaces for s in history if s.replaces is not None}
    # Every collection, for-cause ones included: what was found is a clinical fact.
    findings = [
        s
        for s in history
        if s.status == "collected" and s.reading != "void" and s.id not in replaced
    ]
    found = [s for s in findings if s.unexpected]
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    for s in found:
        by_month[f"{s.day:%Y-%m}"].update(s.unexpected)
    last = max((s.day for s in found), default=None)
    misses = [
        s.day
        for s in history
        if s.reading != "void" and s.id not in replaced and is_miss(s.status, s.validity)
    ]
    return Measures(
        missed_counts_as=missed_counts_as,
        selected=len(rated),
        due=due,
        completed=completed,
        completion_rate=_rate(completed, due),
        awaiting_lab=sum(
            1
            for s, outcome in zip(rated, outcomes, strict=True)
            # Not "not tested": a cup that tested nothing awaits nobody.
            if outcome is None and s.status == "collected" and s.reading != "not_tested"
        ),
        negatives=negatives,
        rated=negatives + positives,
        negative_rate=_rate(negatives, negatives + positives),
        misses=counted_misses,
        misses_in_rate=in_rate,
        current_negative_run=current,
        longest_negative_run=longest,
        last_unexpected_positive=last,
        days_since_unexpected_positive=(today - last).days if last else None,
        misses_last_7_days=sum(1 for day in misses if day > today - timedelta(days=7)),
        misses_last_30_days=sum(1 for day in misses if day > today - timedelta(days=30)),
        # The for-cause screenings ordered: one with its recollections is one.
        for_cause=sum(1 for s in history if s.reason == "for_cause" and s.status != "cancelled"),
        substances_by_month={
            month: dict(sorted(counts.items())) for month, counts in sorted(by_month.items())
        },
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None
