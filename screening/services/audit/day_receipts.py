"""`audit receipt CODE DATE`: one client's draw on one day, as a receipt they can keep
and anyone can check alone (core/receipt.py says what it holds).

Everything comes from the ledger: the day's draw entry (the version that selected the
client, else the latest), the commitment of its period made before it, the beacon the
policy in force before the day began declared (docs/beacon.md), and the day key once it
is revealed. Nothing is computed from the master key: a receipt says only what the
ledger already proves.
"""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from screening.core import beacon as beacons
from screening.core import validate
from screening.core.ledger import parse_rfc3339
from screening.core.policy import policy_digest
from screening.core.receipt import BeaconPart, DayReceipt, outcome_of, render
from screening.core.run_times import fire_time
from screening.core.selection import day_seed, score
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput, CheckFailed
from screening.services.access.viewing import sees_codes, viewing
from screening.services.plumbing.context import Context
from screening.services.records.clients import uid_and_code

_LEDGER = table_of(LedgerRow)


def day_receipt(ctx: Context, client_id: str, day_text: str) -> tuple[str, str | None]:
    """The receipt's text for the client whose uid or code is ``client_id`` on the
    day ``day_text`` (YYYY-MM-DD), and a note for whoever asked when the day is over but
    its key is not revealed yet. A read of the client's chart for those who may see
    codes, as `audit explain` is; an auditor names the client by uid only."""
    try:
        day = validate.parse_date(day_text, "DATE")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if day > ctx.today:
        raise BadInput(
            f"{day} is in the future: nobody may see a day's draw before it is made; "
            "ask for a receipt on or after that day"
        )
    named = sees_codes(ctx)
    with viewing(ctx, "audit receipt") as (session, shown):
        uid, _ = uid_and_code(session, ctx.site, client_id, codes=named)
        if named:  # the same read of the chart as `audit explain`
            shown.add(uid)
        # The date is in every version's body: a text match finds the day's draws
        # without parsing every draw of the site.
        marker = f'"date":"{day.isoformat()}"'
        versions = [
            row
            for row in _rows(session, ctx.site, ("draw", "draw_amend"), marker)
            if row[3]["body"]["date"] == day.isoformat()
        ]
        if not versions and day == ctx.today:
            raise BadInput(
                f"no draw for {day} at {ctx.site} yet: today's list is drawn at "
                f"{ctx.settings.schedule.run_at} (`screening select`); ask for the receipt "
                "once it is drawn"
            )
        if not versions:
            raise BadInput(
                f"no draw for {day} at {ctx.site}: the clinic was not drawn that day "
                "(`screening today` or `report reconcile` shows the days drawn)"
            )
        draw = _deciding(versions, uid)
        policies = _rows(session, ctx.site, ("policy",))
        commitments = _rows(session, ctx.site, ("commitment",), f'"period":"{day:%Y-%m}"')
        reveals = [
            row
            for row in _rows(session, ctx.site, ("reveal",), marker)
            if row[3]["body"]["date"] == day.isoformat()
        ]
    receipt = _receipt(ctx.site, day, uid, draw, policies, commitments, reveals)
    note = None
    if receipt.key is None and day < ctx.today:
        # Keys are revealed by the upkeep of the next write (a draw, a result) or by
        # `audit reveal`: a receipt asked for before either says "not revealed yet".
        note = (
            f"{day} is over, but its key is not in the ledger yet: the next draw, or "
            "`screening audit reveal` (admin or staff), publishes it; ask for a new receipt "
            "then to have the score"
        )
    return render(receipt), note


Row = tuple[int, str, str, dict[str, Any]]  # seq, hash, canonical, parsed document


def _rows(
    session: Any, site: str, kinds: tuple[str, ...], contains: str | None = None
) -> list[Row]:
    query = (
        sa.select(_LEDGER.c.seq, _LEDGER.c.hash, _LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind.in_(kinds))
        .order_by(_LEDGER.c.seq)
    )
    if contains is not None:
        query = query.where(_LEDGER.c.canonical.contains(contains))
    return [(seq, digest, text, json.loads(text)) for seq, digest, text in session.execute(query)]


def _deciding(versions: list[Row], uid: str) -> Row:
    """The version of the day's draw that decided the client: the first that selected
    them (an amendment keeps everyone already selected, with the chance they had then),
    else the latest (an amendment may have brought them into the pool)."""
    for row in versions:
        if any(item["uid"] == uid for item in row[3]["body"]["selected"]):
            return row
    return versions[-1]


def _receipt(
    site: str,
    day: date,
    uid: str,
    draw: Row,
    policies: list[Row],
    commitments: list[Row],
    reveals: list[Row],
) -> DayReceipt:
    seq, digest, _, document = draw
    body = document["body"]
    drawn_at = parse_rfc3339(document["at"])
    policy = next(
        (
            row[3]["body"]
            for row in reversed(policies)
            if policy_digest(row[3]["body"]) == body["policy"]
        ),
        None,
    )
    if policy is None:
        raise CheckFailed(
            f"the draw of {day} (entry {seq}) names a policy the ledger does not hold: "
            "run `screening audit verify`"
        )
    before = [row for row in commitments if row[0] < seq]
    if not before:
        raise CheckFailed(
            f"no anchor was committed for {day:%Y-%m} before the draw of {day} (entry {seq}): "
            "run `screening audit verify`"
        )
    committed = before[-1]
    pool = {item["uid"]: item["p"] for item in body["pool"]}
    left_out = {item["uid"]: item["reason"] for item in body["left_out"]}
    why = {item["uid"]: item["why"] for item in body["selected"]}.get(uid)
    part = _beacon(day, body, policies, seq)
    receipt = DayReceipt(
        site=site,
        day=day,
        uid=uid,
        chance=pool.get(uid),
        per_day=int(policy.get("per_day") or 0),
        outcome=outcome_of(why, left_out.get(uid), uid in pool),
        draw_seq=seq,
        draw_hash=digest,
        amended=document["kind"] == "draw_amend",
        late=bool(body.get("late")),
        drawn_at=drawn_at,
        zone=policy["timezone"],
        beacon=part,
        commitment=committed[2],
        commitment_hash=committed[1],
    )
    if not reveals:
        return receipt
    reveal_seq, _, _, revealed = reveals[-1]
    key = bytes.fromhex(revealed["body"]["key"])
    number = None
    if uid in pool:
        value = bytes.fromhex(body["beacon_value"])
        number = score(day_seed(key, site, day, body["beacon_id"], value), uid)
    return DayReceipt(
        **{
            **receipt.__dict__,
            "key": key.hex(),
            "reveal_seq": reveal_seq,
            "reveal_at": parse_rfc3339(revealed["at"]),
            "score": number,
        }
    )


def _beacon(day: date, body: dict[str, Any], policies: list[Row], seq: int) -> BeaconPart | None:
    """The beacon part of the receipt from the draw's own record and the rule's policy:
    the latest policy entry made before local ``day`` began (docs/beacon.md)."""
    recorded = body.get("beacon")
    if recorded is None:
        return None
    governing = None
    for row in policies:
        policy = row[3]["body"]
        start = fire_time(day, time(0, 0), ZoneInfo(policy["timezone"]))
        if parse_rfc3339(row[3]["at"]) < start:
            governing = policy
    declared = None if governing is None else governing.get("beacon")
    if declared is None:
        raise CheckFailed(
            f"the draw of {day} (entry {seq}) names a beacon round, but no policy declared "
            "a beacon before that day began: run `screening audit verify`"
        )
    assert governing is not None
    chain = beacons.CHAINS.get(declared["kind"])
    if chain is None or chain.chain_hash != declared["chain"]:
        raise CheckFailed(
            f"the policy in force on {day} names the beacon chain {declared['chain']}, "
            "which this version does not know: run `screening audit verify`"
        )
    number = int(recorded["round"])
    signature = recorded.get("signature")
    return BeaconPart(
        kind=declared["kind"],
        round=number,
        round_time=beacons.round_time(chain, number),
        chain=declared["chain"],
        run_at=declared["run_at"],
        zone=governing["timezone"],
        draw_time=parse_rfc3339(recorded["draw_time"]),
        signature=signature,
        randomness=body["beacon_value"] if signature else None,
        missing=recorded.get("missing"),
    )
