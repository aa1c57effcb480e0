"""The client rows every job looks up: by code, in the ledger's form, with their holds
and medications checked against the vocabulary. Enrolment and changes are clients/."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core import validate
from screening.core.canonical import private_digest
from screening.db.models import Client, Hold
from screening.errors import BadInput


def client_state(row: Client) -> dict[str, Any]:
    """What the ledger records of a client: by uid, names and codes only as digests."""
    return {
        "uid": row.uid,
        "code": private_digest(row.salt, row.code),
        "name": private_digest(row.salt, row.name),
        "track": row.track,
        "phase": row.phase,
        "status": row.status,
        "admitted_on": row.admitted_on.isoformat(),
        "discharged_on": row.discharged_on.isoformat() if row.discharged_on else None,
        "discharge_reason": private_digest(row.salt, row.discharge_reason),
        "medications": private_digest(row.salt, row.medications),
    }


def hold_state(hold: Hold, client: Client) -> dict[str, Any]:
    return {
        "uid": client.uid,
        "from": hold.starts_on.isoformat(),
        "to": hold.ends_on.isoformat(),
        "reason": private_digest(hold.salt, hold.reason),
    }


def medication_list(row: Client) -> list[str]:
    return list(json.loads(row.medications))


def medication_problems(vocabulary: Any, rows: list[Client]) -> list[dict[str, Any]]:
    """Stored medication names the vocabulary does not know (entered before it existed):
    each with the client and the command that fixes it. Stored rows are never rewritten
    (verify compares them with the ledger); synonyms are mapped whenever they are read."""
    found = []
    for row in rows:
        stored = medication_list(row)
        known, unknown = vocabulary.canonical_list(stored)
        for name in unknown:
            guess = vocabulary.resolve_medication(name)
            found.append(
                {
                    "code": row.code,
                    "medication": name,
                    "problem": f"client {row.code}: medication {name!r} is not in the "
                    f"vocabulary{guess.did_you_mean() if not isinstance(guess, str) else ''}; "
                    f"fix it with `screening clients update {row.code} --meds "
                    f"{','.join(known) or 'NAME'}` (the full list)",
                }
            )
    return found


def unknown_medications(session: Session, vocabulary: Any, site: str) -> list[dict[str, Any]]:
    """Every client of the site whose stored medications the vocabulary does not know."""
    rows = session.exec(select(Client).where(Client.site == site).order_by(Client.code)).all()
    return medication_problems(vocabulary, list(rows))


def summary(row: Client, vocabulary: Any = None) -> dict[str, Any]:
    """A client as shown; with the vocabulary, medications by their generic names (names
    it does not know as stored)."""
    stored = medication_list(row)
    if vocabulary is not None:
        known, unknown = vocabulary.canonical_list(stored)
        stored = sorted(set(known) | set(unknown))
    return {
        "code": row.code,
        "name": row.name,
        "track": row.track,
        "phase": row.phase,
        "status": row.status,
        "admitted_on": row.admitted_on.isoformat(),
        "discharged_on": row.discharged_on.isoformat() if row.discharged_on else None,
        "medications": stored,
    }


def checked(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, a validation's refusal given as bad input (exit 2)."""
    try:
        return call(*args)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


def uid_and_code(
    session: Session, site: str, text: str, codes: bool = True
) -> tuple[str, str | None]:
    """The uid and code of the client ``text`` names: by uid (as the ledger and the
    auditor's outputs name them), or else by code (``find``). Without ``codes`` (an
    auditor, who names clients by uid only and on PostgreSQL may not read a code), by
    uid alone, reading no code."""
    typed = text.strip()
    if not codes:
        uid = session.execute(
            sa.select(col(Client.uid)).where(col(Client.site) == site, col(Client.uid) == typed)
        ).scalar()
        if uid is None:
            raise BadInput(
                f"no client with uid {typed!r} at site {site!r}; an auditor names clients by "
                "uid, as `screening audit fairness --json` lists them"
            )
        return uid, None
    found = session.execute(
        sa.select(col(Client.uid), col(Client.code)).where(
            col(Client.site) == site, col(Client.uid) == typed
        )
    ).first()
    if found is not None:
        return found[0], found[1]
    row = find(session, site, text)
    return row.uid, row.code


def find(session: Session, site: str, code: str) -> Client:
    """The client whose code is ``code``: exactly, or else case and surrounding spaces
    aside when that names one client only (codes are unique as typed, so C-113 and
    c-113 may both exist: then the exact one must be typed). A code matching none is
    refused with the site's closest codes (codes only, never names)."""
    row = session.exec(select(Client).where(Client.site == site, Client.code == code)).first()
    if row is not None:
        return row
    typed = code.strip()
    codes = list(session.exec(select(Client.code).where(Client.site == site)).all())
    same = sorted(known for known in codes if known.casefold() == typed.casefold())
    if len(same) > 1:
        raise BadInput(
            f"client code {typed!r} matches {' and '.join(same)}, which differ only by "
            "case; type the code exactly"
        )
    if same:
        return session.exec(select(Client).where(Client.site == site, Client.code == same[0])).one()
    hint = validate.did_you_mean(typed, codes) or "; see `screening clients list`"
    raise BadInput(f"no client with code {typed!r} at site {site!r}{hint}")


def require_active(row: Client) -> None:
    if row.status != "active":
        raise BadInput(
            f"client {row.code} was discharged on {row.discharged_on}; "
            "their record can be read but no longer changed"
        )
