"""Selection algorithm ``screening/v1`` against the published vectors (DESIGN §5).

Every value in tests/data/screening-v1.json is reproduced here: another implementation
that passes these tests draws the same clients on the same days.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.core.selection import (
    Outcome,
    anchor,
    chain_length,
    chain_seed,
    chain_step,
    day_key,
    day_seed,
    draw_random,
    hash_times,
    interval_due,
    is_selected,
    key_matches_anchor,
    lowest,
    period_of,
    score,
)

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "screening-v1.json").read_text(encoding="utf-8")
)
MASTER = bytes.fromhex(VECTORS["master_key_hex"])
SITE = VECTORS["site"]
DAYS = VECTORS["days"]
PERIODS = VECTORS["periods"]
SPACE = 2**256

CLIENT_CASES = [
    pytest.param(day, client, id=f"{day['date']}-{client['uid'][:8]}")
    for day in DAYS
    for client in day["clients"]
]
OUTCOME_CASES = [
    pytest.param(day, client, rate, expected, id=f"{day['date']}-{client['uid'][:8]}-p={rate}")
    for day in DAYS
    for client in day["clients"]
    for rate, expected in client["selected"].items()
]


def _day(entry: dict) -> date:
    return date.fromisoformat(entry["date"])


def _seed(entry: dict) -> bytes:
    return bytes.fromhex(entry["day_seed"])


def _threshold(p: Fraction) -> int:
    """The smallest score that is *not* selected at ``0 < p < 1``."""
    return -(-p.numerator * SPACE // p.denominator)


uids = st.uuids(version=4).map(str)
rates = st.fractions(min_value=0, max_value=1, max_denominator=10**6)
seeds = st.binary(min_size=32, max_size=32)


# --- vectors: the file itself ---------------------------------------------------------


def test_vector_file_covers_what_design_promises() -> None:
    # Guards against a truncated copy of the vectors silently shrinking the checks below.
    assert VECTORS["algorithm"] == "screening/v1"
    assert bytes(range(32)) == MASTER
    assert {p["period"] for p in PERIODS} >= {"2026-11", "2027-02", "2028-02"}
    assert "2028-02-29" in {d["date"] for d in DAYS}
    rates_listed = {rate for d in DAYS for c in d["clients"] for rate in c["selected"]}
    assert rates_listed == {"0", "1/1000000", "1/5", "1/4", "1/3", "2/3", "1"}
    assert all(d["count_mode"]["k"] >= 1 for d in DAYS)


# --- vectors: chains and keys ----------------------------------------------------------


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p["period"])
def test_chain_seed_length_and_anchor(period: dict) -> None:
    assert chain_length(period["period"]) == period["length"]
    assert chain_seed(MASTER, SITE, period["period"]).hex() == period["chain_seed"]
    assert anchor(MASTER, SITE, period["period"]).hex() == period["anchor"]


def test_leap_february_has_a_longer_chain() -> None:
    assert chain_length("2028-02") == 30
    assert chain_length("2027-02") == 29


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
def test_day_key(entry: dict) -> None:
    assert day_key(MASTER, SITE, _day(entry)).hex() == entry["day_key"]


def _anchor_for(day: date) -> bytes:
    period = next(p for p in PERIODS if p["period"] == period_of(day))
    return bytes.fromhex(period["anchor"])


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
def test_revealed_key_checks_against_its_anchor(entry: dict) -> None:
    day, key = _day(entry), bytes.fromhex(entry["day_key"])
    published = _anchor_for(day)
    assert hash_times(key, day.day) == published
    assert key_matches_anchor(key, day, published)
    # The same key claimed for the day before or after must fail: the position counts.
    assert not key_matches_anchor(key, day + timedelta(days=1), published)
    assert not key_matches_anchor(key, day - timedelta(days=1), published)
    tampered = bytes([key[0] ^ 1]) + key[1:]
    assert not key_matches_anchor(tampered, day, published)


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
def test_key_reveals_earlier_days_only(entry: dict) -> None:
    day, key = _day(entry), bytes.fromhex(entry["day_key"])
    # Hashing forward walks back through the month: step j gives day i - j's key ...
    for back in range(1, day.day):
        earlier = day - timedelta(days=back)
        assert hash_times(key, back) == day_key(MASTER, SITE, earlier)
    # ... and never lands on a later day's key, so revealing today leaks no tomorrow.
    later_keys = {
        day_key(MASTER, SITE, date(day.year, day.month, i))
        for i in range(day.day + 1, chain_length(period_of(day)))
    }
    walked, value = set(), key
    for _ in range(chain_length(period_of(day)) + 1):
        walked.add(value)
        value = chain_step(value)
    # The last day of a month has no later day in its chain; the other dates cover it.
    assert later_keys or day.day == chain_length(period_of(day)) - 1
    assert walked.isdisjoint(later_keys)


def test_vector_keys_in_one_month_chain_into_each_other() -> None:
    # The published 30 Nov key hashes forward three times into the published 27 Nov key,
    # and 26 times into 1 Nov: an auditor needs only the latest reveal.
    keys = {d["date"]: bytes.fromhex(d["day_key"]) for d in DAYS}
    assert hash_times(keys["2026-11-30"], 3) == keys["2026-11-27"]
    assert hash_times(keys["2026-11-30"], 29) == keys["2026-11-01"]


# --- vectors: seeds, scores, outcomes ----------------------------------------------------


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
def test_day_seed(entry: dict) -> None:
    key = bytes.fromhex(entry["day_key"])
    assert day_seed(key, SITE, _day(entry)).hex() == entry["day_seed"]
    assert day_seed(key, SITE, _day(entry), "none", b"").hex() == entry["day_seed"]


def test_day_seed_binds_site_and_date() -> None:
    entry = DAYS[0]
    key, day = bytes.fromhex(entry["day_key"]), _day(entry)
    assert day_seed(key, "annex", day).hex() != entry["day_seed"]
    assert day_seed(key, SITE, day + timedelta(days=1)).hex() != entry["day_seed"]


def test_beacon_example() -> None:
    # The beacon value enters as raw bytes (the hex decoded), not as its hex text.
    example = VECTORS["beacon_example"]
    day = date.fromisoformat(example["date"])
    key = day_key(MASTER, SITE, day)
    value = bytes.fromhex(example["beacon_value"])
    assert day_seed(key, SITE, day, example["beacon_id"], value).hex() == example["day_seed"]
    text = example["beacon_value"].encode()
    assert day_seed(key, SITE, day, example["beacon_id"], text).hex() != example["day_seed"]
    plain = next(d for d in DAYS if d["date"] == example["date"])
    assert example["day_seed"] != plain["day_seed"]


@pytest.mark.parametrize(("entry", "client"), CLIENT_CASES)
def test_score(entry: dict, client: dict) -> None:
    x = score(_seed(entry), client["uid"])
    assert f"{x:064x}" == client["score"]
    assert score(_seed(entry), client["uid"].upper()) == x


@pytest.mark.parametrize(("entry", "client", "rate", "expected"), OUTCOME_CASES)
def test_probability_outcome(entry: dict, client: dict, rate: str, expected: bool) -> None:
    x = int(client["score"], 16)
    assert is_selected(x, Fraction(rate)) is expected


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
@pytest.mark.parametrize("rate", ["0", "1/1000000", "1/5", "1/4", "1/3", "2/3", "1"])
def test_draw_random_matches_vectors(entry: dict, rate: str) -> None:
    pool = {c["uid"]: Fraction(rate) for c in entry["clients"]}
    outcomes = draw_random(_seed(entry), pool)
    expected = sorted(
        (c["uid"], int(c["score"], 16), c["selected"][rate]) for c in entry["clients"]
    )
    assert [(o.uid, o.score, o.selected) for o in outcomes] == expected
    assert all(o.p == Fraction(rate) for o in outcomes)


@pytest.mark.parametrize("entry", DAYS, ids=lambda d: d["date"])
def test_count_mode(entry: dict) -> None:
    mode = entry["count_mode"]
    picked = lowest(_seed(entry), [c["uid"] for c in entry["clients"]], mode["k"])
    # The vectors list the picked uids sorted by uid (as the ledger does), not by score.
    assert sorted(uid for _, uid in picked) == mode["selected"]
    assert [x for x, _ in picked] == sorted(x for x, _ in picked)
    all_scores = sorted(int(c["score"], 16) for c in entry["clients"])
    assert [x for x, _ in picked] == all_scores[: mode["k"]]


def test_count_mode_lists_lowest_score_first() -> None:
    # On 2026-11-01 the lowest score belongs to f0e1..., which sorts after 0b8e... by uid.
    entry = next(d for d in DAYS if d["date"] == "2026-11-01")
    picked = lowest(_seed(entry), [c["uid"] for c in entry["clients"]], 2)
    assert [uid[:4] for _, uid in picked] == ["f0e1", "0b8e"]


def test_design_table_rows() -> None:
    # The short table in DESIGN §5, so the document and the code cannot drift apart.
    rows = [
        ("2026-11-27", "7d2f1c3e-0a4b-4c5d-8e9f-101112131415", "3a07e45ee4ea20ab", True, False),
        ("2026-11-27", "0b8e6a52-3c1d-4f7e-9a2b-c3d4e5f60718", "f0069769c84cf240", False, False),
        ("2026-11-27", "f0e1d2c3-b4a5-4968-8776-655443322110", "2225902cfd6f361b", True, True),
        ("2026-11-30", "5a5a5a5a-1111-4222-8333-444455556666", "38d40fd1162ec38b", True, False),
    ]
    for when, uid, prefix, at_two_thirds, at_one_fifth in rows:
        day = date.fromisoformat(when)
        seed = day_seed(day_key(MASTER, SITE, day), SITE, day)
        x = score(seed, uid)
        assert f"{x:064x}".startswith(prefix)
        assert is_selected(x, Fraction(2, 3)) is at_two_thirds
        assert is_selected(x, Fraction(1, 5)) is at_one_fifth


# --- exact thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "p", [Fraction(1, 10**6), Fraction(1, 5), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3)]
)
def test_score_at_threshold_is_not_selected_one_below_is(p: Fraction) -> None:
    edge = _threshold(p)
    assert edge * p.denominator >= p.numerator * SPACE
    assert (edge - 1) * p.denominator < p.numerator * SPACE
    assert not is_selected(edge, p)
    assert is_selected(edge - 1, p)


def test_half_splits_the_score_space_exactly() -> None:
    assert not is_selected(2**255, Fraction(1, 2))
    assert is_selected(2**255 - 1, Fraction(1, 2))


def test_one_in_a_million_selects_exactly_that_share_of_scores() -> None:
    p = Fraction(1, 10**6)
    # ceil(2^256 / 10^6) scores are selected: the share is p to within one score.
    assert _threshold(p) == math.ceil(Fraction(SPACE, 10**6))
    assert abs(Fraction(_threshold(p), SPACE) - p) < Fraction(1, SPACE)


@pytest.mark.parametrize("x", [0, 1, 2**255, SPACE - 1])
def test_zero_never_and_one_always(x: int) -> None:
    assert not is_selected(x, Fraction(0))
    assert not is_selected(x, Fraction(-1, 3))
    assert is_selected(x, Fraction(1))
    assert is_selected(x, Fraction(7, 3))  # capped at 1


def test_tiny_rate_selects_only_the_lowest_scores() -> None:
    p = Fraction(1, 10**6)
    assert is_selected(0, p)
    assert not is_selected(SPACE - 1, p)
    assert not is_selected(SPACE // 2, p)


@pytest.mark.parametrize("x", [-1, SPACE])
def test_score_outside_256_bits_is_refused(x: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        is_selected(x, Fraction(1, 2))


@given(p=rates.filter(lambda r: 0 < r < 1))
def test_threshold_property(p: Fraction) -> None:
    edge = _threshold(p)
    assert is_selected(edge - 1, p)
    assert not is_selected(edge, p)


@given(x=st.integers(min_value=0, max_value=SPACE - 1), p=rates, q=rates)
def test_higher_rate_never_deselects(x: int, p: Fraction, q: Fraction) -> None:
    low, high = sorted((p, q))
    assert is_selected(x, low) <= is_selected(x, high)


# --- independence: nobody else's presence changes anyone's outcome ----------------------


@given(
    seed=seeds,
    me=uids,
    p=rates,
    others=st.dictionaries(uids, rates, max_size=12),
    shuffle=st.randoms(use_true_random=False),
)
def test_outcome_independent_of_pool(
    seed: bytes, me: str, p: Fraction, others: dict[str, Fraction], shuffle: random.Random
) -> None:
    others.pop(me, None)
    alone = draw_random(seed, {me: p})
    items = [*others.items(), (me, p)]
    shuffle.shuffle(items)
    crowded = {o.uid: o for o in draw_random(seed, dict(items))}
    assert alone == [crowded[me]]
    assert alone[0] == Outcome(me, score(seed, me), p, is_selected(score(seed, me), p))


@given(
    seed=seeds,
    pool=st.dictionaries(uids, rates, min_size=1, max_size=12),
    shuffle=st.randoms(use_true_random=False),
)
def test_draw_is_independent_of_pool_order(
    seed: bytes, pool: dict[str, Fraction], shuffle: random.Random
) -> None:
    items = list(pool.items())
    shuffle.shuffle(items)
    outcomes = draw_random(seed, dict(items))
    assert outcomes == draw_random(seed, pool)
    assert [o.uid for o in outcomes] == sorted(pool)


@given(
    seed=seeds,
    pool=st.lists(uids, min_size=1, max_size=15, unique=True),
    k=st.integers(min_value=0, max_value=16),
    shuffle=st.randoms(use_true_random=False),
)
def test_count_mode_is_independent_of_order(
    seed: bytes, pool: list[str], k: int, shuffle: random.Random
) -> None:
    picked = lowest(seed, pool, k)
    shuffled = pool[:]
    shuffle.shuffle(shuffled)
    assert lowest(seed, shuffled, k) == picked
    assert len(picked) == min(k, len(pool))
    ranked = sorted((score(seed, uid), uid) for uid in pool)
    assert picked == ranked[:k]


def test_draw_refuses_a_uid_listed_twice() -> None:
    uid = "7d2f1c3e-0a4b-4c5d-8e9f-101112131415"
    with pytest.raises(ValueError, match="twice"):
        draw_random(b"\x00" * 32, {uid: Fraction(1, 2), uid.upper(): Fraction(1, 2)})


def test_count_mode_refuses_negative_k() -> None:
    with pytest.raises(ValueError, match="negative"):
        lowest(b"\x00" * 32, ["7d2f1c3e-0a4b-4c5d-8e9f-101112131415"], -1)


# --- interval floor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "last", "cap", "due"),
    [
        (date(2026, 11, 27), date(2026, 11, 20), 7, True),  # exactly G days: due
        (date(2026, 11, 27), date(2026, 11, 21), 7, False),  # G - 1 days: not yet
        (date(2026, 12, 1), date(2026, 11, 20), 7, True),  # across a month end
        (date(2028, 3, 1), date(2028, 2, 23), 7, True),  # across 29 February
        (date(2027, 3, 1), date(2027, 2, 23), 7, False),  # no 29th in 2027: 6 days
        (date(2026, 11, 27), date(2026, 11, 27), 1, False),  # screened today already
        (date(2026, 11, 27), date(2026, 1, 1), None, False),  # phase sets no floor
    ],
)
def test_interval_floor(day: date, last: date, cap: int | None, due: bool) -> None:
    assert interval_due(day, last, cap) is due


def test_interval_floor_refuses_a_cap_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        interval_due(date(2026, 11, 27), date(2026, 11, 1), 0)


def _interval_policy(interval_from: str | None) -> dict:  # type: ignore[type-arg]
    body = {
        "days": "calendar",
        "per_day": 0,
        "tracks": {"t": ["mon"]},
        "phases": {"2": {"p": {"t": "0/1"}, "max_days_between_tests": 7}},
    }
    if interval_from is not None:
        body["interval_from"] = interval_from
    return body


@pytest.mark.parametrize(
    ("interval_from", "drawn"),
    [(None, False), ("screening", False), ("collection", True)],
)
def test_the_interval_clock_follows_the_policy(interval_from: str | None, drawn: bool) -> None:
    """Excused on 11-09, last collected at admission (11-02): on 11-11 the clock counts
    from 11-09 under policies written before `interval_from` existed, and from 11-02
    (nine days: drawn) under ``interval_from = "collection"``."""
    from screening.core.selection import Candidate, DrawPolicy, compose

    policy = DrawPolicy.from_body(_interval_policy(interval_from))
    assert policy.interval_from == (interval_from or "screening")
    uid = "7d2f1c3e-0a4b-4c5d-8e9f-101112131415"
    client = Candidate(uid, "t", "2", date(2026, 11, 2), False, date(2026, 11, 9), None)
    made = compose(b"\0" * 32, date(2026, 11, 11), policy, [client])
    assert made.selected == (((uid, "interval"),) if drawn else ())
