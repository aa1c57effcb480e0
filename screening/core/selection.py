"""Selection algorithm ``screening/v1`` (DESIGN §5): hash chains, day keys.

Every function is pure; ``master`` is the 32-byte installation key.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
from datetime import date

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
