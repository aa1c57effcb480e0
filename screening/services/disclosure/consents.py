"""Consents to disclose, recorded, revoked; clients' restrictions, added and lifted.

Every element 42 CFR 2.31 asks of a written consent is a required field: who may
receive (a name, or a class for a TPO consent), the purpose, what may be shared, when it
expires (a date or the end of treatment), when it was signed and by whom, how to revoke
it; a criminal-justice referral's consent (§2.35) also says from when it may be revoked.
Each is a `consent` entry whose body holds the client's uid, the codes and dates, and a
salted digest of the free text (the row keeps the salt).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core import disclosure as rules
from screening.core import validate
from screening.core.canonical import canonical_text, private_digest
from screening.db.models import Client, Consent, LedgerRow, Restriction, flushed_id, table_of
from screening.errors import BadInput, NotPermitted
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import new_salt
from screening.services.records.clients import checked, find
from screening.services.records.upkeep import writing

_LEDGER = table_of(LedgerRow)


def terms_text(row: Consent) -> str:
    """The consent's free text as its entry's ``terms`` digest pins it."""
    return canonical_text(
        {
            "recipient": row.recipient,
            "recipient_class": row.recipient_class,
            "signed_by": row.signed_by,
            "how_to_revoke": row.how_to_revoke,
            "detail": row.detail,
        }
    )


def terms_of(row: Consent) -> rules.Terms:
    return rules.Terms(
        type=row.type,
        recipient=row.recipient,
        recipient_class=row.recipient_class,
        purpose=row.purpose,
        shares=frozenset(json.loads(row.shares)),
        covers_from=row.covers_from,
        expires_on=row.expires_on,
        at_discharge=row.at_discharge,
        signed_on=row.signed_on,
        revocable_from=row.revocable_from,
    )


def ended_with_treatment(session: Session, client: Client, row: Consent) -> date | None:
    """The day treatment ended for a consent that lasts until then: the first discharge
    dated on or after the signing, or recorded after the consent whatever day it names
    (a discharge entered late, dated back: the consent ended no earlier than it was
    signed). A later re-admission does not revive it."""
    found: list[date] = []
    for seq, canonical in session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.canonical).where(
            _LEDGER.c.kind == "client", _LEDGER.c.uid == client.uid
        )
    ):
        body = json.loads(canonical)["body"]
        day = body.get("client", {}).get("discharged_on")
        if body.get("action") != "discharge" or not day:
            continue
        on = date.fromisoformat(day)
        if on >= row.signed_on or seq > row.added_seq:
            found.append(max(on, row.signed_on))
    return min(found, default=None)


def status_of(session: Session, row: Consent, client: Client, today: date) -> str:
    """In force, revoked, expired, or ended at discharge: what the gate will say."""
    if row.revoked_seq is not None:
        return "revoked"
    if row.expires_on is not None and row.expires_on < today:
        return "expired"
    if row.at_discharge:
        ended = ended_with_treatment(session, client, row)
        if ended is not None and ended < today:
            return "ended at discharge"
    if row.signed_on > today:
        return "signed in the future"
    return "in force"


def consent_view(row: Consent, client_code: str, status: str = "") -> dict[str, Any]:
    """A consent as staff read it."""
    return {
        "number": row.id,
        "uid": row.uid,
        "client": client_code,
        "type": row.type,
        "recipient": row.recipient,
        "recipient_class": row.recipient_class,
        "purpose": row.purpose,
        "detail": row.detail,
        "shares": [share for share in rules.SHARES if share in json.loads(row.shares)],
        "covers_from": row.covers_from.isoformat(),
        "expires": row.expires_on.isoformat() if row.expires_on else "end of treatment",
        "signed_on": row.signed_on.isoformat(),
        "signed_by": row.signed_by,
        "how_to_revoke": row.how_to_revoke,
        "revocable_from": row.revocable_from.isoformat() if row.revocable_from else None,
        "status": status,
        "revoke_reason": row.revoke_reason,
    }


def _date(text: str | None, what: str) -> date | None:
    return checked(validate.parse_date, text, what) if text else None


def _expiry(text: str) -> date | None:
    """--expires: a date, or the end of treatment (None)."""
    if text.strip().replace("-", "_").replace(" ", "_").lower() == rules.END_OF_TREATMENT:
        return None
    try:
        return validate.parse_date(text, "--expires")
    except validate.Invalid:
        raise BadInput(
            f"--expires {text!r} is neither a date (YYYY-MM-DD) nor end-of-treatment; give "
            "the expiry the consent form names"
        ) from None


def _shares(text: str) -> list[str]:
    names = [part for part in text.replace(";", ",").split(",") if part.strip()]
    if not names:
        raise BadInput(f"--share is empty; give one or more of {', '.join(rules.SHARES)}")
    return sorted({checked(validate.choice, name, rules.SHARES, "--share") for name in names})


def add_consent(
    ctx: Context,
    code: str,
    *,
    type: str,
    recipient: str | None,
    recipient_class: str | None,
    purpose: str,
    detail: str | None,
    shares: str,
    expires: str,
    signed: str,
    signed_by: str,
    how_to_revoke: str | None,
    revocable_from: str | None,
    covers_from: str | None,
) -> dict[str, Any]:
    """`consent add`: every §2.31 element checked, then one `consent` entry and its row."""
    kind = checked(validate.choice, type, rules.TYPES, "--type")
    if (recipient is None) == (recipient_class is None):
        raise BadInput(
            "give the recipient: --recipient NAME (a person or an organisation), or "
            "--recipient-class TEXT for a TPO consent's class (e.g. 'my treating providers')"
        )
    if recipient_class is not None and kind != rules.TPO:
        raise BadInput(
            "--recipient-class is for a TPO consent only (42 CFR 2.31(a)(4)); name the "
            "recipient with --recipient"
        )
    for given, option, wanted in (
        (recipient or recipient_class, "--recipient", "the recipient as the form names them"),
        (signed_by, "--signed-by", "client, or the name of who signed for the client"),
    ):
        if not (given or "").strip():
            raise BadInput(f"{option} is empty; give {wanted}")
    who = checked(validate.free_text, recipient or recipient_class, "--recipient")
    aim = checked(validate.choice, purpose, rules.PURPOSES, "--purpose")
    if aim not in rules.PURPOSES_OF[kind]:
        allowed = ", ".join(rules.words(p) for p in rules.PURPOSES_OF[kind])
        raise BadInput(
            f"a {rules.type_words(kind)} may be for {allowed}, not {rules.words(aim)}"
            + (
                "; a use in a proceeding against the client needs --type proceedings or court-order"
                if aim == rules.LEGAL_PROCEEDING
                else ""
            )
        )
    what = _shares(shares)
    expires_on = _expiry(expires)
    signed_on = _date(signed, "--signed")
    assert signed_on is not None  # a required option
    if signed_on > ctx.today:
        raise BadInput(
            f"--signed {signed_on} is after today ({ctx.today}); give the day it was signed"
        )
    if expires_on is not None and expires_on < signed_on:
        raise BadInput(f"--expires {expires_on} is before --signed {signed_on}")
    signer = checked(validate.free_text, signed_by, "--signed-by")
    assert signer is not None
    revoke_how = checked(validate.free_text, how_to_revoke, "--how-to-revoke", False)
    if revoke_how is not None and kind == rules.COURT_ORDER:
        raise BadInput(
            "a court order is not the client's to revoke: leave --how-to-revoke out (a "
            "vacated order is recorded with `consent revoke N --reason other --note ...`)"
        )
    if revoke_how is None and kind != rules.COURT_ORDER:
        raise BadInput(
            "--how-to-revoke is missing: say how the client may revoke this consent, as "
            "the form does (42 CFR 2.31(a)(6)), e.g. 'in writing to the program director'"
        )
    revocable = _date(revocable_from, "--revocable-from")
    if kind == rules.CRIMINAL_JUSTICE and revocable is None:
        raise BadInput(
            "--revocable-from is missing: a criminal-justice referral's consent says when it "
            "may be revoked, no later than the final disposition (42 CFR 2.35(d)); give that day"
        )
    if kind != rules.CRIMINAL_JUSTICE and revocable is not None:
        raise BadInput("--revocable-from is for a criminal-justice referral's consent only")
    note = checked(validate.free_text, detail, "--detail", False)
    if aim == "other" and note is None:
        raise BadInput(
            "--purpose other needs --detail: the purpose in the form's own words (42 CFR "
            "2.31(a)(5)), e.g. --detail 'sports eligibility'"
        )
    with writing(ctx) as (session, writer):
        client = find(session, ctx.site, code)
        if client.status != "active" and expires_on is None:
            # A former client may still consent (a discharge summary to the court, their
            # records to a new provider), and a court order may come after treatment.
            raise BadInput(
                f"client {client.code} was discharged on {client.discharged_on}: a consent "
                "to the end of treatment would end before it began; give --expires DATE"
            )
        start = _date(covers_from, "--covers-from") or client.admitted_on
        row = Consent(
            uid=str(uuid.uuid4()),
            site=ctx.site,
            client_id=flushed_id(client),
            type=kind,
            recipient=who,
            recipient_class=recipient_class is not None,
            purpose=aim,
            detail=note,
            shares=json.dumps(what),
            covers_from=start,
            expires_on=expires_on,
            at_discharge=expires_on is None,
            signed_on=signed_on,
            signed_by=signer,
            how_to_revoke=revoke_how,
            revocable_from=revocable,
            taken_by=_writer_digest(writer.actor(ctx.site)),
            salt=new_salt(),
            added_seq=0,
        )
        entry = writer.append(
            ctx.site,
            "consent",
            {
                "action": "add",
                "consent": row.uid,
                "client": client.uid,
                "type": kind,
                "purpose": aim,
                "shares": what,
                "covers_from": start.isoformat(),
                "expires": expires_on.isoformat() if expires_on else rules.END_OF_TREATMENT,
                "signed": signed_on.isoformat(),
                "revocable_from": revocable.isoformat() if revocable else None,
                "taken_by": row.taken_by,
                "terms": private_digest(row.salt, terms_text(row)),
            },
        )
        row.added_seq = entry.seq
        session.add(row)
        session.flush()
        return consent_view(row, client.code, status_of(session, row, client, ctx.today))


def _writer_digest(actor: dict[str, str]) -> str:
    """Who took the consent: the entry's writer as the ledger names it (the database
    login on PostgreSQL, else the OS user); `audit verify` holds ``taken_by`` to it."""
    return actor.get("login_digest") or actor["os_digest"]


def consent_by_number(session: Session, ctx: Context, number: int) -> tuple[Consent, Client]:
    row = session.get(Consent, number)
    if row is None or row.site != ctx.site:
        raise BadInput(f"no consent {number} at site {ctx.site!r}; see `screening consent list`")
    client = session.get(Client, row.client_id)
    assert client is not None  # a foreign key
    return row, client


def revoke_consent(ctx: Context, number: int, reason: str, note: str | None) -> dict[str, Any]:
    """`consent revoke`: in effect from this entry on (the gate reads revoked_seq)."""
    why = checked(validate.choice, reason, rules.REVOKE_REASONS, "--reason")
    said = checked(validate.free_text, note, "--note", why == "other")
    with writing(ctx) as (session, writer):
        row, client = consent_by_number(session, ctx, number)
        if row.revoked_seq is not None:
            raise BadInput(
                f"consent {number} was already revoked ({rules.words(row.revoke_reason or '')})"
            )
        if row.type == rules.COURT_ORDER and why in ("client_request", "expiry_event"):
            raise BadInput(
                f"consent {number} is a court order, which the client cannot revoke: record a "
                "vacated or ended order with --reason other --note '...', or entered-in-error"
            )
        barred = rules.revocation_barred(terms_of(row), ctx.today)
        if barred is not None and why != "entered_in_error":
            raise NotPermitted(
                f"consent {number} is a criminal-justice referral's consent that may not be "
                f"revoked before {barred} (42 CFR 2.35(d)); record it then, or use --reason "
                "entered-in-error if it was recorded by mistake"
            )
        entry = writer.append(
            ctx.site,
            "consent",
            {
                "action": "revoke",
                "consent": row.uid,
                "client": client.uid,
                "reason": why,
                "note": private_digest(row.salt, said),
            },
        )
        row.revoked_seq, row.revoke_reason, row.revoke_note = entry.seq, why, said
        session.add(row)
        session.flush()
        return consent_view(row, client.code, "revoked")


def restriction_in_force(session: Session, client: Client) -> Restriction | None:
    return session.exec(
        select(Restriction).where(
            Restriction.client_id == client.id, col(Restriction.lifted_seq).is_(None)
        )
    ).first()


def restrict_client(ctx: Context, code: str, note: str | None) -> dict[str, Any]:
    """`consent restrict`: nothing leaves for this client but what the law requires."""
    said = checked(validate.free_text, note, "--note", False)
    with writing(ctx) as (session, writer):
        client = find(session, ctx.site, code)
        if restriction_in_force(session, client) is not None:
            raise BadInput(f"client {client.code} is restricted already; see `consent list`")
        # A salt only beside a note: one that salts nothing would be checked by nothing
        # (audit/column_rules.SALTED_TEXT); a lift with a note makes one then.
        salt = new_salt() if said is not None else ""
        row = Restriction(
            site=ctx.site, client_id=flushed_id(client), note=said, salt=salt, added_seq=0
        )
        entry = writer.append(
            ctx.site,
            "consent",
            {"action": "restrict", "client": client.uid, "note": private_digest(row.salt, said)},
        )
        row.added_seq = entry.seq
        session.add(row)
        session.flush()
        return {"client": client.code, "restricted": True, "entry": entry.seq}


def lift_restriction(ctx: Context, code: str, note: str | None) -> dict[str, Any]:
    said = checked(validate.free_text, note, "--note", False)
    with writing(ctx) as (session, writer):
        client = find(session, ctx.site, code)
        row = restriction_in_force(session, client)
        if row is None:
            raise BadInput(f"client {client.code} is not restricted")
        if said is not None and not row.salt:
            row.salt = new_salt()
        entry = writer.append(
            ctx.site,
            "consent",
            {"action": "lift", "client": client.uid, "note": private_digest(row.salt, said)},
        )
        row.lifted_seq, row.lift_note = entry.seq, said
        session.add(row)
        session.flush()
        return {"client": client.code, "restricted": False, "entry": entry.seq}
