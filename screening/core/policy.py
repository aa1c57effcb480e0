"""The selection policy in force, as a ledger body (DESIGN §5, §6).

Rates are exact fractions written ``"num/den"``; the policy's digest names it in draws.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from screening.config import Settings, phase_probability
from screening.core.canonical import canonical_bytes, sha256_hex


def fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def policy_body(settings: Settings) -> dict[str, Any]:
    phases: dict[str, Any] = {}
    for name, phase in sorted(settings.phases.items()):
        phases[name] = {
            "max_days_between_tests": phase.max_days_between_tests,
            "min_days_between_tests": phase.min_days_between_tests,
            "p": {
                track: fraction_text(phase_probability(settings, name, track))
                for track in sorted(settings.tracks)
            },
        }
    return {
        "algorithm": "screening/v1",
        "days": settings.policy.days,
        "collect_within_hours": settings.policy.collect_within_hours,
        "per_day": settings.policy.per_day,
        "timezone": settings.site.timezone,
        "tracks": {name: list(track.days) for name, track in sorted(settings.tracks.items())},
        "phases": phases,
        # The interval floor counts from the last collection (issue 13): a policy entry
        # without this field keeps the old rule (from any screening) when replayed.
        "interval_from": "collection",
    }


def policy_digest(body: dict[str, Any]) -> str:
    return sha256_hex(canonical_bytes(body))


def collection_deadline(drawn_at: datetime, policy: dict[str, Any]) -> datetime:
    """When a screening selected at ``drawn_at`` is due: ``collect_within_hours`` later."""
    return drawn_at + timedelta(hours=policy["collect_within_hours"])


def zone_change_starts(old: str, new: str, day: date) -> datetime:
    """When a change of the site's time zone made on local ``day`` takes effect: once the
    next day has begun in both zones, so that no clock draws the next day's list early."""
    following = day + timedelta(days=1)
    return max(
        datetime.combine(following, time(), ZoneInfo(old)).astimezone(UTC),
        datetime.combine(following, time(), ZoneInfo(new)).astimezone(UTC),
    )
