"""Selection algorithm ``screening/v1`` (DESIGN §5): hash chains, day keys, the draw.

Every function is pure; ``master`` is the 32-byte installation key. Python's ``random``
is never used: its output may change between CPython versions and depends on list order.
"""

from __future__ import annotations

import calendar
import hashlib
import heapq
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from screening.core.canonical import lp

ALGORITHM = "screening/v1"
_CHAIN_TAG = lp("screening/v1/chain")


def period_of(day: date) -> str:
    """The period a draw date belongs to: its month, ``"YYYY-MM"``."""
    return f"{day.year:04d}-{day.month:02d}"


def period_days(period: str) -> int:
    year, month = (int(part) for part in period.split("-"))
    return calendar.monthrange(year, month)[1]


def chain_length(period: str) -> int:
    """``N = n + 1`` where ``n`` is the number of days in the period."""
    return period_days(period) + 1


def next_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def chain_step(value: bytes) -> bytes:
    """``H(x) = SHA-256(LP("screening/v1/chain") || x)``."""
    return hashlib.sha256(_CHAIN_TAG + value).digest()


def hash_times(value: bytes, times: int) -> bytes:
    for _ in range(times):
        value = chain_step(value)
    return value


def chain_seed(master: bytes, site: str, period: str) -> bytes:
    message = lp("screening/v1/period") + lp(site) + lp(period)
    return hmac.new(master, message, hashlib.sha256).digest()


def anchor(master: bytes, site: str, period: str) -> bytes:
    """The commitment ``A = H^N(s)`` published before any draw in the period."""
    return hash_times(chain_seed(master, site, period), chain_length(period))


def day_key(master: bytes, site: str, day: date) -> bytes:
    """``K = H^(N-i)(s)`` for day-of-month ``i``."""
    period = period_of(day)
    return hash_times(chain_seed(master, site, period), chain_length(period) - day.day)


def key_matches_anchor(key: bytes, day: date, anchor_value: bytes) -> bool:
    """Anyone can check a revealed key: ``H^i(K) == A``."""
    return hmac.compare_digest(hash_times(key, day.day), anchor_value)


# --- the draw -----------------------------------------------------------------------
# Everything below turns a day key into outcomes. Each client's outcome is a function of
# the day seed and their own uid only, so adding, removing or reordering other clients
# never changes it (DESIGN §5 goals), and an auditor can replay any draw from the ledger.

_DAY_TAG = lp("screening/v1/day")
_CLIENT_TAG = lp("screening/v1/client")
_SCORE_SPACE = 1 << 256
NO_BEACON = "none"


def day_seed(
    key: bytes, site: str, day: date, beacon_id: str = NO_BEACON, beacon_value: bytes = b""
) -> bytes:
    """``seed = HMAC(K, LP("screening/v1/day") || LP(site) || LP(D) || LP(id) || LP(value))``.

    The site and date are bound in so one key can never be replayed for another draw; the
    beacon (raw bytes, e.g. a hex-decoded drand round) stays empty until one is configured.
    """
    message = _DAY_TAG + lp(site) + lp(day.isoformat()) + lp(beacon_id) + lp(beacon_value)
    return hmac.digest(key, message, "sha256")


def score(seed: bytes, uid: str) -> int:
    """``X = int256(HMAC(seed, LP("screening/v1/client") || LP(u)))``, uniform on [0, 2^256).

    The uid is lowercased first: the same client written in upper case must not get a
    second, different score.
    """
    digest = hmac.digest(seed, _CLIENT_TAG + lp(uid.lower()), "sha256")
    return int.from_bytes(digest, "big")


def is_selected(score: int, p: Fraction) -> bool:
    """Selected iff ``X * den < num * 2^256``: exactly probability ``p`` over uniform ``X``.

    Integer arithmetic only, so a rate such as 1/10^6 or 2/3 is never rounded through a
    float. ``p`` is capped to [0, 1]: a rate of 0 never selects, 1 or more always does.
    """
    if not 0 <= score < _SCORE_SPACE:
        raise ValueError(f"score {score} is outside [0, 2^256)")
    if p <= 0:
        return False
    if p >= 1:
        return True
    return score * p.denominator < p.numerator * _SCORE_SPACE


@dataclass(frozen=True, slots=True)
class Outcome:
    """One client's part of a random draw: everything an auditor needs to replay it."""

    uid: str
    score: int
    p: Fraction
    selected: bool


def draw_random(seed: bytes, pool: Mapping[str, Fraction]) -> list[Outcome]:
    """Every pool member's outcome at their own probability, sorted by uid as in the ledger.

    ``pool`` maps uid to probability; uids are lowercased, and two that then collide are
    refused rather than silently drawn twice.
    """
    outcomes: dict[str, Outcome] = {}
    for uid, p in pool.items():
        normal = uid.lower()
        if normal in outcomes:
            raise ValueError(f"client {normal} appears twice in the pool")
        x = score(seed, normal)
        outcomes[normal] = Outcome(normal, x, p, is_selected(x, p))
    return [outcomes[uid] for uid in sorted(outcomes)]


def lowest(seed: bytes, uids: Iterable[str], k: int) -> list[tuple[int, str]]:
    """Count mode (policy ``per_day = k``): the ``k`` lowest ``(X, u)`` of the pool.

    Ties on ``X`` fall to the uid, so the order is total and needs no other input; the
    result runs from the lowest score up (the ledger re-sorts it by uid).
    """
    if k < 0:
        raise ValueError(f"per_day must not be negative, got {k}")
    scored = {(score(seed, uid), uid.lower()) for uid in uids}
    return heapq.nsmallest(k, scored)


def interval_due(day: date, last: date, cap: int | None) -> bool:
    """Interval floor (``max_days_between_tests = G``): due when ``D - last >= G`` days.

    ``last`` is the client's latest collection before this draw (policy ``interval_from =
    "collection"``; older policies: their latest screening, any reason, not cancelled) or,
    if none, their admission date; the caller finds it in the ledger.
    ``cap`` None means the phase sets no floor (ASAM's random-interval cap is optional).
    """
    if cap is None:
        return False
    if cap < 1:
        raise ValueError(f"max_days_between_tests must be at least 1, got {cap}")
    return (day - last).days >= cap


# --- the pool -----------------------------------------------------------------------
# Who is in the pool on a day, and who is drawn, as one pure function of the policy
# recorded in the ledger and each client's state as the ledger knows it at the draw.
# `select` and `audit verify` both call `compose`, so a replay cannot drift from a draw.

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_fraction(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator or "1"))


@dataclass(frozen=True)
class DrawPolicy:
    """The parts of a ``policy`` ledger body that decide a draw."""

    days: str  # "meeting" or "calendar"
    per_day: int
    tracks: Mapping[str, frozenset[int]]  # track -> weekday numbers (Monday = 0)
    p: Mapping[tuple[str, str], Fraction]  # (phase, track) -> daily probability
    max_gap: Mapping[str, int | None]  # phase -> max_days_between_tests
    min_gap: Mapping[str, int | None]  # phase -> min_days_between_tests
    # What the interval floor's clock counts from: "screening" (any screening recorded,
    # not cancelled: policies written before the field existed) or "collection" (the
    # latest specimen collected, or a screening still open at the draw: an excusal or a
    # miss is not a test, so it does not reset the clock).
    interval_from: str = "screening"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DrawPolicy:
        phases = body["phases"]
        return cls(
            days=body["days"],
            per_day=body["per_day"],
            tracks={
                name: frozenset(WEEKDAYS.index(day) for day in days)
                for name, days in body["tracks"].items()
            },
            p={
                (phase, track): parse_fraction(rate)
                for phase, settings in phases.items()
                for track, rate in settings["p"].items()
            },
            max_gap={phase: s.get("max_days_between_tests") for phase, s in phases.items()},
            min_gap={phase: s.get("min_days_between_tests") for phase, s in phases.items()},
            interval_from=body.get("interval_from", "screening"),
        )

    def counts(self, track: str, day: date) -> bool:
        """Does ``day`` count for a client on ``track``?"""
        return self.days == "calendar" or day.weekday() in self.tracks.get(track, ())

    def probability(self, phase: str, track: str) -> Fraction:
        return min(self.p.get((phase, track), Fraction(0)), Fraction(1))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A client in the program on the draw's date, as the ledger knew them at the draw."""

    uid: str
    track: str
    phase: str
    admitted_on: date
    held: bool  # a hold covers the date
    last_screened: date | None  # latest screening recorded before the draw, not cancelled
    # Latest screening collected before the draw, or still open (pending, not yet due).
    last_collected: date | None = None

    def interval_clock(self, interval_from: str) -> date:
        """The day the interval floor counts from under the policy's ``interval_from``."""
        last = self.last_collected if interval_from == "collection" else self.last_screened
        return last or self.admitted_on


def in_program(admitted_on: date, discharged_on: date | None, day: date) -> bool:
    """Admitted on or before ``day`` and not discharged by then."""
    return admitted_on <= day and (discharged_on is None or day < discharged_on)


@dataclass(frozen=True)
class Composition:
    """What a ``draw`` entry records: pool, left out, selected (each sorted by uid)."""

    pool: tuple[tuple[str, Fraction], ...]
    left_out: tuple[tuple[str, str], ...]
    selected: tuple[tuple[str, str], ...]  # (uid, "random" | "interval")


def compose(
    seed: bytes,
    day: date,
    policy: DrawPolicy,
    candidates: Iterable[Candidate],
    closed: bool = False,
    already: Mapping[str, str] | None = None,
) -> Composition:
    """The draw for ``day``: pool, reasons for leaving clients out, and who is selected.

    ``already`` (uid -> why) is an earlier version of the same day's draw when a late pool
    correction re-evaluates it: nobody already selected is unselected ("no second bite"),
    and everyone else gets their outcome from the same seed.
    """
    pool: dict[str, Fraction] = {}
    left_out: dict[str, str] = {}
    by_uid: dict[str, Candidate] = {}
    weekday = day.weekday()
    # Per track and phase once, not per client: 20,000 clients share a handful of each.
    counts = {
        track: policy.days == "calendar" or weekday in days for track, days in policy.tracks.items()
    }
    rates: dict[tuple[str, str], Fraction] = {}
    for candidate in candidates:
        uid = candidate.uid.lower()
        by_uid[uid] = candidate
        reason = _left_out_reason(candidate, day, policy, closed, counts)
        if reason:
            left_out[uid] = reason
            continue
        key = (candidate.phase, candidate.track)
        rate = rates.get(key)
        if rate is None:
            rate = rates[key] = policy.probability(*key)
        pool[uid] = rate
    if policy.per_day:
        drawn = {uid for _, uid in lowest(seed, pool, policy.per_day)}
    else:
        drawn = _drawn(seed, pool)
    selected = dict(already or {})
    for uid in pool:  # each client's outcome is their own: the order does not matter
        if uid in selected:
            continue
        if uid in drawn:
            selected[uid] = "random"
            continue
        candidate = by_uid[uid]
        cap = policy.max_gap.get(candidate.phase)
        if cap is not None and interval_due(
            day, candidate.interval_clock(policy.interval_from), cap
        ):
            selected[uid] = "interval"
    return Composition(
        pool=tuple(sorted(pool.items())),
        left_out=tuple(sorted(left_out.items())),
        selected=tuple(sorted(selected.items())),
    )


def _drawn(seed: bytes, pool: Mapping[str, Fraction]) -> set[str]:
    """The uids ``draw_random`` selects, without building an Outcome for everyone: the
    same HMAC and the same integer test, with each distinct rate's terms worked out once
    (pool uids are already lowercased and unique)."""
    terms: dict[Fraction, tuple[int, int, int]] = {}  # p -> (never/always/test, den, num·2^256)
    drawn = set()
    for uid, p in pool.items():
        term = terms.get(p)
        if term is None:
            how = 0 if p <= 0 else 1 if p >= 1 else 2
            term = terms[p] = (how, p.denominator, p.numerator * _SCORE_SPACE)
        if term[0] == 2:
            digest = hmac.digest(seed, _CLIENT_TAG + lp(uid), "sha256")
            if int.from_bytes(digest, "big") * term[1] < term[2]:
                drawn.add(uid)
        elif term[0] == 1:
            drawn.add(uid)
    return drawn


def _left_out_reason(
    candidate: Candidate,
    day: date,
    policy: DrawPolicy,
    closed: bool,
    counts: Mapping[str, bool] | None = None,
) -> str:
    if closed:
        return "closure"
    if candidate.held:
        return "hold"
    counted = counts.get(candidate.track) if counts is not None else None
    if counted is None:
        counted = policy.counts(candidate.track, day)
    if not counted:
        return "not_a_meeting_day"
    low = policy.min_gap.get(candidate.phase)
    last = candidate.last_screened
    if low is not None and last is not None and (day - last).days < low:
        return "recently_tested"
    return ""
