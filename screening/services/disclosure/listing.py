"""`consent list` and `consent show`: a client's (or the clinic's) consents, and one
consent with its history. Both show clients' codes with whom their records may go to:
identified reads, each recorded in the access log (services/access/viewing.py)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.access import WORKING
from screening.db.models import Client, Consent, LedgerRow, StaffName, table_of
from screening.services.access.viewing import viewing
from screening.services.disclosure.consents import consent_by_number, consent_view, status_of
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import as_utc
from screening.services.records.clients import find

_LEDGER = table_of(LedgerRow)
IN_FORCE = "in force"
# Who did it: the person at the workstation (--actor), else the login, else the OS user.
_ACTOR_FIELDS = ("as_digest", "login_digest", "os_digest")


def list_consents(
    ctx: Context, code: str | None = None, every: bool = False
) -> list[dict[str, Any]]:
    """The site's consents (or one client's), by number: those in force, or with
    ``every`` all of them (revoked, expired, ended at discharge)."""
    with viewing(ctx, "consent list") as (session, shown):
        query = (
            sa.select(Consent, Client)
            .join(Client, col(Client.id) == Consent.client_id)
            .where(col(Consent.site) == ctx.site)
        )
        if code is not None:
            query = query.where(col(Consent.client_id) == find(session, ctx.site, code).id)
        listed = []
        for row, client in session.execute(query.order_by(col(Consent.id))).all():
            status = status_of(session, row, client, ctx.today)
            if every or status == IN_FORCE:
                listed.append(consent_view(row, client.code, status))
                shown.add(client.uid)
        return listed


def show_consent(ctx: Context, number: int) -> dict[str, Any]:
    """One consent as `consent_view` gives it, with its history: when it was taken and
    revoked, and by whom (staff names, to the working roles only)."""
    with viewing(ctx, "consent show") as (session, shown):
        row, client = consent_by_number(session, ctx, number)
        shown.add(client.uid)
        status = status_of(session, row, client, ctx.today)
        return {**consent_view(row, client.code, status), "history": _history(ctx, session, row)}


def _history(ctx: Context, session: Session, row: Consent) -> list[dict[str, Any]]:
    """The consent's entries, oldest first: taken (by whom), revoked (by whom, why)."""
    names: dict[str, str] = {}
    if ctx.roles & set(WORKING):
        names = dict(
            session.execute(
                sa.select(col(StaffName.digest), col(StaffName.name)).where(
                    col(StaffName.site) == row.site
                )
            ).all()
        )
    seqs = [seq for seq in (row.added_seq, row.revoked_seq) if seq is not None]
    entries = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.at, _LEDGER.c.canonical)
        .where(_LEDGER.c.seq.in_(seqs))
        .order_by(_LEDGER.c.seq)
    ).all()
    zone = ctx.settings.zone
    history = []
    for seq, at, canonical in entries:
        actor = json.loads(canonical).get("actor") or {}
        digest = next((actor[name] for name in _ACTOR_FIELDS if actor.get(name)), None)
        event: dict[str, Any] = {
            "entry": seq,
            "at": as_utc(at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
            "event": "taken" if seq == row.added_seq else "revoked",
            "by": names.get(digest) if digest else None,
        }
        if seq == row.revoked_seq:
            event.update(reason=row.revoke_reason, note=row.revoke_note)
        history.append(event)
    return history
