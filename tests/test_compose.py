"""The pool and its outcomes (core/selection.compose): properties over random pools."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from screening.core.selection import Candidate, DrawPolicy, compose

POLICY = DrawPolicy(
    days="meeting",
    per_day=0,
    tracks={"morning": frozenset({0, 2, 4}), "evening": frozenset({1, 3})},
    p={
        (phase, track): Fraction(n, 6)
        for phase, n in (("1", 4), ("2", 2), ("3", 1))
        for track in ("morning", "evening")
    },
    max_gap={"1": 14, "2": 21, "3": None},
    min_gap={"1": None, "2": None, "3": 3},
)
DAY = date(2026, 11, 23)  # a Monday
SEED = bytes(range(32))

candidates = st.builds(
    Candidate,
    uid=st.uuids(version=4).map(str),
    track=st.sampled_from(["morning", "evening"]),
    phase=st.sampled_from(["1", "2", "3"]),
    admitted_on=st.integers(0, 60).map(lambda n: DAY - timedelta(days=n)),
    held=st.booleans(),
    last_screened=st.one_of(st.none(), st.integers(0, 30).map(lambda n: DAY - timedelta(days=n))),
)


def _outcome(result, uid):  # type: ignore[no-untyped-def]
    return (
        dict(result.pool).get(uid),
        dict(result.left_out).get(uid),
        dict(result.selected).get(uid),
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(candidates, min_size=1, max_size=25, unique_by=lambda c: c.uid),
    st.randoms(use_true_random=False),
)
def test_each_outcome_depends_on_the_client_alone(pool, shuffler) -> None:  # type: ignore[no-untyped-def]
    whole = compose(SEED, DAY, POLICY, pool)
    shuffled = list(pool)
    shuffler.shuffle(shuffled)
    reordered = compose(SEED, DAY, POLICY, shuffled)
    assert reordered == whole
    for candidate in pool:
        alone = compose(SEED, DAY, POLICY, [candidate])
        assert _outcome(alone, candidate.uid) == _outcome(whole, candidate.uid)


@settings(max_examples=150, deadline=None)
@given(candidates)
def test_interval_floor_and_reasons(candidate: Candidate) -> None:
    result = compose(SEED, DAY, POLICY, [candidate])
    pooled, left, why = _outcome(result, candidate.uid)
    last = candidate.last_screened or candidate.admitted_on
    if candidate.held:
        assert left == "hold" and why is None
    elif candidate.track == "evening":
        assert left == "not_a_meeting_day" and why is None
    elif candidate.phase == "3" and candidate.last_screened and (DAY - last).days < 3:
        assert left == "recently_tested"
    else:
        assert pooled == POLICY.probability(candidate.phase, candidate.track)
        cap = POLICY.max_gap[candidate.phase]
        if why != "random" and cap is not None and (DAY - last).days >= cap:
            assert why == "interval"
        if why == "interval":
            assert cap is not None and (DAY - last).days >= cap


def test_closure_leaves_everyone_out_and_amendment_keeps_selections() -> None:
    people = [
        Candidate(f"00000000-0000-4000-8000-{i:012d}", "morning", "1", DAY, False, None)
        for i in range(10)
    ]
    closed = compose(SEED, DAY, POLICY, people, closed=True)
    assert closed.pool == () and closed.selected == ()
    assert {reason for _, reason in closed.left_out} == {"closure"}
    already = {people[0].uid: "random"}
    held = [Candidate(people[0].uid, "morning", "1", DAY, True, None), *people[1:]]
    amended = compose(SEED, DAY, POLICY, held, already=already)
    assert dict(amended.selected)[people[0].uid] == "random"
    assert dict(amended.left_out)[people[0].uid] == "hold"


def test_count_mode_selects_exactly_k_lowest() -> None:
    people = [
        Candidate(f"00000000-0000-4000-8000-{i:012d}", "morning", "3", DAY, False, None)
        for i in range(20)
    ]
    counted = DrawPolicy(**{**POLICY.__dict__, "per_day": 5})
    result = compose(SEED, DAY, counted, people)
    assert sum(1 for _, why in result.selected if why == "random") == 5


@given(
    st.dictionaries(
        st.uuids().map(str),
        st.sampled_from([Fraction(0), Fraction(1), Fraction(2, 3), Fraction(1, 7), Fraction(3, 2)]),
        max_size=40,
    ),
    st.binary(min_size=32, max_size=32),
)
def test_the_fast_path_selects_exactly_whom_draw_random_selects(pool, seed) -> None:  # type: ignore[no-untyped-def]
    """compose() draws through _drawn, which skips building an Outcome per client; it must
    select exactly the clients the reference draw_random does."""
    from screening.core.selection import _drawn, draw_random

    assert _drawn(seed, pool) == {o.uid for o in draw_random(seed, pool) if o.selected}
