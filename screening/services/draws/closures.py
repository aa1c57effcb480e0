"""Clinic closures: no draw at the site that day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.db.models import Closure, Draw
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import new_salt
from screening.services.records.upkeep import writing


def closure_state(row: Closure) -> dict[str, Any]:
    return {"date": row.day.isoformat(), "reason": private_digest(row.salt, row.reason)}


def closure_record(row: Closure) -> dict[str, Any]:
    """What verify compares a closure row with: as entered, and its withdrawal if any."""
    state = closure_state(row)
    if row.withdrawn_seq is not None or row.withdrawn_reason is not None:
        state["withdrawn"] = {
            "entry": row.withdrawn_seq,
            "reason": private_digest(row.salt, row.withdrawn_reason),
        }
    return state


def _day_and_reason(day_text: str, reason: str) -> tuple[date, str]:
    try:
        day, text = validate.parse_date(day_text, "date"), validate.free_text(reason, "--reason")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    assert text is not None  # a required text: free_text refuses an empty one
    return day, text


def close(ctx: Context, day_text: str, reason: str) -> dict[str, Any]:
    day, text = _day_and_reason(day_text, reason)
    with writing(ctx) as (session, writer):
        existing = session.exec(
            select(Closure).where(Closure.site == ctx.site, Closure.day == day)
        ).first()
        if existing is not None and existing.withdrawn_seq is not None:
            raise BadInput(
                f"the closure of {day} was withdrawn; a withdrawn closure is not entered again "
                "(the clinic is open that day)"
            )
        if existing is not None:
            raise BadInput(f"the clinic is already recorded as closed on {day}")
        if session.exec(select(Draw.id).where(Draw.site == ctx.site, Draw.day == day)).first():
            raise BadInput(
                f"the draw for {day} has already been made; a closure cannot undo it "
                "(excuse the day's screenings instead)"
            )
        row = Closure(site=ctx.site, day=day, reason=text, salt=new_salt(), ledger_seq=0)
        entry = writer.append(ctx.site, "closure", {"action": "add", "closure": closure_state(row)})
        row.ledger_seq = entry.seq
        session.add(row)
        session.flush()
        return {"date": day.isoformat(), "reason": text}


def withdraw(ctx: Context, day_text: str, reason: str) -> dict[str, Any]:
    """``close DATE --withdraw --reason``: the clinic opens after all. Its ledger entry
    counts for draws made from now on; a day already drawn as closed may be re-drawn
    for its pool with `select --amend --reason`."""
    day, text = _day_and_reason(day_text, reason)
    with writing(ctx) as (session, writer):
        row = session.exec(
            select(Closure).where(Closure.site == ctx.site, Closure.day == day)
        ).first()
        if row is None or row.withdrawn_seq is not None:
            raise BadInput(
                f"the clinic is not recorded as closed on {day}; nothing to withdraw "
                "(see `screening report reconcile`)"
            )
        drawn = session.exec(select(Draw.id).where(Draw.site == ctx.site, Draw.day == day)).first()
        if drawn is not None and day < ctx.today:
            raise BadInput(f"{day} is over and was drawn as closed; a past draw is never re-rolled")
        row.withdrawn_reason = text
        entry = writer.append(
            ctx.site,
            "closure",
            {
                "action": "withdraw",
                "closure": {
                    "entry": row.ledger_seq,
                    "date": day.isoformat(),
                    "reason": private_digest(row.salt, text),
                },
            },
        )
        row.withdrawn_seq = entry.seq
        session.add(row)
        session.flush()
        return {"date": day.isoformat(), "reason": text, "amend_today": drawn is not None}
