"""`audit disclosures`: the accounting of disclosures (42 CFR 2.25 as amended in 2024;
HIPAA §164.528): every disclosure the program made, oldest first, from the ledger.

Each `disclosure` entry is one disclosure made: those the gate recorded (services/
disclosure/gate.py) have a `disclosures` row with the recipient and the consent, and
exports recorded before the gate (``{"to", "purpose", "what": "ledger export"}``) have
none, and are read from the entry alone. A preview records no disclosure and is never
listed. An auditor sees clients by uid, no staff names, and the recipient of an audit's
export only: who received a client's records under their consent is the client's
business, not the auditor's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core import validate
from screening.db.models import Client, Consent, Disclosure, LedgerRow, StaffName, table_of
from screening.errors import BadInput, NotPermitted
from screening.services.access.viewing import sees_codes, viewing
from screening.services.disclosure.gate import program_name
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import as_utc
from screening.services.records.clients import uid_and_code

_LEDGER = table_of(LedgerRow)
YEARS = 3  # 42 CFR 2.25: three years back (HIPAA §164.528 allows six: give --since)
HIDDEN = "(hidden from auditors)"
LEDGER_EXPORT = "ledger export"  # what an export disclosed (services/disclosure/gate.py)
# Who wrote an entry, most particular first: the person at the workstation, the
# database login, the computer login (digests; entries older than digests name them).
ACTOR_FIELDS = ("as_digest", "login_digest", "os_digest")
CLEAR_FIELDS = ("as", "os")


def since_default(today: date) -> date:
    """Three years before ``today`` (a 29 February goes back to the 28th)."""
    try:
        return today.replace(year=today.year - YEARS)
    except ValueError:
        return today.replace(year=today.year - YEARS, day=28)


def disclosures_made(
    ctx: Context, client: str | None = None, since: str | None = None, *, letter: bool = False
) -> dict[str, Any]:
    """The disclosures made since ``since`` (default: three years ago), oldest first, of
    one client (a code, or a uid) or of all. A read that names clients by code (or the
    client by name) is recorded in the access log. ``letter``: the client's own page,
    which names one client, and which an auditor (who never sees codes or names) does
    not make."""
    if letter and client is None:
        raise BadInput("--format html is the page a client is given: add --client CODE")
    if letter and not sees_codes(ctx):
        raise NotPermitted(
            "an auditor sees clients by uid only: the client's page (--format html) is "
            "made by an admin or a clinician; use --format text, csv or json"
        )
    try:
        first = validate.parse_date(since, "--since") if since else since_default(ctx.today)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if first > ctx.today:
        raise BadInput(f"--since {first} is after today ({ctx.today})")
    named = sees_codes(ctx)
    with _opened(ctx, named) as (session, shown):
        subject = _subject(session, ctx, client, named) if client is not None else None
        entries = _entries(session, ctx.site, _instant(first, ctx.settings.zone))
        rows = _rows(session, [seq for seq, _, _ in entries])
        clients = _clients(session, ctx.site, named)
        names = _staff(session, ctx.site) if named else {}
        consents = _consents(session, [consent for _, consent in rows.values()])
        found = []
        for seq, at, document in entries:
            item = _disclosure(seq, at, document, rows.get(seq), consents, ctx.settings.zone)
            if subject is not None and not _about(session, item, subject["uid"]):
                continue
            _shown_as(item, document, clients, names, named)
            found.append(item)
        if named:
            shown.update(item["client_uid"] for item in found if item["client_uid"])
            if subject is not None:
                shown.add(subject["uid"])
    return {
        "program": program_name(ctx),
        "since": first.isoformat(),
        "today": ctx.today.isoformat(),
        "client": subject,
        "disclosures": found,
    }


@contextmanager
def _opened(ctx: Context, named: bool) -> Iterator[tuple[Session, set[str]]]:
    """A read recorded in the access log for a user who sees codes; an auditor's, who
    sees uids only (and on PostgreSQL may write no `viewed` entry), is a plain read."""
    if named:
        with viewing(ctx, "audit disclosures") as opened:
            yield opened
        return
    with ctx.database.read() as session:
        yield session, set()


def _subject(session: Session, ctx: Context, text: str, named: bool) -> dict[str, Any]:
    uid, code = uid_and_code(session, ctx.site, text, codes=named)
    # An auditor reads no name (on PostgreSQL the column is not theirs).
    name = (
        session.execute(sa.select(col(Client.name)).where(col(Client.uid) == uid)).scalar()
        if named
        else None
    )
    return {"uid": uid, "code": code, "name": name}


def _instant(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _entries(session: Session, site: str, start: datetime) -> list[tuple[int, Any, dict[str, Any]]]:
    return [
        (seq, at, json.loads(canonical))
        for seq, at, canonical in session.execute(
            sa.select(_LEDGER.c.seq, _LEDGER.c.at, _LEDGER.c.canonical)
            .where(_LEDGER.c.site == site, _LEDGER.c.kind == "disclosure", _LEDGER.c.at >= start)
            .order_by(_LEDGER.c.seq)
        )
    ]


def _rows(session: Session, seqs: list[int]) -> dict[int, tuple[str | None, int | None]]:
    """Each gate-recorded disclosure's recipient and consent number, by its entry. On
    PostgreSQL a login that may not read the recipient (an auditor, under `db roles`)
    reads None in its place."""
    if not seqs:
        return {}
    recipient: Any = col(Disclosure.recipient)
    if not _may_read(session, "disclosures", "recipient"):
        recipient = sa.null()
    found = session.execute(
        sa.select(col(Disclosure.seq), recipient, col(Disclosure.consent_id)).where(
            col(Disclosure.seq).in_(seqs)
        )
    ).all()
    return {seq: (recipient, consent) for seq, recipient, consent in found}


def _may_read(session: Session, table: str, column: str) -> bool:
    """Whether this login may read the column (on PostgreSQL under `db roles`, an
    auditor reads no free text: services/site/db_roles.py)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.execute(
            sa.text("SELECT has_column_privilege(:table, :column, 'SELECT')"),
            {"table": table, "column": column},
        ).scalar()
    )


def _consents(session: Session, ids: list[int | None]) -> dict[int, str]:
    """Each consent's type, by its number."""
    wanted = sorted({number for number in ids if number is not None})
    if not wanted:
        return {}
    return {
        number: kind
        for number, kind in session.execute(
            sa.select(col(Consent.id), col(Consent.type)).where(col(Consent.id).in_(wanted))
        ).all()
    }


def _clients(session: Session, site: str, named: bool) -> dict[str, str]:
    if not named:
        return {}
    return dict(
        session.execute(
            sa.select(col(Client.uid), col(Client.code)).where(col(Client.site) == site)
        ).all()
    )


def _staff(session: Session, site: str) -> dict[str, str]:
    return dict(
        session.execute(
            sa.select(col(StaffName.digest), col(StaffName.name)).where(col(StaffName.site) == site)
        ).all()
    )


def _disclosure(
    seq: int,
    at: Any,
    document: dict[str, Any],
    row: tuple[str | None, int | None] | None,
    consents: dict[int, str],
    zone: Any,
) -> dict[str, Any]:
    """One disclosure in stored values: the entry's (the ledger is the record), with the
    recipient and the consent's number from its row."""
    body = document["body"]
    when = as_utc(at).astimezone(zone)
    if "to" in body and "basis" not in body:  # an export recorded before the gate
        return {
            "entry": seq,
            "at": when.strftime("%Y-%m-%d %H:%M %Z"),
            "client_uid": None,
            "recipient": body["to"],
            "purpose": body["purpose"],
            "what": [LEDGER_EXPORT],
            "from": None,
            "to": None,
            "form": "ledger",
            "exported_to": seq,  # the export held its own entry
            "basis": "audit",
            "consent": None,
            "consent_type": None,
        }
    recipient, consent = row if row is not None else (None, None)
    return {
        "entry": seq,
        "at": when.strftime("%Y-%m-%d %H:%M %Z"),
        "client_uid": body.get("client"),
        "recipient": recipient,
        "purpose": body["purpose"],
        "what": list(body["what"]) if isinstance(body["what"], list) else [body["what"]],
        "from": body.get("from"),
        "to": body.get("to"),
        "form": body["form"],
        # The gate's entry follows the exported ledger (services/audit/export_folder.py).
        "exported_to": seq - 1 if body["form"] == "ledger" else None,
        "basis": body["basis"],
        "consent": consent,
        "consent_type": consents.get(consent) if consent is not None else None,
    }


def _about(session: Session, item: dict[str, Any], uid: str) -> bool:
    """Whether the disclosure carried the client's records: one about them, or an
    export of a ledger that held entries about them (by uid: listed, as HIPAA lists an
    oversight disclosure, though the ledger names no one)."""
    if item["client_uid"] is not None:
        return bool(item["client_uid"] == uid)
    if item["basis"] != "audit":
        return False
    earlier = session.execute(
        sa.select(_LEDGER.c.seq).where(_LEDGER.c.uid == uid, _LEDGER.c.seq < item["entry"]).limit(1)
    ).first()
    return earlier is not None


def _shown_as(
    item: dict[str, Any],
    document: dict[str, Any],
    clients: dict[str, str],
    names: dict[str, str],
    named: bool,
) -> None:
    """What this user may see: the client by code (an auditor, by uid), the recipient
    (an auditor, of an audit's export only) and who made it (never to an auditor)."""
    uid = item["client_uid"]
    item["client"] = (clients.get(uid, uid) if named else uid) if uid else None
    if not named and (item["basis"] != "audit" or item["recipient"] is None):
        item["recipient"] = HIDDEN
    item["made_by"] = _maker(document.get("actor"), names) if named else None


def _maker(actor: Any, names: dict[str, str]) -> str | None:
    if not isinstance(actor, dict):
        return None
    for field in ACTOR_FIELDS:
        digest = actor.get(field)
        if isinstance(digest, str):
            return names.get(digest, f"user {digest[:8]}")
    for field in CLEAR_FIELDS:
        if isinstance(actor.get(field), str):
            return str(actor[field])
    return None
