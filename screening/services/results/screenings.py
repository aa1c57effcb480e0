"""Staff's changes to a screening after the draw: a miss (no-show, refusal, unable to
provide), an excusal, a cancellation, a for-cause screening, and a miss reversed with an
approver. The screening states themselves are in records/screenings.py."""

from __future__ import annotations

from typing import Any

from screening.core import validate
from screening.core.canonical import private_digest
from screening.db.models import Client, Screening
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import new_salt
from screening.services.records.clients import find
from screening.services.records.screenings import (
    EXCUSE_CODES,
    REVERSED_EXCUSE,
    REVERSIBLE,
    create,
    key,
    pending_for,
    set_status,
)
from screening.services.records.upkeep import writing


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
            code = validate.choice(reason or "", EXCUSE_CODES, "--reason")
            approver = validate.staff_name(approved_by, "--approved-by")
            return None, code, approver
        if approved_by is not None:
            raise BadInput("--approved-by goes with `results excuse`")
        required = status in ("refused", "cancelled")
        return validate.free_text(reason, "--reason", required), None, None
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


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
        made: list[tuple[Client, Screening]] = []
        for code in codes:
            client = find(session, ctx.site, code)
            if any(earlier.id == client.id for earlier, _ in made):  # "C-1" and "c-1"
                raise BadInput(f"client {client.code} is given twice; name each client once")
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
