"""`audit fairness`: is the record consistent with a fair, unpredictable draw?

Read from the ledger alone, by uid (never by name): each revealed draw's pool with every
client's daily probability, the random selections, the clients left out and why, and
the excusals. Each figure comes with plain words: "as expected" or "worth a look".
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from screening.core import validate
from screening.core.fairness import benjamini_hochberg, mean, poisson_binomial, two_sided, variance
from screening.core.selection import day_seed, is_selected, parse_fraction, score
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput
from screening.services.plumbing.context import Context

_LEDGER = table_of(LedgerRow)
LEVEL = 0.05
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GAP_BINS = ((1, 1), (2, 2), (3, 3), (4, 7), (8, 14), (15, 10_000))


def _words(p_value: float | None) -> str:
    if p_value is None:
        return "too little data"
    return "as expected" if p_value >= LEVEL else "worth a look"


def _why(p_value: float | None) -> str:
    """The plain-words reason beside each reading."""
    if p_value is None:
        return "too few days or selections to test"
    share = _share(p_value)
    if p_value >= LEVEL:
        return f"a fair draw differs from the expected at least this much {share} of the time"
    return (
        f"a fair draw differs from the expected this much only {share} of the time; "
        "check the holds, exclusions and late amendments behind it"
    )


def _share(p_value: float) -> str:
    if p_value < 0.001:
        return "less than 1 in 1,000"
    if p_value < 0.1:
        return f"about 1 in {round(1 / p_value):,}"
    return f"about {round(100 * p_value)}%"


def _days(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    try:
        first = validate.parse_date(start, "--from") if start else date.min
        last = validate.parse_date(end, "--to") if end else today
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    return first, last


def fairness(ctx: Context, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    first, last = _days(start, end, ctx.today)
    with ctx.database.read() as session:
        rows = session.execute(
            sa.select(_LEDGER.c.kind, _LEDGER.c.canonical)
            .where(
                _LEDGER.c.site == ctx.site,
                _LEDGER.c.kind.in_(("draw", "draw_amend", "reveal", "screening")),
            )
            .order_by(_LEDGER.c.seq)
            .execution_options(yield_per=2000)
        ).all()
    draws: dict[str, dict[str, Any]] = {}
    keys: dict[str, bytes] = {}
    excusals: Counter[str] = Counter()
    for_cause: Counter[str] = Counter()
    for kind, canonical in rows:
        body = json.loads(canonical)["body"]
        if kind in ("draw", "draw_amend"):
            draws[body["date"]] = body  # an amendment stands for its day
        elif kind == "reveal":
            keys[body["date"]] = bytes.fromhex(body["key"])
        elif body.get("action") == "status" and body.get("status") == "excused":
            # New entries name the approver by a digest: auditors see a pseudonym.
            approver = body.get("approved_by") or (
                f"staff {body['approver'][:8]}" if body.get("approver") else "unknown"
            )
            excusals[approver] += 1
        elif body.get("action") == "create" and first <= date.fromisoformat(body["date"]) <= last:
            for_cause[body["reason"]] += 1
    result = _analyse(ctx.site, draws, keys, excusals, first, last)
    result["timezone_changes"] = _zone_changes(ctx)
    # Screenings nobody drew are kept apart: none of the figures above counts them.
    result["not_drawn"] = {
        "for_cause": for_cause["for_cause"],
        "recollection": for_cause["recollection"],
    }
    return result


def _analyse(
    site: str,
    draws: dict[str, dict[str, Any]],
    keys: dict[str, bytes],
    excusals: Counter[str],
    first: date,
    last: date,
) -> dict[str, Any]:
    per_client: dict[str, list[tuple[Any, bool]]] = defaultdict(list)
    by_weekday: dict[int, list[tuple[Any, bool]]] = defaultdict(list)
    by_month: dict[str, list[tuple[Any, bool]]] = defaultdict(list)
    by_gap: dict[int, list[tuple[Any, bool]]] = defaultdict(list)
    excluded: list[tuple[Any, bool]] = []
    last_pick: dict[str, date] = {}
    # A client's probability in their latest pool: what they would have had on a day they
    # were left out (the draw records no probability for those not in it).
    known_p: dict[str, Any] = {}
    screenings = 0
    for when in sorted(draws):
        day = date.fromisoformat(when)
        body = draws[when]
        if not first <= day <= last or when not in keys:
            continue  # only revealed days: nobody may analyse a day before it is over
        seed = day_seed(keys[when], site, day)
        randomly = {s["uid"] for s in body["selected"] if s["why"] == "random"}
        screenings += len(body["selected"])
        for item in body["pool"]:
            uid, p = item["uid"], parse_fraction(item["p"])
            known_p[uid] = p
            hit = uid in randomly
            per_client[uid].append((p, hit))
            by_weekday[day.weekday()].append((p, hit))
            by_month[f"{day:%Y-%m}"].append((p, hit))
            if uid in last_pick:
                gap = (day - last_pick[uid]).days
                bin_ = next(i for i, (low, high) in enumerate(GAP_BINS) if low <= gap <= high)
                by_gap[bin_].append((p, hit))
        for uid in randomly:
            last_pick[uid] = day
        for item in body["left_out"]:
            if item["reason"] in ("closure", "not_a_meeting_day"):
                continue
            known = known_p.get(item["uid"])
            if known is not None:
                excluded.append((known, is_selected(score(seed, item["uid"]), known)))
    clients = _clients(per_client)
    return {
        "period": {
            "from": None if first == date.min else first.isoformat(),
            "to": last.isoformat(),
        },
        "revealed_draws": sum(
            1 for d in draws if d in keys and first <= date.fromisoformat(d) <= last
        ),
        "clients": clients,
        "flagged_clients": sum(1 for c in clients if c["words"] == "worth a look"),
        "dispersion": _dispersion(per_client),
        "weekdays": _shares({WEEKDAYS[k]: v for k, v in sorted(by_weekday.items())}),
        "months": _shares(dict(sorted(by_month.items()))),
        "predictability": _shares(
            {
                (
                    f"{GAP_BINS[k][0]}"
                    if GAP_BINS[k][0] == GAP_BINS[k][1]
                    else f"{GAP_BINS[k][0]}+"
                    if GAP_BINS[k][1] > 1000
                    else f"{GAP_BINS[k][0]}-{GAP_BINS[k][1]}"
                )
                + " days since last": v
                for k, v in sorted(by_gap.items())
            }
        ),
        "exclusions": _one_group(excluded),
        "excusals": {
            "by_approver": dict(excusals.most_common()),
            "per_100_screenings": round(100 * sum(excusals.values()) / screenings, 2)
            if screenings
            else None,
        },
    }


def _clients(per_client: dict[str, list[tuple[Any, bool]]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for uid, days in sorted(per_client.items()):
        ps = [p for p, _ in days]
        observed = sum(1 for _, hit in days if hit)
        found.append(
            {
                "uid": uid,
                "days": len(days),
                "expected": round(mean(ps), 2),
                "observed": observed,
                "p_value": round(two_sided(poisson_binomial(ps), observed), 4),
            }
        )
    adjusted = benjamini_hochberg([c["p_value"] for c in found])
    for client, value in zip(found, adjusted, strict=True):
        client["adjusted"] = round(value, 4)
        client["words"] = _words(value)
        client["why"] = _why(value)
    return found


def _dispersion(per_client: dict[str, list[tuple[Any, bool]]]) -> dict[str, Any]:
    """The spread of (observed − expected)/sd across clients: about 1 when fair."""
    zs = []
    for days in per_client.values():
        ps = [p for p, _ in days]
        sd = math.sqrt(variance(ps))
        if sd > 0:
            zs.append((sum(1 for _, hit in days if hit) - mean(ps)) / sd)
    if len(zs) < 2:
        return {"ratio": None, "p_value": None, "words": _words(None), "why": _why(None)}
    from scipy import stats  # type: ignore[import-untyped]  # scipy ships no type hints

    ratio = sum(z * z for z in zs) / len(zs)
    p_value = float(
        2 * min(stats.chi2.cdf(ratio * len(zs), len(zs)), stats.chi2.sf(ratio * len(zs), len(zs)))
    )
    return {
        "ratio": round(ratio, 3),
        "p_value": round(min(p_value, 1.0), 4),
        "words": _words(p_value),
        "why": _why(min(p_value, 1.0)),
    }


EXACT_UP_TO = 400  # client-days; beyond, the normal approximation is as good and far faster


def _one_group(days: list[tuple[Any, bool]]) -> dict[str, Any]:
    ps = [p for p, _ in days]
    observed = sum(1 for _, hit in days if hit)
    p_value: float | None = None
    if ps and len(ps) <= EXACT_UP_TO:
        p_value = two_sided(poisson_binomial(ps), observed)
    elif ps:
        sd = math.sqrt(variance(ps))
        z = abs(observed - mean(ps)) / sd if sd else 0.0
        p_value = math.erfc(z / math.sqrt(2))
    return {
        "client_days": len(days),
        "expected": round(mean(ps), 2),
        "observed": observed,
        "p_value": None if p_value is None else round(p_value, 4),
        "words": _words(p_value),
        "why": _why(p_value),
    }


def _shares(groups: dict[str, list[tuple[Any, bool]]]) -> dict[str, Any]:
    """Observed against expected selections per group, weighted by exposure, and one
    chi-square test across the groups."""
    table = {name: _one_group(days) for name, days in groups.items()}
    usable = [g for g in table.values() if g["expected"] > 0]
    p_value = None
    if len(usable) >= 2:
        from scipy import stats

        observed = [g["observed"] for g in usable]
        expected = [g["expected"] for g in usable]
        scale = sum(observed) / sum(expected) if sum(expected) else 1
        if sum(observed):
            p_value = float(stats.chisquare(observed, [e * scale for e in expected]).pvalue)
    return {
        "groups": table,
        "p_value": None if p_value is None else round(p_value, 4),
        "words": _words(p_value),
        "why": _why(p_value),
    }


def _zone_changes(ctx: Context) -> list[dict[str, Any]]:
    """Changes of the site's time zone (services/records/sites.py), flagged: around one, days
    were drawn by different clocks."""
    found = []
    with ctx.database.read() as session:
        seqs = session.execute(
            sa.select(_LEDGER.c.seq, _LEDGER.c.canonical)
            .where(_LEDGER.c.site == ctx.site, _LEDGER.c.kind == "site")
            .order_by(_LEDGER.c.seq)
        ).all()
    for seq, canonical in seqs:
        body = json.loads(canonical)["body"]
        if body.get("action") == "timezone":
            found.append(
                {
                    "from": body["from"],
                    "timezone": body["timezone"],
                    "starts_at": body["starts_at"],
                    "entry": seq,
                }
            )
    return found
