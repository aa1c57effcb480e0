"""A screening's states: created by a draw or for cause, the open one a specimen is
recorded against, each change of status, excusals for a hold, and the sweep that turns
overdue ones into no-shows (run by every write). Staff's commands are results/screenings.py.

A screening never returns to pending and is never deleted ("no second bite"). Every
change is a ``screening`` ledger entry; free text enters it only as a salted digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.canonical import private_digest
from screening.core.policy import collection_deadline
from screening.db.memo import memo
from screening.db.models import Client, Screening
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter, latest_body, new_salt

STATUSES = (
    "pending",
    "collected",
    "no_show",
    "refused",
    "unable_to_provide",
    "excused",
    "cancelled",
    "inconclusive",
)
# Why a screening may be excused; the approver is recorded by name.
EXCUSE_CODES = (
    "medical",
    "court",
    "transport",
    "clinic_error",
    "bereavement",
    "employment",
    "other",
)
# Excuse codes the program sets itself: a hold entered after the draw, a miss reversed.
HOLD_EXCUSE = "hold"
REVERSED_EXCUSE = "reversed"
# The misses staff record that only an amendment (`results reverse`) can undo.
REVERSIBLE = ("no_show", "refused", "unable_to_provide")


def shown_status(screening: Screening, now: datetime) -> str:
    """The status as staff should read it: a pending screening past its deadline is
    "overdue" until the next write's sweep records it as a no-show."""
    if screening.status == "pending" and screening.due_by < now:
        return "overdue"
    return screening.status


def key(screening: Screening, client: Client) -> list[Any]:
    """A screening's name in the ledger: the entry that created it and the client's uid."""
    return [screening.created_seq, client.uid]


def pending_for(
    session: Session,
    ctx: Context,
    client: Client,
    screening_id: int | None = None,
    *,
    collected_at: datetime | None = None,
    observed: bool = False,
) -> Screening:
    """The client's screening to act on: the one named, or the pending one due first (an
    observed collection goes first to a screening that requires observation).

    For a collection (``collected_at``), a screening that the overdue sweep marked a
    no-show can still take a specimen collected before its deadline: entering it late is
    not missing it.
    """
    if screening_id is not None:
        screening = session.get(Screening, screening_id)
        if screening is None or screening.client_id != client.id:
            raise BadInput(
                f"client {client.code} has no screening {screening_id}; "
                f"see `screening results list --client {client.code}`"
            )
        if not usable(screening, collected_at):
            raise BadInput(_settled_message(screening, client, collected_at, ctx))
        return screening
    statuses = ["pending", *REVERSIBLE] if collected_at is not None else ["pending"]
    candidates = session.exec(
        select(Screening)
        .where(Screening.client_id == client.id, col(Screening.status).in_(statuses))
        .order_by(col(Screening.due_by), col(Screening.id))
    ).all()
    return first_open(client, candidates, collected_at, observed, ctx.settings.zone)


def usable(screening: Screening, collected_at: datetime | None) -> bool:
    """Pending, or (for a collection made before the deadline) swept to a no-show after
    it was collected, or a miss reversed by an amendment (`results reverse`)."""
    if screening.status == "pending":
        return True
    if collected_at is None or collected_at > screening.due_by:
        return False
    swept = screening.status == "no_show" and screening.status_auto
    reversed_miss = screening.status == "excused" and screening.reversed_status is not None
    return swept or reversed_miss


def _settled_message(
    screening: Screening, client: Client, collected_at: datetime | None, ctx: Context | None
) -> str:
    status = screening.status.replace("_", " ")
    if collected_at is not None and screening.status in REVERSIBLE and not screening.status_auto:
        return (
            f"screening {screening.id} of {client.code} was recorded as {status} by staff; "
            "a specimen cannot replace it unless the miss is reversed first: "
            f"screening results reverse {screening.id} --reason ... --approved-by NAME"
        )
    if (
        ctx is not None
        and collected_at is not None
        and screening.status
        in (
            "pending",
            "no_show",
            "excused",
        )
    ):
        return (
            f"screening {screening.id} of {client.code} was due by "
            f"{screening.due_by.astimezone(ctx.settings.zone):%Y-%m-%d %H:%M} and the "
            "specimen was collected after that; record it as a for-cause screening instead"
        )
    return (
        f"screening {screening.id} of {client.code} is already {status}; it cannot "
        "change again (amend its result instead)"
    )


def first_open(
    client: Client,
    candidates: Sequence[Screening],
    collected_at: datetime | None = None,
    observed: bool = False,
    zone: Any = UTC,
) -> Screening:
    """Of ``candidates`` (in order of deadline), the one a collection or mark goes to."""
    open_ones = [s for s in candidates if usable(s, collected_at)]
    if not open_ones and collected_at is not None:
        # A specimen for a day staff recorded as missed: name the way to reverse it.
        missed = [
            s
            for s in candidates
            if s.status in REVERSIBLE and not s.status_auto and collected_at <= s.due_by
        ]
        if missed:
            raise BadInput(_settled_message(missed[0], client, collected_at, None))
    if not open_ones:
        raise BadInput(
            f"client {client.code} has no pending screening; for a test nobody drew, record "
            f"one first: screening results for-cause {client.code} --reason ..."
        )
    if observed and any(s.observed_required for s in open_ones):
        return next(s for s in open_ones if s.observed_required)
    if len(open_ones) > 1:
        # A random and a for-cause screening open at once (or a late draw's and today's):
        # one specimen filed against the wrong one would leave the other to become a
        # miss, and read as the wrong kind of test. Staff say which.
        listed = "; ".join(
            f"{s.id} ({s.reason.replace('_', ' ')} of {s.day}, due "
            f"{s.due_by.astimezone(zone).strftime('%Y-%m-%d %H:%M')})"
            for s in open_ones
        )
        raise BadInput(
            f"client {client.code} has {len(open_ones)} open screenings: {listed}; say "
            "which with --screening N"
        )
    return open_ones[0]


def set_status(
    writer: LedgerWriter,
    session: Session,
    ctx: Context,
    screening: Screening,
    client: Client,
    status: str,
    *,
    note: str | None = None,
    excuse: str | None = None,
    approved_by: str | None = None,
    auto: bool = False,
) -> None:
    if note is not None and not screening.salt:  # a salt only beside text it salts
        screening.salt = new_salt()
    screening.status, screening.status_note, screening.status_auto = status, note, auto
    screening.excuse_code, screening.approved_by = excuse, approved_by
    entry = writer.append(
        ctx.site,
        "screening",
        {
            "action": "status",
            "screening": key(screening, client),
            "status": status,
            "auto": auto,
            "note": private_digest(screening.salt, note),
            "excuse": excuse,
            # Staff names enter the ledger only as digests (DESIGN §6, issue 13).
            "approver": writer.staff(ctx.site, approved_by) if approved_by else None,
        },
    )
    screening.ledger_seq = entry.seq
    session.add(screening)


def create(
    writer: LedgerWriter,
    session: Session,
    ctx: Context,
    client: Client,
    reason: str,
    *,
    note: str | None = None,
    observed: bool = False,
    because: int | None = None,
    replaces: Screening | None = None,
) -> Screening:
    """A screening nobody drew: for cause, or an observed recollection of a specimen."""
    policy = latest_body(session, ctx.site, "policy")
    assert client.id is not None  # read from the database: it has its id
    screening = Screening(
        client_id=client.id,
        day=ctx.today,
        reason=reason,
        status="pending",
        due_by=ctx.now,
        observed_required=observed,
        replaces_id=replaces.id if replaces else None,
        salt=new_salt() if note is not None else "",  # a salt only beside text
        note=note,
        created_seq=0,
        ledger_seq=0,
    )
    entry = writer.append(
        ctx.site,
        "screening",
        {
            "action": "create",
            "uid": client.uid,
            "date": ctx.today.isoformat(),
            "reason": reason,
            "observed": observed,
            "note": private_digest(screening.salt, note),
            "because": because,
        },
    )
    screening.due_by = collection_deadline(entry.at, policy or {"collect_within_hours": 12})
    screening.created_seq = screening.ledger_seq = entry.seq
    session.add(screening)
    return screening


def sweep_overdue(session: Session, writer: LedgerWriter, ctx: Context, now: datetime) -> int:
    """Pending screenings past their deadline become no-shows (recorded as automatic).

    The earliest deadline still pending is kept for the transaction (db/memo.py) with
    the next screening id: until a screening is created (the id moves) or that deadline
    passes, the commands of a batch have nothing to sweep and need not look."""
    kept = memo(session)
    made = kept.get("ids", {}).get("screenings")
    known = kept.setdefault("next_due", {}).get(ctx.site)
    if known is not None and known[1] == made and (known[0] is None or now <= known[0]):
        return 0
    pending = (Client.site == ctx.site, Screening.status == "pending")
    overdue = session.exec(
        select(Screening, Client)
        .join(Client, col(Client.id) == Screening.client_id)
        .where(*pending, Screening.due_by < now)
        .order_by(col(Screening.due_by), col(Screening.id))
    ).all()
    for screening, client in overdue:
        set_status(writer, session, ctx, screening, client, "no_show", auto=True)
    session.flush()
    next_due = session.exec(
        select(sa.func.min(Screening.due_by))
        .join(Client, col(Client.id) == Screening.client_id)
        .where(*pending)
    ).one()
    kept["next_due"][ctx.site] = (next_due, kept.get("ids", {}).get("screenings"))
    return len(overdue)


def excuse_for_hold(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    client: Client,
    first: Any,
    last: Any,
    reason: str,
    hold_seq: int,
) -> list[Screening]:
    """A hold entered after a day's draw excuses that day's screening, with the hold's
    reason, while it is still pending and not yet overdue: past its deadline it is a
    miss already, and a hold entered later does not erase it."""
    found = session.exec(
        select(Screening)
        .where(
            Screening.client_id == client.id,
            Screening.status == "pending",
            # Only a drawn screening: a for-cause test or an observed recollection is
            # never excused by a hold (no approver asks for it).
            col(Screening.draw_id).is_not(None),
            Screening.day >= first,
            Screening.day <= last,
            Screening.due_by >= ctx.now,
        )
        .order_by(col(Screening.due_by), col(Screening.id))
    ).all()
    for screening in found:
        if reason is not None and not screening.salt:
            screening.salt = new_salt()
        screening.status, screening.status_note, screening.status_auto = "excused", reason, False
        screening.excuse_code, screening.approved_by = HOLD_EXCUSE, None
        entry = writer.append(
            ctx.site,
            "screening",
            {
                "action": "status",
                "screening": key(screening, client),
                "status": "excused",
                "auto": False,
                "note": private_digest(screening.salt, reason),
                "excuse": HOLD_EXCUSE,
                "approved_by": None,
                "hold": hold_seq,
            },
        )
        screening.ledger_seq = entry.seq
        session.add(screening)
    return list(found)
