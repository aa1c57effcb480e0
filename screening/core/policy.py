"""The selection policy in force, as a ledger body (DESIGN §5, §6).

Rates are exact fractions written ``"num/den"``; the policy's digest names it in draws.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from screening.config import Settings, phase_probability
from screening.core.beacon import chain_of
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
    body = {
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
        # A deadline past the site's local midnight runs to the end of that day (issue
        # 16): a policy entry without this field keeps the old rule when replayed.
        "past_midnight": "end_of_day",
    }
    if settings.beacon.enabled:
        # The beacon's rule is part of the policy, declared before any day it decides
        # (it governs from the next local day: beacon_of_day), fallback included.
        body["beacon"] = {
            "kind": settings.beacon.kind,
            "chain": chain_of(settings.beacon.kind).chain_hash,
            "run_at": settings.schedule.run_at,
            "wait_minutes": settings.beacon.wait_minutes,
            "fallback": settings.beacon.fallback,
        }
    return body


def policy_digest(body: dict[str, Any]) -> str:
    return sha256_hex(canonical_bytes(body))


def collection_deadline(drawn_at: datetime, policy: dict[str, Any]) -> datetime:
    """When a screening whose list was made at ``drawn_at`` (the entry's time, also for a
    late draw: nobody can collect before the list exists) is due: ``collect_within_hours``
    later; under ``past_midnight = "end_of_day"``, a deadline that falls on a later local
    day than the list runs to the end of that day (23:59:59 in the policy's zone), so
    that it never lands in the small hours when nobody collects, and a list made in the
    afternoon (a late draw, a catch-up after downtime) leaves staff the next day."""
    due = drawn_at + timedelta(hours=policy["collect_within_hours"])
    if policy.get("past_midnight") != "end_of_day":
        return due  # the rule of policies recorded before issue 16
    zone = ZoneInfo(policy["timezone"])
    # A deadline of exactly midnight ends the list's own day, not the next one.
    day = (due - timedelta(seconds=1)).astimezone(zone).date()
    if day == drawn_at.astimezone(zone).date():
        return due
    # Midnight as zoneinfo reads it (fold 0) is the day's first instant even where the
    # clocks skip or repeat the hour after midnight (Havana).
    next_day = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    return next_day - timedelta(seconds=1)


def zone_change_starts(old: str, new: str, day: date) -> datetime:
    """When a change of the site's time zone made on local ``day`` takes effect: once the
    next day has begun in both zones, so that no clock draws the next day's list early."""
    following = day + timedelta(days=1)
    return max(
        datetime.combine(following, time(), ZoneInfo(old)).astimezone(UTC),
        datetime.combine(following, time(), ZoneInfo(new)).astimezone(UTC),
    )
