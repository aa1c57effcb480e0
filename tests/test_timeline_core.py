"""The timeline's maths (core/timeline.py) and the progress measures (core/measures.py):
strips, runs and measures on plain facts."""

from __future__ import annotations

from datetime import date, timedelta

from screening.core import measures as measures_module
from screening.core.timeline import Facts, ScreeningFact, strip, symbol

MON = date(2026, 11, 2)
MEETINGS = frozenset({0, 2, 4})


def s(
    n: int,
    day: date,
    counts_as: str = "negative",
    status: str = "collected",
    reading: str | None = "negative",
    reason: str = "random",
    **more,
) -> ScreeningFact:  # type: ignore[no-untyped-def]
    if status != "collected":
        reading = None
    return ScreeningFact(
        id=n, day=day, reason=reason, status=status, counts_as=counts_as, reading=reading, **more
    )


def measures(f: Facts, today: date, policy: str = "positive") -> measures_module.Measures:
    return measures_module.measures(f.screenings, today, policy)


def runs(history, policy: str = "positive") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return measures_module.runs(history, policy)


def facts(*screenings: ScreeningFact, **more) -> Facts:  # type: ignore[no-untyped-def]
    return Facts(
        stays=more.pop("stays", ((MON, None),)),
        meeting_days=MEETINGS,
        screenings=screenings,
        **more,
    )


def test_an_empty_history() -> None:
    m = measures(facts(), MON + timedelta(days=30))
    assert (m.selected, m.completed, m.completion_rate, m.negative_rate) == (0, 0, None, None)
    assert (m.current_negative_run, m.longest_negative_run) == (0, 0)
    assert m.days_since_unexpected_positive is None and m.substances_by_month == {}
    weeks = strip(facts(), MON, MON + timedelta(days=6))
    assert weeks == [(MON, ["·", " ", "·", " ", "·", " ", " "])]


def test_runs_count_clean_screens_and_reset_on_a_positive_or_a_miss() -> None:
    history = [
        s(1, MON),
        s(2, MON + timedelta(2)),
        s(3, MON + timedelta(4), "unexpected_positive", reading="unexpected_positive"),
        s(4, MON + timedelta(7)),
        s(5, MON + timedelta(9), "expected_positive", reading="expected_positive"),
        s(6, MON + timedelta(11)),
        s(7, MON + timedelta(14), "excused", status="excused"),
        s(8, MON + timedelta(16)),
        s(9, MON + timedelta(18), "positive", status="no_show"),
        s(10, MON + timedelta(21)),
    ]
    assert runs(history) == (1, 4)  # 4,5,6,(excused),8 then the no-show ends it
    assert runs(reversed(history)) == (1, 4), "order of the input must not matter"


def test_a_miss_counted_apart_neither_extends_nor_ends_a_run() -> None:
    history = [
        s(1, MON),
        s(2, MON + timedelta(2), "missed", status="no_show"),
        s(3, MON + timedelta(4)),
    ]
    assert runs(history, "missed") == (2, 2)
    assert runs(history, "positive") == (1, 1)


def test_a_confirmation_that_overturns_a_presumptive_positive_keeps_the_run() -> None:
    # The caller passes each screening's current reading: after the lab's confirmation
    # the THC screen reads negative, so the run goes on through it.
    before = [
        s(1, MON),
        s(
            2,
            MON + timedelta(2),
            "unexpected_positive",
            reading="unexpected_positive",
            unexpected=("THC",),
        ),
        s(3, MON + timedelta(4)),
    ]
    after = [before[0], s(2, MON + timedelta(2)), before[2]]
    assert runs(before) == (1, 1)
    assert runs(after) == (3, 3)
    assert measures(facts(*before), MON + timedelta(6)).substances_by_month == {
        "2026-11": {"THC": 1}
    }
    assert measures(facts(*after), MON + timedelta(6)).substances_by_month == {}


def test_measures() -> None:
    today = MON + timedelta(days=40)
    history = facts(
        s(1, MON),
        s(
            2,
            MON + timedelta(2),
            "unexpected_positive",
            reading="unexpected_positive",
            unexpected=("COC", "THC"),
            confirmed=True,
        ),
        s(3, MON + timedelta(5), "positive", status="refused"),
        s(4, MON + timedelta(16), "excused", status="excused"),
        s(5, MON + timedelta(18), "cancelled", status="cancelled"),
        s(6, today - timedelta(days=3), "positive", status="no_show"),
        s(7, today - timedelta(days=1), reason="for_cause"),
        s(8, today, "pending", status="pending"),
    )
    m = measures(history, today)
    # Counted: random screenings, not the cancelled one, not the for-cause one.
    assert m.selected == 6
    assert m.completed == 2
    assert m.completion_rate == 0.5  # settled: not pending or excused
    # Under "positive" (the default policy) the refusal and the no-show are in the rate.
    assert (m.negatives, m.rated, m.negative_rate, m.misses_in_rate) == (1, 4, 0.25, 2)
    apart = measures(history, today, "missed")
    assert (apart.negatives, apart.rated, apart.negative_rate, apart.misses) == (1, 2, 0.5, 2)
    assert apart.misses_in_rate == 0 and apart.completion_rate == 0.5
    assert m.days_since_unexpected_positive == 38
    assert m.misses_last_30_days == 1  # the refusal (7 November) is before the 30 days
    assert m.for_cause == 1
    assert m.substances_by_month == {"2026-11": {"COC": 1, "THC": 1}}


def test_symbols() -> None:
    assert symbol(s(1, MON)) == "-"
    assert symbol(s(1, MON, reading="unexpected_positive")) == "p"
    assert symbol(s(1, MON, reading="unexpected_positive", confirmed=True)) == "P"
    assert symbol(s(1, MON, reading="expected_positive")) == "e"
    assert symbol(s(1, MON, reading="unexpected_negative")) == "n"
    assert symbol(s(1, MON, reading="possible_tampering")) == "T"
    assert symbol(s(1, MON, validity="dilute")) == "d"
    assert symbol(s(1, MON, status="no_show")) == "N"
    assert symbol(s(1, MON, status="pending")) == "*"
    assert symbol(s(1, MON, status="excused")) == "E"


def test_strip_shows_holds_closures_stays_and_the_worst_of_a_day() -> None:
    week = [MON + timedelta(days=i) for i in range(14)]
    f = facts(
        s(1, week[0], reading="negative"),
        s(2, week[0], "unexpected_positive", reading="unexpected_positive"),
        s(3, week[4], status="pending"),
        holds=((week[2], week[2]),),
        closures=frozenset({week[9]}),
        # discharged on Wednesday of week two, re-admitted the next Monday
        stays=((MON, week[9]), (week[13] + timedelta(days=1), None)),
    )
    weeks = strip(f, MON, week[13])
    assert weeks[0] == (MON, ["p", " ", "H", " ", "*", " ", " "])
    assert weeks[1] == (week[7], ["·", " ", "C", " ", " ", " ", " "])


def test_discharge_and_readmission_leave_the_gap_blank() -> None:
    f = facts(stays=((MON, MON + timedelta(days=2)), (MON + timedelta(days=7), None)))
    weeks = strip(f, MON, MON + timedelta(days=13))
    assert weeks[0][1] == ["·", " ", "·", " ", " ", " ", " "]
    assert weeks[1][1] == ["·", " ", "·", " ", "·", " ", " "]


def test_a_recollection_stands_in_for_the_specimen_it_repeats() -> None:
    dilute = s(1, MON, validity="dilute")
    again = s(2, MON, reason="recollection", replaces=1)
    m = measures(facts(dilute, again), MON + timedelta(days=1))
    assert (m.selected, m.completed, m.current_negative_run) == (1, 1, 1)


def test_a_recollection_counts_as_the_screening_it_repeats_however_many_it_took() -> None:
    """A for-cause specimen's recollections are reported apart with it; a random one's
    recollections count, once."""
    cause = s(1, MON, reason="for_cause", validity="dilute")
    again = s(2, MON, reason="recollection", replaces=1, validity="dilute")
    third = s(3, MON, reason="recollection", replaces=2)
    m = measures(facts(cause, again, third), MON + timedelta(days=1))
    assert (m.selected, m.rated, m.current_negative_run, m.for_cause) == (0, 0, 0, 1)
    drawn = s(4, MON + timedelta(days=2), validity="dilute")
    redo = s(5, MON + timedelta(days=2), reason="recollection", replaces=4)
    m = measures(facts(cause, again, third, drawn, redo), MON + timedelta(days=3))
    assert (m.selected, m.rated, m.current_negative_run, m.for_cause) == (1, 1, 1, 1)
    assert [x.id for x in measures_module.counted([redo, drawn, third, again, cause])] == [5]


def test_a_specimen_waiting_for_the_lab_is_not_yet_completed() -> None:
    waiting = s(1, MON, "pending", reading="pending")
    m = measures(facts(waiting), MON)
    assert (m.selected, m.completed, m.completion_rate, m.negative_rate) == (1, 0, None, None)


def test_misses_are_one_thing_everywhere() -> None:
    history = facts(
        s(1, MON, "positive", status="no_show"),
        s(2, MON + timedelta(2), "positive", status="refused"),
        s(3, MON + timedelta(4), "unable_to_provide", status="unable_to_provide"),
        s(4, MON + timedelta(7), "positive", reading="possible_tampering", validity="substituted"),
        s(5, MON + timedelta(9), reading="void"),
    )
    m = measures(history, MON + timedelta(10))
    assert m.misses_last_30_days == 4
    assert m.selected == 4, "a voided result counts nowhere"


# ------------------------------------------------- the one definition (core/measures.py)


def _ten_with_four_misses() -> Facts:
    days = [MON + timedelta(days=i) for i in (0, 2, 4, 7, 9, 11, 14, 16, 18, 21)]
    missed = {2, 5, 7, 8}
    return facts(
        *(
            s(n, day, "positive", status="no_show") if n in missed else s(n, day)
            for n, day in enumerate(days)
        )
    )


def test_misses_counted_as_positive_are_in_the_rate_and_end_runs() -> None:
    m = measures(_ten_with_four_misses(), MON + timedelta(days=21))
    assert (m.negatives, m.rated, m.negative_rate) == (6, 10, 0.6)
    assert (m.misses, m.misses_in_rate, m.misses_last_30_days) == (4, 4, 4)
    assert (m.current_negative_run, m.longest_negative_run) == (1, 2)
    assert (m.due, m.completed, m.completion_rate) == (10, 6, 0.6)


def test_misses_kept_apart_are_out_of_the_rate_but_still_counted() -> None:
    m = measures(_ten_with_four_misses(), MON + timedelta(days=21), "missed")
    assert (m.negatives, m.rated, m.negative_rate) == (6, 6, 1.0)
    assert (m.misses, m.misses_in_rate, m.misses_last_30_days) == (4, 0, 4)
    assert (m.current_negative_run, m.longest_negative_run) == (6, 6)
    assert (m.due, m.completed, m.completion_rate) == (10, 6, 0.6)


def test_unable_to_provide_and_a_substituted_specimen_are_misses() -> None:
    history = [
        s(1, MON, status="unable_to_provide"),
        s(2, MON + timedelta(2), reading="possible_tampering", validity="substituted"),
    ]
    assert [measures_module.tally(x, "positive") for x in history] == ["positive"] * 2
    assert [measures_module.tally(x, "missed") for x in history] == ["missed"] * 2


def test_what_counts_for_nothing_is_never_negative() -> None:
    nothing = facts(
        s(1, MON, status="excused"),
        s(2, MON + timedelta(2), status="cancelled"),
        s(3, MON + timedelta(4), status="pending"),
        s(4, MON + timedelta(7), reading="pending"),  # awaiting the lab
        s(5, MON + timedelta(9), reading="inconclusive"),
        s(6, MON + timedelta(11), reading="not_tested"),  # no analyte known
        s(7, MON + timedelta(14), status="inconclusive"),
    )
    for policy in ("positive", "missed"):
        m = measures(nothing, MON + timedelta(days=20), policy)
        assert (m.negatives, m.rated, m.negative_rate, m.due) == (0, 0, None, 0)
        assert (m.current_negative_run, m.longest_negative_run) == (0, 0)
        assert m.awaiting_lab == 2  # pending and inconclusive: nothing awaits "not tested"


def test_an_expected_positive_does_not_reset_the_days_since_an_unexpected_one() -> None:
    history = facts(
        s(1, MON, reading="unexpected_positive", unexpected=("COC",)),
        s(2, MON + timedelta(9), reading="expected_positive"),
        s(3, MON + timedelta(11), "positive", status="no_show"),
    )
    m = measures(history, MON + timedelta(days=20))
    assert (m.last_unexpected_positive, m.days_since_unexpected_positive) == (MON, 20)


def test_an_unexpected_negative_is_a_negative_flagged_on_its_own() -> None:
    m = measures(facts(s(1, MON, reading="unexpected_negative")), MON)
    assert (m.negative_rate, m.current_negative_run) == (1.0, 1)


def test_an_unknown_policy_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="missed_counts_as"):
        measures(_ten_with_four_misses(), MON + timedelta(days=21), "ignored")
