"""`policy show`: what the configured policy makes the draw do, in plain figures."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

from sqlmodel import col, select

from screening.config import phase_probability
from screening.core.policy import fraction_text
from screening.db.models import Closure
from screening.services.plumbing.context import Context


def describe(ctx: Context) -> dict[str, Any]:
    settings = ctx.settings
    calendar = settings.policy.days == "calendar"
    rows, warnings = [], []
    for phase_name, phase in sorted(settings.phases.items()):
        for track_name, track in sorted(settings.tracks.items()):
            p = phase_probability(settings, phase_name, track_name)
            days_a_week = 7 if calendar else len(track.days)
            rows.append(
                {
                    "phase": phase_name,
                    "track": track_name,
                    "days": "every day" if calendar else " ".join(track.days),
                    "p": f"{fraction_text(p)} ({float(p) * 100:.1f}%)",
                    "per_week": _figure(p * days_a_week),
                    "per_30_days": _figure(p * days_a_week * Fraction(30, 7)),
                    "max_gap": phase.max_days_between_tests,
                    "min_gap": phase.min_days_between_tests,
                }
            )
            if p == 1:
                warnings.append(
                    f"phase {phase_name} on track {track_name}: p = 1, selected every day "
                    "that counts; the screening is no longer random or unannounced"
                )
        if phase.min_days_between_tests:
            warnings.append(
                f"phase {phase_name}: min_days_between_tests = {phase.min_days_between_tests} "
                "creates a safe window after every test, in which a client knows they will "
                "not be tested"
            )
    with ctx.database.read() as session:
        closures = session.exec(
            select(Closure)
            .where(
                Closure.site == ctx.site,
                Closure.day >= ctx.today,
                Closure.day <= ctx.today + timedelta(days=365),
            )
            .order_by(col(Closure.day))
        ).all()
    mode = (
        f"count mode: the {settings.policy.per_day} lowest scores each day"
        if settings.policy.per_day
        else "each client drawn independently at their p"
    )
    summary = (
        f"days that count: {'every calendar day' if calendar else 'each track’s meeting days'}; "
        f"{mode}; collect within {settings.policy.collect_within_hours} h of the draw; "
        "closed on: " + (", ".join(c.day.isoformat() for c in closures) or "no day recorded")
    )
    return {
        "rows": rows,
        "summary": summary,
        "warnings": warnings,
        "closed_on": [c.day.isoformat() for c in closures],
    }


def _figure(value: Fraction) -> str:
    return f"{float(value):.2f}"
