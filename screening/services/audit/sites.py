"""Sites, their time zones and the staff names the ledger's entries name, against the
replayed ledger: every stored name matches its salted digest, and every staff member an
entry names has a name stored. The rows are written by records/sites.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.replay import Broken, Replay
from screening.db.models import Site, SiteZone, StaffName
from screening.services.audit.merge import match_rows, stream


def check_sites(session: Session, replay: Replay, staff: dict[tuple[str, str], int]) -> None:
    """Sites, their time zones and staff names against the ledger."""
    match_rows(
        "site",
        sorted((seq, (name, {})) for name, seq in replay.sites.items()),
        (
            (row.created_seq, row.name, {})
            for (row,) in stream(session, sa.select(Site).order_by(col(Site.created_seq)))
        ),
    )
    salts: dict[str, str] = dict(session.execute(sa.select(col(Site.name), col(Site.salt))).all())
    zones = sa.select(SiteZone).order_by(col(SiteZone.ledger_seq))
    match_rows(
        "site time zone",
        replay.zones.ordered(),
        (
            (
                z.ledger_seq,
                z.site,
                {
                    "timezone": z.timezone,
                    "starts_at": z.starts_at,
                    "reason": private_digest(salts.get(z.site, ""), z.reason),
                },
            )
            for (z,) in stream(session, zones)
        ),
    )
    stored: set[tuple[str, str]] = set()
    for (row,) in stream(session, sa.select(StaffName).order_by(col(StaffName.id))):
        salt = salts.get(row.site)
        if salt is None or private_digest(salt, row.name) != row.digest:
            raise Broken(
                None,
                f"a staff name (row {row.id}, site {row.site!r}) does not match its digest: "
                "it was changed outside screening",
            )
        stored.add((row.site, row.digest))
    for (site, digest), seq in sorted(staff.items(), key=lambda item: item[1]):
        if (site, digest) not in stored:
            raise Broken(seq, f"entry {seq}: the staff member it names has no name in the database")
