"""The daily draw: its pool from the database, its ledger entry, its screenings.

The maths is in core/selection.py; this module gathers each client's state, writes the
``draw`` (or ``draw_amend``) entry and the pending screenings in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.core.policy import collection_deadline, fraction_text, policy_digest
from screening.core.selection import (
    ALGORITHM,
    NO_BEACON,
    Candidate,
    Composition,
    DrawPolicy,
    compose,
    day_key,
    day_seed,
    period_of,
)
from screening.db.models import Client, Closure, Draw, DrawAmendment, Hold, LedgerRow, Screening
from screening.db.row_ids import give_ids
from screening.errors import BadInput, CheckFailed, EnvironmentProblem
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import read_key
from screening.services.plumbing.ledger import LedgerWriter, bodies, latest_body
from screening.services.records.clients import new_salt
from screening.services.records.screenings import shown_status
from screening.services.records.upkeep import foreign_anchor, reveal_due, writing

_LEDGER = LedgerRow.__table__


# A day's list as staff see it, in this order: on screen, in CSV and as delivered.
LIST_COLUMNS = [
    ("code", "code"),
    ("name", "name"),
    ("track", "track"),
    ("phase", "phase"),
    ("why", "why selected"),
    ("collect_by", "collect by"),
]


@dataclass(frozen=True)
class DrawView:
    """A draw as staff see it: who, why, by when, and what is still pending."""

    site: str
    day: date
    drawn_at: datetime
    late: bool
    amendments: int
    closed: bool
    pool_size: int
    left_out: dict[str, int]
    rows: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False  # made by this command, rather than shown again
    unchanged: bool = False  # an amendment asked for, with nothing in the pool to change

    def drawn_locally(self, zone: Any) -> str:
        return self.drawn_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    @property
    def pending(self) -> int:
        return sum(1 for row in self.rows if row["status"] == "pending")

    @property
    def overdue(self) -> int:
        """Pending past the deadline (the next write records them as no-shows)."""
        return sum(1 for row in self.rows if row["status"] == "overdue")


def select_day(
    ctx: Context, *, amend: bool = False, late: str | None = None, reason: str | None = None
) -> DrawView:
    """``screening select``: today's draw (made once), a late pool correction (``amend``)
    or a missed day's draw (``late``)."""
    day, why = _target_day(ctx, amend, late, reason)
    if not amend:
        with ctx.database.read() as session:
            existing = _find(session, ctx.site, day)
            if existing is not None:
                return view(session, ctx, existing)
    with writing(ctx) as (session, writer):
        existing = _find(session, ctx.site, day)
        if existing is not None and not amend:
            # Another process drew while we waited for the lock: show theirs.
            return view(session, ctx, existing)
        if existing is None and amend:
            raise BadInput(f"there is no draw for {day} to amend; run `screening select` first")
        master = _master(ctx, session, day)
        if existing is None:
            draw = _draw(session, writer, ctx, day, master, why if late else None)
        else:
            draw = _amend(session, writer, ctx, existing, master, why)  # type: ignore[arg-type]
            if draw is None:
                return DrawView(**{**view(session, ctx, existing).__dict__, "unchanged": True})
        if late is not None:
            # The day is over: its key can be revealed at once, like any past day's.
            reveal_due(session, writer, ctx.settings, ctx.today, master)
        session.flush()
        result = view(session, ctx, draw)
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
    if amend:
        return ctx.today, _text(reason, "--reason (what was corrected in the pool)")
    try:
        day = validate.parse_date(late, "--late")  # type: ignore[arg-type]
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


def _find(session: Session, site: str, day: date) -> Draw | None:
    return session.exec(select(Draw).where(Draw.site == site, Draw.day == day)).first()


def _master(ctx: Context, session: Session, day: date) -> bytes:
    """The master key, checked against every anchor committed for the day's period.

    Every one, not the first: a second commitment slipped in for the period, or a history
    rewritten from scratch with another key, must not be drawn on top of. Refused with
    exit 1, not 3: the key file was read, and what failed is a check of the ledger
    against it, the one `audit verify` fails on too. Either the key file was replaced
    (restore it) or the history was (verify names the entry); nothing tells the two
    apart here, and a forged history must not read as a setup problem to retry.
    """
    master = read_key(ctx.settings.key_file)
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


def _policy(session: Session, site: str) -> tuple[dict[str, Any], DrawPolicy]:
    body = latest_body(session, site, "policy")
    if body is None:
        raise EnvironmentProblem(f"no policy is recorded for site {site!r}; run `screening init`")
    return body, DrawPolicy.from_body(body)


def candidates(
    session: Session, site: str, day: date, now: datetime | None = None
) -> tuple[list[Candidate], dict[str, Client]]:
    """Clients in the program on ``day``, with holds, their latest screening and their
    latest collection (a screening collected, or still open at ``now``: the interval
    floor's clock under ``interval_from = "collection"``)."""
    in_program = (
        Client.site == site,
        Client.admitted_on <= day,
        sa.or_(Client.discharged_on.is_(None), Client.discharged_on > day),  # type: ignore[union-attr]
    )
    clients = session.exec(select(Client).where(*in_program)).all()
    by_id = {client.id: client for client in clients}
    held = set(
        session.exec(
            select(Hold.client_id)
            .join(Client, Client.id == Hold.client_id)
            .where(
                Client.site == site,
                Hold.starts_on <= day,
                sa.func.coalesce(Hold.ended_on, Hold.ends_on) >= day,
                Hold.withdrawn == sa.false(),
            )
        ).all()
    )
    # Only the screenings of clients in the program: not the site's whole history.
    last: dict[int, date] = dict(
        session.execute(
            sa.select(Screening.client_id, sa.func.max(Screening.day))
            .where(
                Screening.client_id.in_(sa.select(Client.id).where(*in_program)),  # type: ignore[attr-defined]
                Screening.status != "cancelled",
            )
            .group_by(Screening.client_id)
        ).all()
    )
    open_or_collected = sa.or_(
        Screening.status == "collected",
        sa.and_(Screening.status == "pending", Screening.due_by > now)
        if now is not None
        else sa.false(),
    )
    collected: dict[int, date] = dict(
        session.execute(
            sa.select(Screening.client_id, sa.func.max(Screening.day))
            .where(
                Screening.client_id.in_(sa.select(Client.id).where(*in_program)),  # type: ignore[attr-defined]
                open_or_collected,
            )
            .group_by(Screening.client_id)
        ).all()
    )
    result = [
        Candidate(
            c.uid,
            c.track,
            c.phase,
            c.admitted_on,
            c.id in held,
            last.get(c.id),
            collected.get(c.id),
        )
        for c in by_id.values()
    ]
    return result, {c.uid: c for c in clients}


def _closed(session: Session, site: str, day: date) -> bool:
    return (
        session.exec(
            select(Closure.id).where(
                Closure.site == site,
                Closure.day == day,
                Closure.withdrawn_seq.is_(None),  # type: ignore[union-attr]
            )
        ).first()
        is not None
    )


def _body(day: date, policy_body: dict[str, Any], composition: Composition) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "period": period_of(day),
        "algorithm": ALGORITHM,
        "beacon_id": NO_BEACON,
        "beacon_value": "",
        "policy": policy_digest(policy_body),
        "pool": [{"uid": uid, "p": fraction_text(p)} for uid, p in composition.pool],
        "left_out": [{"uid": uid, "reason": why} for uid, why in composition.left_out],
        "selected": [{"uid": uid, "why": why} for uid, why in composition.selected],
    }


def _compose(
    session: Session, ctx: Context, day: date, master: bytes, already: dict[str, str] | None = None
) -> tuple[dict[str, Any], Composition, dict[str, Client]]:
    policy_body, policy = _policy(session, ctx.site)
    pool, clients = candidates(session, ctx.site, day, ctx.now)
    seed = day_seed(day_key(master, ctx.site, day), ctx.site, day)
    composition = compose(seed, day, policy, pool, _closed(session, ctx.site, day), already)
    return policy_body, composition, clients


def _draw(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    day: date,
    master: bytes,
    late_reason: str | None,
) -> Draw:
    policy_body, composition, clients = _compose(session, ctx, day, master)
    salt = new_salt() if late_reason is not None else ""  # a salt only beside text
    body = _body(day, policy_body, composition)
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
    policy_body, composition, clients = _compose(session, ctx, draw.day, master, already)
    composed = _body(draw.day, policy_body, composition)
    if all(composed[key] == previous[key] for key in _COMPOSED):
        return None
    added = {uid: why for uid, why in composition.selected if uid not in already}
    amendment = DrawAmendment(draw_id=draw.id, reason=reason, salt=new_salt(), ledger_seq=0)  # type: ignore[arg-type]
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
    clients: dict[str, Client],
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
        give_ids(session, Screening.__table__, rows)  # type: ignore[arg-type]
        session.execute(sa.insert(Screening.__table__), rows)  # type: ignore[arg-type]


def view(
    session: Session, ctx: Context, draw: Draw, everything_of_the_day: bool = False
) -> DrawView:
    body = json.loads(
        session.execute(
            sa.select(_LEDGER.c.canonical).where(_LEDGER.c.seq == draw.ledger_seq)
        ).scalar_one()
    )["body"]
    left_out: dict[str, int] = {}
    for item in body["left_out"]:
        left_out[item["reason"]] = left_out.get(item["reason"], 0) + 1
    amendments = session.execute(
        sa.select(sa.func.count())
        .select_from(DrawAmendment)
        .where(DrawAmendment.draw_id == draw.id)
    ).scalar_one()
    rows = []
    zone = ctx.settings.zone
    drawn = Screening.draw_id == draw.id
    # `today` also lists the day's screenings nobody drew (for cause, an observed
    # recollection): staff working from it must not miss one. The draw's own list (what
    # `select` shows and delivers) stays the draw's.
    which = sa.or_(drawn, sa.and_(Screening.draw_id.is_(None), Screening.day == draw.day))  # type: ignore[union-attr]
    for screening, client in session.exec(
        select(Screening, Client)
        .join(Client, Client.id == Screening.client_id)
        .where(which if everything_of_the_day else drawn, Client.site == draw.site)
        .order_by(Screening.draw_id.is_(None), Client.code, Screening.id)  # type: ignore[union-attr]
    ).all():
        due = screening.due_by.astimezone(zone)
        rows.append(
            {
                "code": client.code,
                "name": client.name,
                "track": client.track,
                "phase": client.phase,
                "why": screening.reason,
                "status": shown_status(screening, ctx.now),
                "collect_by": due.strftime("%H:%M")
                if due.date() == draw.day
                else due.strftime("%Y-%m-%d %H:%M"),
                "due_by": due.isoformat(),
            }
        )
    return DrawView(
        site=draw.site,
        day=draw.day,
        drawn_at=draw.drawn_at,
        late=draw.late_reason is not None,
        amendments=amendments,
        closed=_closed(session, draw.site, draw.day),
        pool_size=len(body["pool"]),
        left_out=left_out,
        rows=rows,
    )


def today(ctx: Context) -> DrawView | None:
    with ctx.database.read() as session:
        draw = _find(session, ctx.site, ctx.today)
        if draw is None:
            return None
        return view(session, ctx, draw, everything_of_the_day=True)


def reveal(ctx: Context) -> list[date]:
    """``audit reveal``: publish the keys of the days that are over."""
    with writing(ctx) as (_, writer):
        return writer.revealed
