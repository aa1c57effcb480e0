"""The timeline's maths (core/timeline.py): strips, runs and measures on plain facts."""

from __future__ import annotations

from datetime import date, timedelta

from screening.core.timeline import Facts, ScreeningFact, measures, runs, strip, symbol

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
    assert runs(history) == (2, 2)


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
    assert m.negative_rate == 0.5
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
