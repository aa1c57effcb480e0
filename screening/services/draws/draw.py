"""The daily draw: today's (made once), a missed day's, and the amendment of a pool
corrected late; its ledger entry and its screenings.

The maths is in core/selection.py, the pool in pool.py; this module writes the ``draw``
(or ``draw_amend``) entry and the pending screenings in one transaction.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.core import validate
from screening.core.canonical import private_digest
from screening.core.policy import (
    collection_deadline,
    fraction_text,
    policy_body,
    policy_digest,
)
from screening.core.selection import (
    ALGORITHM,
    NO_BEACON,
    Composition,
    compose,
    day_key,
    day_seed,
    period_of,
)
from screening.db.models import Draw, DrawAmendment, LedgerRow, Screening, table_of
from screening.db.row_ids import give_ids
from screening.errors import BadInput, CheckFailed, EnvironmentProblem
from screening.services.access.viewing import record_view, viewing
from screening.services.draws.beacon import (
    BeaconNotYet,
    beacon_fields,
    governing_policy,
    rule_of,
)
from screening.services.draws.pool import candidates, closed_on, recorded_policy
from screening.services.draws.view import DrawView, find_draw, view
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import read_key
from screening.services.plumbing.ledger import LedgerWriter, bodies, latest_body, new_salt
from screening.services.records.upkeep import foreign_anchor, reveal_due, writing

_LEDGER = table_of(LedgerRow)
_SCREENINGS = table_of(Screening)


def select_day(
    ctx: Context, *, amend: bool = False, late: str | None = None, reason: str | None = None
) -> DrawView:
    """``screening select``: today's draw (made once), a late pool correction (``amend``)
    or a missed day's draw (``late``)."""
    day, why = _target_day(ctx, amend, late, reason)
    # A draw made now names whom it selected, and who drew them, in its own entry; a
    # draw shown again, or amended, is recorded as read (services/access/viewing.py).
    if not amend:
        with viewing(ctx, "select") as (session, shown):
            existing = find_draw(session, ctx.site, day)
            if existing is not None:
                return view(session, ctx, existing, shown=shown)
    # The day's beacon round, fetched and checked before the ledger is locked (relays
    # may take seconds); an amendment keeps the round its draw was made with.
    fields = None if amend else _beacon(ctx, day)
    with writing(ctx) as (session, writer):
        listed: set[str] = set()
        existing = find_draw(session, ctx.site, day)
        if existing is not None and not amend:
            # Another process drew while we waited for the lock: show theirs.
            theirs = view(session, ctx, existing, shown=listed)
            record_view(writer, ctx.site, ctx.command or "select", listed)
            return theirs
        if existing is None and amend:
            raise BadInput(f"there is no draw for {day} to amend; run `screening select` first")
        master = _master(ctx, session, day)
        amended: Draw | None = None
        if existing is None:
            assert fields is not None  # fetched above for a new draw
            draw = _draw(session, writer, ctx, day, master, why if late else None, fields)
        else:
            assert why is not None  # --amend asks for its reason (_target_day)
            amended = _amend(session, writer, ctx, existing, master, why)
            draw = amended or existing
        if late is not None:
            # The day is over: its key can be revealed at once, like any past day's.
            reveal_due(session, writer, ctx.settings, ctx.today, master)
        session.flush()
        result = view(session, ctx, draw, shown=listed)
        if existing is None:
            return DrawView(**{**result.__dict__, "created": True})
        # An amendment names whom it added; the list shows everyone drawn that day.
        record_view(writer, ctx.site, ctx.command or "select", listed)
        if amended is None:
            return DrawView(**{**result.__dict__, "unchanged": True})
        return DrawView(**{**result.__dict__, "created": True})


def _target_day(
    ctx: Context, amend: bool, late: str | None, reason: str | None
) -> tuple[date, str | None]:
    if amend and late is not None:
        raise BadInput("--amend corrects today's draw; it cannot be combined with --late")
    if late is None and not amend:
        if reason is not None:
            raise BadInput("--reason goes with --amend or --late DATE")
        return ctx.today, None
    if late is None:  # --amend
        return ctx.today, _text(reason, "--reason (what was corrected in the pool)")
    try:
        day = validate.parse_date(late, "--late")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if day > ctx.today:
        raise BadInput(f"{day} is in the future: nobody may draw or preview a day before it comes")
    if day == ctx.today:
        raise BadInput("today's draw is not late; run `screening select` without --late")
    return day, _text(reason, "--reason (why the draw was missed)")


def _text(value: str | None, what: str) -> str:
    try:
        text = validate.free_text(value, what)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    assert text is not None
    return text


def _master(ctx: Context, session: Session, day: date) -> bytes:
    """The master key, checked against every anchor committed for the day's period.

    Every one, not the first: a second commitment slipped in for the period, or a history
    rewritten from scratch with another key, must not be drawn on top of. Refused with
    exit 1, not 3: the key file was read, and what failed is a check of the ledger
    against it, the one `audit verify` fails on too. Either the key file was replaced
    (restore it) or the history was (verify names the entry); nothing tells the two
    apart here, and a forged history must not read as a setup problem to retry.
    """
    master = read_key(ctx.settings.key_file, group=ctx.settings.database_group)
    period = period_of(day)
    foreign = foreign_anchor(session, ctx.site, period, master)
    if foreign is not None:
        raise CheckFailed(
            f"the key file {ctx.settings.key_file} does not match the anchor committed "
            f"for {period} in entry {foreign}, so nothing was drawn: if the key file was "
            "replaced, restore the original from your backup; otherwise the history "
            "was rewritten: run `screening audit verify`"
        )
    if not any(body["period"] == period for body in bodies(session, ctx.site, "commitment")):
        raise BadInput(
            f"no anchor was committed for {period} before today, so a draw for {day} could "
            "never be proven; it cannot be drawn now"
        )
    return master


def _beacon(ctx: Context, day: date) -> dict[str, Any]:
    """The draw's beacon fields: none, the verified round of the day's rule, or the day
    drawn without it (services/draws/beacon.py)."""
    with ctx.database.read() as session:
        policy = governing_policy(session, ctx.site, day)
        recorded = latest_body(session, ctx.site, "policy")
    rule = None if policy is None else rule_of(policy, day)
    if rule is None:
        return {"beacon_id": NO_BEACON, "beacon_value": ""}
    try:
        return beacon_fields(ctx.settings.beacon, rule, day, ctx.now, late=day != ctx.today)
    except (BeaconNotYet, EnvironmentProblem) as problem:
        assert policy is not None
        configured = policy_body(ctx.settings)
        if policy.get("beacon") == configured.get("beacon"):
            raise
        # Staff who turned the beacon off (or moved run_at) because the relays are out of
        # reach would otherwise be stuck: a refused draw writes nothing, so without the
        # daily job the change would never be recorded, and never take effect.
        change = "a change takes effect the local day after it is recorded"
        if recorded is None or policy_digest(recorded) != policy_digest(configured):
            with writing(ctx):
                pass  # the upkeep of every write records the config's policy
            change = f"the change is recorded now and takes effect on {ctx.today + timedelta(1)}"
        problem.message += (
            f" (the config's [beacon] or run_at differs from the policy in force when {day} "
            f"began, which decides it; {change})"
        )
        problem.args = (problem.message,)
        raise


def _body(
    day: date, policy_body: dict[str, Any], composition: Composition, fields: dict[str, Any]
) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "period": period_of(day),
        "algorithm": ALGORITHM,
        **fields,
        "policy": policy_digest(policy_body),
        "pool": [{"uid": uid, "p": fraction_text(p)} for uid, p in composition.pool],
        "left_out": [{"uid": uid, "reason": why} for uid, why in composition.left_out],
        "selected": [{"uid": uid, "why": why} for uid, why in composition.selected],
    }


def _compose(
    session: Session,
    ctx: Context,
    day: date,
    master: bytes,
    fields: dict[str, Any],
    already: dict[str, str] | None = None,
) -> tuple[dict[str, Any], Composition, dict[str, Any]]:
    policy_body, policy = recorded_policy(session, ctx.site)
    pool, clients = candidates(session, ctx.site, day, ctx.now)
    key = day_key(master, ctx.site, day)
    seed = day_seed(key, ctx.site, day, fields["beacon_id"], bytes.fromhex(fields["beacon_value"]))
    composition = compose(seed, day, policy, pool, closed_on(session, ctx.site, day), already)
    return policy_body, composition, clients


def _draw(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    day: date,
    master: bytes,
    late_reason: str | None,
    fields: dict[str, Any],
) -> Draw:
    policy_body, composition, clients = _compose(session, ctx, day, master, fields)
    salt = new_salt() if late_reason is not None else ""  # a salt only beside text
    body = _body(day, policy_body, composition, fields)
    if late_reason is not None:
        body["late"] = True
        body["reason"] = private_digest(salt, late_reason)
    entry = writer.append(ctx.site, "draw", body)
    draw = Draw(
        site=ctx.site,
        day=day,
        drawn_at=entry.at,
        late_reason=late_reason,
        salt=salt,
        created_seq=entry.seq,
        ledger_seq=entry.seq,
    )
    session.add(draw)
    session.flush()
    _add_screenings(
        session, draw, entry.seq, entry.at, dict(composition.selected), clients, policy_body
    )
    return draw


_BEACON_FIELDS = ("beacon_id", "beacon_value", "beacon")
# What an amendment re-evaluates; the same again is no amendment at all.
_COMPOSED = ("policy", "pool", "left_out", "selected")


def _amend(
    session: Session, writer: LedgerWriter, ctx: Context, draw: Draw, master: bytes, reason: str
) -> Draw | None:
    """The draw re-evaluated over the corrected pool, or None when the pool, its
    exclusions and the selection are all as last recorded: `select --amend` run again
    (say after the list failed to reach its file) records no second amendment."""
    previous = json.loads(
        session.execute(
            sa.select(_LEDGER.c.canonical).where(_LEDGER.c.seq == draw.ledger_seq)
        ).scalar_one()
    )["body"]
    already = {item["uid"]: item["why"] for item in previous["selected"]}
    # The same seed as the draw's: its beacon round, never another.
    fields = {name: previous[name] for name in _BEACON_FIELDS if name in previous}
    policy_body, composition, clients = _compose(session, ctx, draw.day, master, fields, already)
    composed = _body(draw.day, policy_body, composition, fields)
    if all(composed[key] == previous[key] for key in _COMPOSED):
        return None
    added = {uid: why for uid, why in composition.selected if uid not in already}
    assert draw.id is not None  # a draw read from the database
    amendment = DrawAmendment(draw_id=draw.id, reason=reason, salt=new_salt(), ledger_seq=0)
    body = {
        **composed,
        "reason": private_digest(amendment.salt, reason),
        "added": sorted(added),
    }
    entry = writer.append(ctx.site, "draw_amend", body)
    amendment.ledger_seq = entry.seq
    draw.ledger_seq = entry.seq
    session.add_all([amendment, draw])
    _add_screenings(session, draw, entry.seq, entry.at, added, clients, policy_body)
    return draw


def _add_screenings(
    session: Session,
    draw: Draw,
    seq: int,
    at: datetime,
    selected: dict[str, str],
    clients: dict[str, Any],
    policy_body: dict[str, Any],
) -> None:
    due_by = collection_deadline(at, policy_body)
    rows = [
        {
            "client_id": clients[uid].id,
            "draw_id": draw.id,
            "date": draw.day,
            "reason": why,
            "status": "pending",
            "due_by": due_by,
            "observed_required": False,
            "replaces_id": None,
            "salt": "",
            "note": None,
            "status_note": None,
            "status_auto": False,
            "excuse_code": None,
            "approved_by": None,
            "created_seq": seq,
            "ledger_seq": seq,
        }
        for uid, why in sorted(selected.items())
    ]
    if rows:  # one statement, no ORM object each (a network's draw holds hundreds)
        give_ids(session, _SCREENINGS, rows)
        session.execute(sa.insert(_SCREENINGS), rows)


def reveal(ctx: Context) -> list[date]:
    """``audit reveal``: publish the keys of the days that are over."""
    # Why keys are not revealed is this command's error, not also a warning.
    with writing(ctx, warn=False) as (_, writer):
        pass
    # After the commit: the policy and anchors the upkeep wrote are kept either way.
    problem = writer.not_revealed
    if problem is not None:
        raise type(problem)(f"the keys of past draws were not revealed: {problem.message}")
    return writer.revealed
