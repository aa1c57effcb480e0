"""`audit access`: who looked at a client's chart, and when; what one person opened.

Read from the ledger alone: the `viewed` entries every read of identified data leaves
(services/access/viewing.py), the draws (whoever drew a day saw its list: the draw entry
is that record) and, for one client, the entries about them (who changed the chart).

A `viewed` entry names many clients, so the ledger's indexed uid column is empty for it.
Rather than a table of its own (one more thing to keep in step with the ledger, and for
`audit verify` to check), the query narrows by the (site, kind) index and lets the
database match the uid, or the user's digest, as text in the entry before any entry is
parsed; each match is then read to confirm it (a uid in the text could sit in another
field). The cost grows with the site's reads, scanned in the database, once per audit.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.db.models import Client, LedgerRow, StaffName, table_of
from screening.errors import BadInput
from screening.services.access.viewing import sees_codes
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import as_utc
from screening.services.records.clients import uid_and_code

_LEDGER = table_of(LedgerRow)
DRAWS = ("draw", "draw_amend")
ACTOR_FIELDS = ("os_digest", "as_digest", "login_digest")
# Entries written before staff names were digested name them in clear text.
CLEAR_FIELDS = ("os", "as")


def _day(text: str | None, what: str) -> date | None:
    try:
        return validate.parse_date(text, what) if text else None
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


def access_log(
    ctx: Context,
    client: str | None = None,
    user: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[dict[str, Any]]:
    """The entries, oldest first: with ``client`` (a uid or code), every read of that
    client's chart, every draw that listed them and every entry about them; with
    ``user`` (a login or --actor name), every read and draw that person made. Clients are
    named by uid ("clients"), and for a user who may see codes by code too ("codes", in
    the same order); staff by name, or for an auditor (who may not read staff names) by
    a pseudonym, the person asked about by ``user`` aside."""
    if (client is None) == (user is None):
        raise BadInput("give --client CODE_OR_UID or --user NAME (one of them)")
    first, last = _day(start, "--from"), _day(end, "--to")
    if first is not None and last is not None and first > last:
        raise BadInput(f"--from {first} is after --to {last}")
    zone = ctx.settings.zone
    window = sa.and_(
        _LEDGER.c.site == ctx.site,
        _LEDGER.c.at >= _instant(first, zone) if first else sa.true(),
        _LEDGER.c.at < _instant(last + timedelta(days=1), zone) if last else sa.true(),
    )
    named = sees_codes(ctx)
    with ctx.database.read() as session:
        if client is not None:
            uid, _ = uid_and_code(session, ctx.site, client, codes=named)
            entries = _about(session, window, uid)
            names = _staff(session, ctx.site) if named else {}
        else:
            assert user is not None
            salt = _salt(session, ctx.site)
            entries = _by(session, window, salt, user.strip())
            # The person asked about is named as asked, whoever reads this.
            names = _staff(session, ctx.site) if named else {}
            names[private_digest(salt, user.strip()) or ""] = user.strip()
        codes = _codes(session, ctx.site) if named else None
    return [_row(seq, at, document, names, codes, zone) for seq, at, document in entries]


def _instant(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _about(session: Session, window: Any, uid: str) -> list[tuple[int, Any, dict[str, Any]]]:
    """Two queries, each on its index, merged by entry: those about the client (the uid
    column), and the reads and draws whose text names them."""
    columns = (_LEDGER.c.seq, _LEDGER.c.at, _LEDGER.c.canonical)
    about = session.execute(sa.select(*columns).where(window, _LEDGER.c.uid == uid)).all()
    naming = session.execute(
        sa.select(*columns).where(
            window,
            _LEDGER.c.kind.in_(("viewed", *DRAWS)),
            _LEDGER.c.canonical.contains(json.dumps(uid), autoescape=True),
        )
    ).all()
    found = [(seq, at, json.loads(canonical)) for seq, at, canonical in about]
    for seq, at, canonical in naming:
        document = json.loads(canonical)
        if uid in _clients(document):  # not only in a draw's pool
            found.append((seq, at, document))
    return sorted(found, key=lambda entry: entry[0])


def _by(
    session: Session, window: Any, salt: str, user: str
) -> list[tuple[int, Any, dict[str, Any]]]:
    """Entries whose actor is ``user``: by the digest of the name (the OS login, the
    database login or --actor), or by the name itself in entries older than digests."""
    digest = private_digest(salt, user)
    found = []
    for seq, at, canonical in session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.at, _LEDGER.c.canonical)
        .where(
            window,
            _LEDGER.c.kind.in_(("viewed", *DRAWS)),
            sa.or_(
                _LEDGER.c.canonical.contains(json.dumps(digest), autoescape=True),
                _LEDGER.c.canonical.contains(json.dumps(user), autoescape=True),
            ),
        )
        .order_by(_LEDGER.c.seq)
    ):
        document = json.loads(canonical)
        actor = document["actor"]
        if digest in (actor.get(field) for field in ACTOR_FIELDS) or user in (
            actor.get(field) for field in CLEAR_FIELDS
        ):
            found.append((seq, at, document))
    return found


def _clients(document: dict[str, Any]) -> list[str]:
    """The clients a read or a draw showed its actor: a read's, or a draw's selected."""
    body = document["body"]
    if document["kind"] == "viewed":
        return list(body["clients"])
    return sorted(item["uid"] for item in body["selected"])


def _salt(session: Session, site: str) -> str:
    from screening.db.models import Site

    salt = session.execute(sa.select(col(Site.salt)).where(col(Site.name) == site)).scalar()
    if salt is None:
        raise BadInput(f"site {site!r} is not recorded in this database")
    return salt


def _staff(session: Session, site: str) -> dict[str, str]:
    return {
        row.digest: row.name
        for row in session.exec(select(StaffName).where(StaffName.site == site))
    }


def _codes(session: Session, site: str) -> dict[str, str]:
    return dict(
        session.execute(
            sa.select(col(Client.uid), col(Client.code)).where(col(Client.site) == site)
        ).all()
    )


def _row(
    seq: int,
    at: Any,
    document: dict[str, Any],
    names: dict[str, str],
    codes: dict[str, str] | None,
    zone: Any,
) -> dict[str, Any]:
    actor, kind, body = document["actor"], document["kind"], document["body"]

    def name(field: str) -> str | None:
        # An auditor, who may not read staff names (on PostgreSQL the column is not
        # theirs), sees a pseudonym, as `audit fairness` shows approvers.
        digest = actor.get(field)
        return None if digest is None else names.get(digest, f"user {digest[:8]}")

    if kind == "viewed":
        action, command, uids = "viewed", body["command"], _clients(document)
    elif kind in DRAWS:
        action, command = "drew", "select --amend" if kind == "draw_amend" else "select"
        uids = _clients(document)
    else:
        what = body.get("action")
        action, command = "changed", kind + (f" ({what})" if isinstance(what, str) else "")
        uids = [document_uid] if (document_uid := _subject(document)) else []
    return {
        "entry": seq,
        "at": as_utc(at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
        "user": name("login_digest") or name("os_digest") or actor.get("os"),
        "as": name("as_digest") or actor.get("as"),
        "action": action,
        "command": command,
        "clients": uids,
        **({"codes": [codes.get(uid, uid) for uid in uids]} if codes is not None else {}),
    }


def _subject(document: dict[str, Any]) -> str | None:
    from screening.core.ledger import subject

    try:
        return subject(document["kind"], document["body"])
    except (KeyError, TypeError):
        return None
