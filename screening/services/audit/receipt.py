"""`audit explain CODE`: the "why was I picked again?" receipt for one client.

Everything comes from the ledger an auditor holds: each draw's pool (the client's daily
probability), its selections, and the day keys revealed once each day was over. A day
whose key is not yet revealed shows no score: nobody may see a day's numbers early.
"""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from screening.core import validate
from screening.core.fairness import at_least, mean, poisson_binomial
from screening.core.selection import day_seed, parse_fraction, score
from screening.core.wording import plural, times
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput
from screening.services.access.viewing import sees_codes, viewing
from screening.services.plumbing.context import Context
from screening.services.records.clients import uid_and_code

_LEDGER = table_of(LedgerRow)
SPACE = 2**256


def explain(
    ctx: Context, client_id: str, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """The receipt of the client whose uid or code is ``client_id``. It names them by
    code too for those who may see codes, recorded then as a read of their chart; an
    auditor (core/access.py) names and sees them by uid only, and nothing identified is
    shown to record."""
    try:
        first = validate.parse_date(start, "--from") if start else date.min
        last = validate.parse_date(end, "--to") if end else ctx.today
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    named = sees_codes(ctx)
    with viewing(ctx, "audit explain") as (session, shown):
        uid, code = uid_and_code(session, ctx.site, client_id, codes=named)
        if named:  # the code shown beside the draws: a read of the chart
            shown.add(uid)
        # The uid is unique: a text match finds the draws that name the client without
        # parsing every draw of the site.
        draws = session.execute(
            sa.select(_LEDGER.c.kind, _LEDGER.c.canonical)
            .where(
                _LEDGER.c.site == ctx.site,
                _LEDGER.c.kind.in_(("draw", "draw_amend")),
                _LEDGER.c.canonical.contains(uid),
            )
            .order_by(_LEDGER.c.seq)
        ).all()
        keys = {
            body["date"]: bytes.fromhex(body["key"])
            for body in (
                json.loads(text)["body"]
                for text in session.execute(
                    sa.select(_LEDGER.c.canonical).where(
                        _LEDGER.c.site == ctx.site, _LEDGER.c.kind == "reveal"
                    )
                ).scalars()
            )
        }
    days: dict[str, dict[str, Any]] = {}
    for _, canonical in draws:  # an amendment replaces the day's earlier version
        body = json.loads(canonical)["body"]
        day = date.fromisoformat(body["date"])
        if not first <= day <= last:
            continue
        pool = {item["uid"]: item["p"] for item in body["pool"]}
        left = {item["uid"]: item["reason"] for item in body["left_out"]}
        why = {item["uid"]: item["why"] for item in body["selected"]}.get(uid)
        key = keys.get(body["date"])
        number = None
        if key is not None and uid in pool:
            number = score(day_seed(key, ctx.site, day), uid) / SPACE
        days[body["date"]] = {
            "date": body["date"],
            "p": pool.get(uid),
            "left_out": left.get(uid),
            "number": None if number is None else round(number, 4),
            "selected": why,
        }
    eligible = [d for d in days.values() if d["p"] is not None]
    probabilities = [parse_fraction(d["p"]) for d in eligible]
    observed = sum(1 for d in eligible if d["selected"] == "random")
    pmf = poisson_binomial(probabilities)
    chance = at_least(pmf, observed) if eligible else None
    return {
        "code": code,
        "uid": uid,
        "days": sorted(days.values(), key=lambda d: d["date"]),
        "eligible_days": len(eligible),
        "expected_random": round(mean(probabilities), 2),
        "observed_random": observed,
        "interval": sum(1 for d in eligible if d["selected"] == "interval"),
        "chance_at_least_observed": None if chance is None else round(chance, 4),
        "summary": _words(len(eligible), mean(probabilities), observed, chance, probabilities),
    }


def _words(
    days: int, expected: float, observed: int, chance: float | None, probabilities: list[Fraction]
) -> str:
    if not days:
        return "No draw has included this client in the period."
    rates = sorted({f"{p.numerator}/{p.denominator}" for p in probabilities})
    text = (
        f"On {plural(days, 'eligible day')}, each with its own fresh draw (a daily chance of "
        f"{', '.join(rates)}), about {expected:.1f} random selections were expected and "
        f"{observed} happened. "
    )
    assert chance is not None
    # How often chance alone gives at least this many: "about 1 time in 40", "nearly
    # every time" (a 1 in 1 read as a number helps nobody).
    if chance <= 0:
        how_often = "never"
    elif round(1 / chance) <= 1:
        how_often = "nearly every time"
    else:
        how_often = f"about 1 time in {round(1 / chance)}"
    verdict = (
        "as expected"
        if chance >= 0.05
        else "unusual, but with many clients someone is always unusual"
    )
    text += f"Being selected {times(observed)} or more happens by chance {how_often}: {verdict}."
    return text + (
        " Earlier selections never lower or raise a later day's chance: every "
        "day is drawn afresh from that day's key, the same for everyone."
    )
