"""The one gate every disclosure passes: nothing identified leaves the program for an
outside recipient but through ``disclose`` (a progress letter, a FHIR export) or, for the
auditor's export (42 CFR 2.53: audit and evaluation, no consent), ``record_audit``.

``disclose`` finds the consent in force that covers this recipient, purpose, client,
period and kinds of information, or refuses (exit 4) saying what is missing; stamps the
§2.32 notice and the consent's scope on the output; and records a `disclosure` entry with
its row, in the transaction that makes the output: an output that cannot be written
leaves no disclosure, and a disclosure that cannot be recorded leaves no output. A
preview records none (only the access log's `viewed` entry: a chart was read).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlmodel import Session, col, select

from screening.core import disclosure as rules
from screening.core import validate
from screening.core.canonical import private_digest
from screening.core.ledger import Entry
from screening.db.models import Client, Consent, Disclosure, LedgerRow
from screening.errors import BadInput, NotPermitted
from screening.services.access.viewing import record_view, viewing
from screening.services.disclosure.consents import (
    consent_by_number,
    ended_with_treatment,
    restriction_in_force,
    terms_of,
)
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter, new_salt
from screening.services.records.clients import checked, find
from screening.services.records.screenings import sweep_overdue
from screening.services.records.upkeep import recording


class Delivery(Protocol):
    """An output made but not yet out (the CLI's): its exact bytes, written to a
    temporary file or held for the terminal; released once the disclosure is recorded,
    discarded if it is not."""

    payload: bytes

    def release(self) -> None: ...

    def discard(self) -> None: ...


Build = Callable[[Session, "Authority"], dict[str, Any]]
Emit = Callable[[dict[str, Any]], Delivery]
SHOWN = 3  # consents named in a refusal
# What each command discloses, as a refusal names it.
_OUTPUT = {"report progress": "progress letter", "results export": "results export"}


@dataclass(frozen=True)
class Ask:
    """A disclosure asked for, as the command line gave it."""

    code: str
    recipient: str
    consent: int | None  # --consent N: the consent to disclose under (a class needs it)
    purpose: str | None  # None: the consent's own
    needs: frozenset[str]  # what the output cannot go without (FHIR: results)
    first: date | None  # None: from what the consent covers
    last: date | None  # None: to today
    form: str  # text, html, json, fhir
    command: str  # as core/access.py names it ("report progress")
    preview: bool = False


@dataclass(frozen=True)
class Authority:
    """What the gate allows: the output carries ``shares`` and nothing else."""

    client: Client
    consent: Consent
    recipient: str
    purpose: str
    shares: frozenset[str]
    first: date
    last: date
    notice: dict[str, str]


def program_name(ctx: Context) -> str:
    return ctx.settings.site.program or ctx.settings.site.name


def disclose(ctx: Context, ask: Ask, build: Build, emit: Emit) -> dict[str, Any]:
    """Authorize, build, stamp, record and deliver one disclosure (see the module's text).

    ``emit`` renders the data and writes it where it goes, but not into place (a
    temporary file, or held for the terminal): a failure there, or anywhere before the
    commit, leaves neither an output nor a record; the output is released only once its
    disclosure has committed."""
    recipient = checked(validate.free_text, ask.recipient, "--recipient")
    purpose = (
        checked(validate.choice, ask.purpose, rules.PURPOSES, "--purpose") if ask.purpose else None
    )
    if ask.last is not None and ask.last > ctx.today:
        raise BadInput(f"--to {ask.last} is after today ({ctx.today}); the record ends today")
    delivery: Delivery | None = None
    try:
        if ask.preview:
            with viewing(ctx, ask.command) as (session, shown):
                authority = _authorize(session, ctx, ask, recipient, purpose)
                shown.add(authority.client.uid)
                data = _stamped(ctx, ask, authority, build(session, authority), preview=True)
                delivery = emit(data)
        else:
            with recording(ctx) as (session, writer):
                # Screenings past their deadline are no-shows before the letter counts them.
                sweep_overdue(session, writer, ctx, ctx.now)
                authority = _authorize(session, ctx, ask, recipient, purpose)
                data = _stamped(ctx, ask, authority, build(session, authority), preview=False)
                delivery = emit(data)
                _record(
                    session,
                    writer,
                    ctx,
                    basis="consent",
                    client=authority.client,
                    consent=authority.consent,
                    recipient=authority.recipient,
                    purpose=authority.purpose,
                    what=list(data["carries"]),
                    period=(authority.first, authority.last),
                    form=ask.form,
                    content=hashlib.sha256(delivery.payload).hexdigest(),
                    salted=True,
                )
                record_view(writer, ctx.site, ctx.command or ask.command, [authority.client.uid])
    except BaseException:
        if delivery is not None:
            delivery.discard()
        raise
    assert delivery is not None  # emitted in either branch, or raised
    delivery.release()
    return data


def record_audit(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    recipient: str,
    purpose: str,
    content: str,
    extra: dict[str, Any] | None = None,
) -> Entry:
    """The auditor's export (42 CFR 2.53): recorded as every disclosure is, with no
    consent and no client (a restriction is a client's and does not reach it)."""
    return _record(
        session,
        writer,
        ctx,
        basis="audit",
        client=None,
        consent=None,
        recipient=recipient,
        purpose=purpose,
        what=["ledger export"],
        period=(None, None),
        form="ledger",
        content=content,
        extra=extra,
    )


def _record(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    *,
    basis: str,
    client: Client | None,
    consent: Consent | None,
    recipient: str,
    purpose: str,
    what: list[str],
    period: tuple[date | None, date | None],
    form: str,
    content: str,
    extra: dict[str, Any] | None = None,
    salted: bool = False,
) -> Entry:
    """One `disclosure` entry and its row: the accounting of disclosures reads them.
    ``content`` is the SHA-256 of what was disclosed; ``salted``, the ledger and the row
    hold it as a salted digest (a letter's or a FHIR export's bytes are identified data,
    which a bare hash would let a reader of the ledger confirm a guess of; the program,
    holding the salt, can still tell whether a copy is the one it sent)."""
    salt = new_salt()
    if salted:
        content = private_digest(salt, content) or ""
    first, last = period
    entry = writer.append(
        ctx.site,
        "disclosure",
        {
            "basis": basis,
            "client": client.uid if client else None,
            "consent": consent.uid if consent else None,
            "recipient": private_digest(salt, recipient),
            "purpose": purpose,
            "what": what,
            "from": first.isoformat() if first else None,
            "to": last.isoformat() if last else None,
            "form": form,
            "content": content,
            **(extra or {}),
        },
    )
    session.add(
        Disclosure(
            site=ctx.site,
            seq=entry.seq,
            client_id=client.id if client else None,
            consent_id=consent.id if consent else None,
            basis=basis,
            recipient=recipient,
            salt=salt,
            purpose=purpose,
            what=json.dumps(what),
            period_from=first,
            period_to=last,
            form=form,
            content=content,
        )
    )
    session.flush()
    return entry


def _stamped(
    ctx: Context, ask: Ask, authority: Authority, data: dict[str, Any], preview: bool
) -> dict[str, Any]:
    """The output with its notice and what it is; ``carries`` the builder says, and
    nothing beyond what the consent shares, in a preview too."""
    if "carries" not in data:
        raise ValueError("a disclosure's data says what it carries ('carries')")
    beyond = sorted(set(data["carries"]) - authority.shares)
    if beyond:  # a builder that reaches past the consent: never let it out
        raise NotPermitted(
            f"the {_OUTPUT.get(ask.command, ask.command)} would carry "
            f"{rules.share_words(frozenset(beyond))}, which consent {authority.consent.id} "
            "does not cover; nothing was disclosed"
        )
    consent = authority.consent
    stamped = dict(data)
    stamped["notice"] = authority.notice
    stamped["disclosure"] = {
        "program": program_name(ctx),
        "recipient": authority.recipient,
        "purpose": authority.purpose,
        "consent": consent.id,
        "type": consent.type,
        "basis": "consent",
        "made_on": ctx.today.isoformat(),
        "from": authority.first.isoformat(),
        "to": authority.last.isoformat(),
    }
    if preview:
        stamped["preview"] = True
    return stamped


def _authorize(
    session: Session, ctx: Context, ask: Ask, recipient: str, purpose: str | None
) -> Authority:
    client = find(session, ctx.site, ask.code)
    if ask.consent is not None:
        row, owner = consent_by_number(session, ctx, ask.consent)
        if owner.id != client.id:
            raise BadInput(f"consent {ask.consent} is not client {client.code}'s")
        candidates = [row]
    else:
        candidates = [
            row
            for row in session.exec(
                select(Consent).where(Consent.client_id == client.id).order_by(col(Consent.id))
            )
            if not row.recipient_class and rules.same_recipient(row.recipient, recipient)
        ]
    if not candidates:
        raise NotPermitted(
            f"no consent of client {client.code} names {recipient!r}; nothing was disclosed. "
            f"Record the signed consent first (`screening consent add {client.code} ...`), "
            "or name the consent with --consent N (`screening consent list "
            f"{client.code}`)"
        )
    restricted = restriction_in_force(session, client)
    refusals: list[str] = []
    for row in reversed(candidates):  # the latest consent first
        terms = terms_of(row)
        first = ask.first or max(terms.covers_from, client.admitted_on)
        last = ask.last or ctx.today
        want = rules.Want(recipient, purpose, ask.needs, first, last, ctx.today)
        revoked_on = _revoked_on(session, ctx, row)
        ended = ended_with_treatment(session, client, row) if row.at_discharge else None
        found = rules.gaps(terms, want, revoked_on=revoked_on, ended_on=ended)
        if restricted is not None and row.type != rules.COURT_ORDER:
            found.insert(
                0,
                "cannot be used: the client has asked that nothing be disclosed but what "
                "the law requires (42 CFR 2.26; `screening consent lift "
                f"{client.code}` when they withdraw it)",
            )
        if not found:
            notice = {
                "statement": rules.STATEMENT_1,
                "short": rules.STATEMENT_2,
                "scope": rules.scope(terms, program_name(ctx), client.name or client.code),
            }
            return Authority(
                client=client,
                consent=row,
                # As the consent spells it; a member of a class as typed.
                recipient=recipient if row.recipient_class else row.recipient,
                purpose=purpose or row.purpose,
                shares=terms.shares,
                first=first,
                last=last,
                notice=notice,
            )
        refusals.append(f"consent {row.id} ({rules.words(row.type)}) {'; '.join(found)}")
    more = len(refusals) - SHOWN
    said = "; ".join(refusals[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
    hint = (
        " A use in a proceeding against the client needs a proceedings consent or a court "
        "order (42 CFR 2.31(d), 2.64)."
        if purpose == rules.LEGAL_PROCEEDING
        else ""
    )
    raise NotPermitted(
        f"no consent in force covers this {_OUTPUT.get(ask.command, ask.command)} to "
        f"{recipient!r} for client {client.code}: {said}. Nothing was disclosed.{hint}"
    )


def _revoked_on(session: Session, ctx: Context, row: Consent) -> date | None:
    if row.revoked_seq is None:
        return None
    at = session.get(LedgerRow, row.revoked_seq)
    assert at is not None  # a foreign key
    return at.at.astimezone(ctx.settings.zone).date()
