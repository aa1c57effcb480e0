"""Screenings after the draw: misses, refusals, excusals, cancellations, for-cause and
observed recollections, and the sweep that turns overdue ones into no-shows.

A screening never returns to pending and is never deleted ("no second bite"). Every
change is a ``screening`` ledger entry; free text enters it only as a salted digest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.core.policy import collection_deadline
from screening.db.models import Client, Screening
from screening.errors import BadInput
from screening.services.clients import find, new_salt
from screening.services.context import Context
from screening.services.ledger import LedgerWriter, latest_body
from screening.services.upkeep import writing

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
        .where(Screening.client_id == client.id, Screening.status.in_(statuses))  # type: ignore[attr-defined]
        .order_by(Screening.due_by, Screening.id)
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
    candidates: list[Screening],
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


def mark(
    ctx: Context,
    code: str,
    status: str,
    *,
    reason: str | None = None,
    approved_by: str | None = None,
    screening_id: int | None = None,
) -> dict[str, Any]:
    """``results no-show|refused|unable|excuse|cancel``."""
    note, excuse, approver = _status_details(status, reason, approved_by)
    with writing(ctx) as (session, writer):
        client = find(session, ctx.site, code)
        screening = pending_for(session, ctx, client, screening_id)
        set_status(
            writer,
            session,
            ctx,
            screening,
            client,
            status,
            note=note,
            excuse=excuse,
            approved_by=approver,
        )
        session.flush()
        return {
            "code": client.code,
            "screening": screening.id,
            "date": screening.day.isoformat(),
            "status": status,
        }


def _status_details(
    status: str, reason: str | None, approved_by: str | None
) -> tuple[str | None, str | None, str | None]:
    try:
        if status == "excused":
            if reason not in EXCUSE_CODES:
                raise BadInput(
                    f"--reason {reason!r} is not an excuse code; use one of "
                    f"{', '.join(EXCUSE_CODES)}"
                )
            approver = validate.staff_name(approved_by, "--approved-by")
            return None, reason, approver
        if approved_by is not None:
            raise BadInput("--approved-by goes with `results excuse`")
        required = status in ("refused", "cancelled")
        return validate.free_text(reason, "--reason", required), None, None
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


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
    screening = Screening(
        client_id=client.id,
        day=ctx.today,
        reason=reason,  # type: ignore[arg-type]
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


def for_cause(ctx: Context, codes: list[str], reason: str) -> list[dict[str, Any]]:
    """``results for-cause``: a screening nobody drew, for one client or several at once
    (one reason, one transaction: all of them or none)."""
    try:
        text = validate.free_text(reason, "--reason")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if len(set(codes)) != len(codes):
        raise BadInput("a client code is given twice; name each client once")
    with writing(ctx) as (session, writer):
        made = []
        for code in codes:
            client = find(session, ctx.site, code)
            if client.status != "active":
                raise BadInput(
                    f"client {client.code} was discharged on {client.discharged_on}; "
                    "nothing was recorded"
                )
            made.append((client, create(writer, session, ctx, client, "for_cause", note=text)))
        session.flush()
        return [
            {
                "code": client.code,
                "screening": screening.id,
                "due_by": screening.due_by.astimezone(ctx.settings.zone).isoformat(),
            }
            for client, screening in made
        ]


def sweep_overdue(session: Session, writer: LedgerWriter, ctx: Context, now: datetime) -> int:
    """Pending screenings past their deadline become no-shows (recorded as automatic)."""
    overdue = session.exec(
        select(Screening, Client)
        .join(Client, Client.id == Screening.client_id)
        .where(Client.site == ctx.site, Screening.status == "pending", Screening.due_by < now)
        .order_by(Screening.due_by, Screening.id)
    ).all()
    for screening, client in overdue:
        set_status(writer, session, ctx, screening, client, "no_show", auto=True)
    return len(overdue)


def reverse(ctx: Context, screening_id: int, reason: str, approved_by: str) -> dict[str, Any]:
    """``results reverse``: an amendment that undoes a miss staff recorded (a no-show,
    refusal or "unable to provide" entered in error). The screening is then excused
    (code "reversed"); a specimen collected before its deadline may still be entered for
    it, late and with a reason. The miss stays in the ledger, and the reversal beside it."""
    try:
        text = validate.free_text(reason, "--reason")
        approver = validate.staff_name(approved_by, "--approved-by")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    with writing(ctx) as (session, writer):
        screening = session.get(Screening, screening_id)
        client = session.get(Client, screening.client_id) if screening else None
        if screening is None or client is None or client.site != ctx.site:
            raise BadInput(f"no screening {screening_id}; see `screening results list`")
        if screening.status not in REVERSIBLE or screening.status_auto:
            what = screening.status.replace("_", " ")
            if screening.status == "no_show" and screening.status_auto:
                raise BadInput(
                    f"screening {screening_id} of {client.code} is a no-show recorded by the "
                    "overdue sweep; a specimen collected before its deadline is entered with "
                    f"`screening results record {client.code} --screening {screening_id} "
                    "--collected-at ... --reason ...`"
                )
            raise BadInput(
                f"screening {screening_id} of {client.code} is {what}; only a no-show, "
                "refusal or unable-to-provide recorded by staff can be reversed"
            )
        was = screening.status
        if text is not None and not screening.salt:
            screening.salt = new_salt()
        screening.reversed_status, screening.reversal_approver = was, approver
        screening.status, screening.status_note, screening.status_auto = "excused", text, False
        screening.excuse_code, screening.approved_by = REVERSED_EXCUSE, None
        entry = writer.append(
            ctx.site,
            "screening",
            {
                "action": "reverse",
                "screening": key(screening, client),
                "reversed": was,
                "status": "excused",
                "excuse": REVERSED_EXCUSE,
                "note": private_digest(screening.salt, text),
                # The approver as a staff digest, as excusals have it (the name stays in
                # staff_names): no staff name leaves in an export.
                "approver": writer.staff(ctx.site, approver),
            },
        )
        screening.ledger_seq = entry.seq
        session.add(screening)
        session.flush()
        return {
            "code": client.code,
            "screening": screening.id,
            "date": screening.day.isoformat(),
            "reversed": was,
            "approved_by": approver,
        }


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
            Screening.draw_id.is_not(None),  # type: ignore[union-attr]
            Screening.day >= first,
            Screening.day <= last,
            Screening.due_by >= ctx.now,
        )
        .order_by(Screening.due_by, Screening.id)
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
