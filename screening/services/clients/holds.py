"""Holds after they are entered: ended early or withdrawn, each with its reason and a
ledger entry; and what `audit verify` compares a hold row with.

A change counts for draws made after its entry: a draw already made is never re-rolled
(today's can be amended with `select --amend`). Entering a hold is `clients.hold`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.db.models import Client, Draw, Hold
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.records.clients import checked, find, hold_state
from screening.services.records.upkeep import writing


def hold_record(hold: Hold, client: Client) -> dict[str, Any]:
    """What verify compares a hold row with: the hold as entered, and (once ended early
    or withdrawn) the change, its reason's digest and its entry."""
    state = hold_state(hold, client)
    if hold.changed_seq is not None:
        state["change"] = {
            "entry": hold.changed_seq,
            "ended_on": hold.ended_on.isoformat() if hold.ended_on else None,
            "withdrawn": hold.withdrawn,
            "reason": private_digest(hold.salt, hold.change_reason),
        }
    elif hold.ended_on is not None or hold.withdrawn or hold.change_reason is not None:
        state["change"] = {"entry": None}  # changed with no ledger entry: verify names it
    return state


def hold_view(hold: Hold) -> dict[str, Any]:
    view = {
        "id": hold.id,
        "from": hold.starts_on.isoformat(),
        "to": hold.ends_on.isoformat(),
        "reason": hold.reason,
    }
    if hold.withdrawn:
        view["withdrawn"] = hold.change_reason
    elif hold.ended_on is not None:
        view["ended_on"] = hold.ended_on.isoformat()
        view["ended_because"] = hold.change_reason
    return view


def _hold_of(session: Session, ctx: Context, code: str, hold_id: int) -> tuple[Hold, Client]:
    row = find(session, ctx.site, code)
    record = session.get(Hold, hold_id)
    if record is None or record.client_id != row.id:
        raise BadInput(
            f"client {row.code} has no hold {hold_id}; see `screening clients show {row.code}`"
        )
    if record.changed_seq is not None:
        done = "withdrawn" if record.withdrawn else f"ended on {record.ended_on}"
        raise BadInput(f"hold {hold_id} of {row.code} was already {done}; it cannot change again")
    return record, row


def _change_hold(
    ctx: Context, code: str, hold_id: int, reason: str, ended_on: date | None
) -> dict[str, Any]:
    text = checked(validate.free_text, reason, "--reason")
    with writing(ctx) as (session, writer):
        record, row = _hold_of(session, ctx, code, hold_id)
        change: dict[str, Any] = {"uid": row.uid, "entry": record.ledger_seq}
        if ended_on is not None:
            last = record.ends_on
            if ended_on >= last:
                raise BadInput(
                    f"--to {ended_on} does not end hold {hold_id} early (it ends on {last}); "
                    "give an earlier last day"
                )
            if ended_on < record.starts_on:
                raise BadInput(
                    f"--to {ended_on} is before hold {hold_id} starts ({record.starts_on}); "
                    f"withdraw it instead: screening clients hold-withdraw {row.code} "
                    f"--hold {hold_id} --reason ..."
                )
            if ended_on < ctx.today - timedelta(days=1):
                raise BadInput(
                    f"--to {ended_on} is before yesterday: days already drawn stand (a draw "
                    "is never re-rolled); give yesterday or a later day"
                )
            change["to"] = ended_on.isoformat()
            record.ended_on = ended_on
        else:
            record.withdrawn = True
        record.change_reason = text
        change["reason"] = private_digest(record.salt, text)
        action = "end" if ended_on is not None else "withdraw"
        entry = writer.append(ctx.site, "hold", {"action": action, "hold": change})
        record.changed_seq = entry.seq
        session.add(record)
        session.flush()
        # The change counts for draws made from now on; today's, if made, stands unless
        # amended (`select --amend`), which re-evaluates the pool.
        # Only when the hold left the client out of today's draw and no longer covers
        # today: withdrawn, or ended before today.
        back_today = record.withdrawn or (ended_on is not None and ended_on < ctx.today)
        amend = (
            record.starts_on <= ctx.today <= record.ends_on
            and back_today
            and session.exec(
                select(Draw.id).where(Draw.site == ctx.site, Draw.day == ctx.today)
            ).first()
            is not None
        )
        return {
            "id": record.id,
            "code": row.code,
            "from": record.starts_on.isoformat(),
            "to": record.ends_on.isoformat(),
            "ended_on": ended_on.isoformat() if ended_on else None,
            "withdrawn": record.withdrawn,
            "reason": text,
            "amend_today": bool(amend),
        }


def hold_end(ctx: Context, code: str, hold_id: int, last: str, reason: str) -> dict[str, Any]:
    """``clients hold-end``: the client is back early; the hold's last day is ``last``."""
    return _change_hold(ctx, code, hold_id, reason, checked(validate.parse_date, last, "--to"))


def hold_withdraw(ctx: Context, code: str, hold_id: int, reason: str) -> dict[str, Any]:
    """``clients hold-withdraw``: the hold was entered in error; it covers no day from now
    on (days already drawn stand)."""
    return _change_hold(ctx, code, hold_id, reason, None)
