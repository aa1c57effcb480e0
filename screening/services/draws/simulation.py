"""`policy simulate`: what the configured policy will do, before it is put in force.

Monte-Carlo over fresh random master keys (from the operating system's secure source,
never Python's ``random``), drawing synthetic clients spread over every phase and track
through the same ``compose`` the real draw uses. No database write, no real client.
"""

from __future__ import annotations

import secrets
import statistics
import uuid
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from screening.core.policy import policy_body
from screening.core.selection import Candidate, DrawPolicy, compose, day_key, day_seed
from screening.errors import BadInput
from screening.services.plumbing.context import Context

NINE_MONTHS = 274


def simulate(ctx: Context, days: int = 365, runs: int = 20, clients: int = 60) -> dict[str, Any]:
    if not 28 <= days <= 3660:
        raise BadInput("--days must be from 28 to 3660")
    if not 1 <= runs <= 500:
        raise BadInput("--runs must be from 1 to 500")
    if not 1 <= clients <= 5000:
        raise BadInput("--clients must be from 1 to 5000")
    settings = ctx.settings
    policy = DrawPolicy.from_body(policy_body(settings))
    groups = [
        (phase, track) for phase in sorted(settings.phases) for track in sorted(settings.tracks)
    ]
    per_month: dict[tuple[str, str], list[float]] = {group: [] for group in groups}
    gaps: dict[tuple[str, str], int] = dict.fromkeys(groups, 0)
    three_in_nine: dict[tuple[str, str], list[int]] = {group: [] for group in groups}
    weekdays: Counter[int] = Counter()
    busiest = 0
    start = ctx.today
    for _ in range(runs):
        master = secrets.token_bytes(32)
        people = [
            Candidate(
                str(uuid.UUID(bytes=secrets.token_bytes(16), version=4)),
                groups[i % len(groups)][1],
                groups[i % len(groups)][0],
                start,
                False,
                None,
            )
            for i in range(clients)
        ]
        group_of = {c.uid: (c.phase, c.track) for c in people}
        last: dict[str, date] = {}
        picks: dict[str, list[date]] = {c.uid: [] for c in people}
        for offset in range(days):
            day = start + timedelta(days=offset)
            # Simulated clients give every specimen they are drawn for: their last
            # screening is their last collection.
            pool = [
                Candidate(
                    c.uid, c.track, c.phase, c.admitted_on, False, last.get(c.uid), last.get(c.uid)
                )
                for c in people
            ]
            seed = day_seed(day_key(master, settings.site.name, day), settings.site.name, day)
            chosen = compose(seed, day, policy, pool).selected
            busiest = max(busiest, len(chosen))
            for uid, _ in chosen:
                picks[uid].append(day)
                last[uid] = day
                weekdays[day.weekday()] += 1
        for uid, dates in picks.items():
            group = group_of[uid]
            per_month[group].append(len(dates) / days * 30)
            edges = [start - timedelta(days=1), *dates, start + timedelta(days=days)]
            gaps[group] = max(gaps[group], max((b - a).days for a, b in pairwise(edges)))
            three_in_nine[group].append(
                int(sum(1 for d in dates if (d - start).days < NINE_MONTHS) >= 3)
            )
    rows = []
    for group in groups:
        values = sorted(per_month[group])
        rows.append(
            {
                "phase": group[0],
                "track": group[1],
                "per_month_mean": round(statistics.fmean(values), 2) if values else None,
                "per_month_p5": round(_percentile(values, 5), 2) if values else None,
                "per_month_p95": round(_percentile(values, 95), 2) if values else None,
                "longest_gap_days": gaps[group],
                "three_in_nine_months": round(statistics.fmean(three_in_nine[group]), 3)
                if three_in_nine[group] and days >= NINE_MONTHS
                else None,
            }
        )
    total = sum(weekdays.values()) or 1
    return {
        "days": days,
        "runs": runs,
        "clients": clients,
        "rows": rows,
        "weekday_share": {
            name: round(weekdays[i] / total, 3)
            for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
        },
        "busiest_day": busiest,
    }


def _percentile(values: list[float], percent: int) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, round(percent / 100 * len(values)))
    return values[min(rank, len(values)) - 1]
