"""Sites, their time zones and the staff names the ledger's entries name, against the
replayed ledger: every stored name matches its salted digest, and every staff member an
entry names has a name stored. The rows are written by records/sites.py.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.replay import Broken, Replay
from screening.db.models import Site, SiteZone, StaffName
from screening.services.audit.merge import match_rows, stream
from screening.services.audit.one_site import of_site
from screening.services.audit.unread import Unread


def check_sites(
    session: Session,
    replay: Replay,
    staff: dict[tuple[str, str], int],
    unread: Unread,
    site: str | None = None,
) -> None:
    """Sites, their time zones and staff names against the ledger (a login that may not
    read the names checks only that every staff member named has one). ``site``: that
    site's rows only (audit/one_site.py)."""
    match_rows(
        "site",
        sorted((seq, (name, {})) for name, seq in replay.sites.items()),
        (
            (row.created_seq, row.name, {})
            for (row,) in stream(
                session,
                of_site(sa.select(Site), col(Site.name), site).order_by(col(Site.created_seq)),
            )
        ),
    )
    salts: dict[str, str] = dict(session.execute(sa.select(col(Site.name), col(Site.salt))).all())
    zones = of_site(
        sa.select(SiteZone).options(*unread.deferred(SiteZone)), col(SiteZone.site), site
    )
    zones = zones.order_by(col(SiteZone.ledger_seq))
    match_rows(
        "site time zone",
        replay.zones.ordered(),
        (
            (z.ledger_seq, z.site, unread.compare(partial(_zone_state, z, salts), z))
            for (z,) in stream(session, zones)
        ),
    )
    stored: set[tuple[str, str]] = set()
    names = of_site(
        sa.select(StaffName).options(*unread.deferred(StaffName)), col(StaffName.site), site
    )
    for (row,) in stream(session, names.order_by(col(StaffName.id))):
        salt = salts.get(row.site)
        if salt is None or (
            not unread.hides("staff_names", "name") and private_digest(salt, row.name) != row.digest
        ):
            raise Broken(
                None,
                f"a staff name (row {row.id}, site {row.site!r}) does not match its digest: "
                "it was changed outside screening",
            )
        stored.add((row.site, row.digest))
    for (site, digest), seq in sorted(staff.items(), key=lambda item: item[1]):
        if (site, digest) not in stored:
            raise Broken(seq, f"entry {seq}: the staff member it names has no name in the database")


def _zone_state(zone: SiteZone, salts: dict[str, str]) -> dict[str, Any]:
    return {
        "timezone": zone.timezone,
        "starts_at": zone.starts_at,
        "reason": private_digest(salts.get(zone.site, ""), zone.reason),
    }
