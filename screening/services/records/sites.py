"""The sites a database holds: name, time zones and the salt of staff names' digests.

A site's name and time zone are recorded from `init` (a ``site`` ledger entry and a
row). A config that names another site is refused: a changed name never starts a new,
empty site by accident (`init --site NEW` starts one on purpose). A config with another
time zone is refused too: `screening site timezone ZONE --reason ...` changes it, taking
effect when the next local day begins, so that no day's list can be drawn early.

A database made before sites were recorded adopts its site from the ledger (the time
zone of its latest policy entry) the first time a command uses it, and says so once.

The commands that change a site are site/ (`init`, `site timezone`); audit/sites.py
checks these rows against the ledger.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening import __version__
from screening.config import Settings, SiteSettings
from screening.core.selection import ALGORITHM
from screening.db.locks import hold_append_lock
from screening.db.memo import memo
from screening.db.models import LedgerRow, Site, SiteZone, table_of
from screening.errors import EnvironmentProblem
from screening.services.plumbing.ledger import latest_body, new_salt
from screening.services.witness.evidence import refuse_a_new_ledger

log = logging.getLogger("screening")
_LEDGER = table_of(LedgerRow)


@dataclass(frozen=True)
class SiteRecord:
    name: str
    salt: str
    # (starts_at or None for "from the start", zone), in ledger order.
    zones: tuple[tuple[datetime | None, str], ...]

    @property
    def timezone(self) -> str:
        """The zone last set: what the config must say."""
        return self.zones[-1][1]

    def zone_at(self, instant: datetime) -> str:
        """The zone in force at ``instant``."""
        current = self.zones[0][1]
        for starts, zone in self.zones:
            if starts is None or starts <= instant:
                current = zone
        return current

    def pending(self, instant: datetime) -> tuple[datetime, str] | None:
        """A change of zone that has not taken effect yet at ``instant``."""
        starts, zone = self.zones[-1]
        return (starts, zone) if starts is not None and starts > instant else None


def load(session: Session, name: str) -> SiteRecord | None:
    """The site's record; read once per transaction (``memo``: every write loads it
    first), and forgotten when this transaction records a site or a change of zone."""
    known = memo(session).setdefault("sites", {})
    if name not in known:
        record = _read(session, name)
        if record is None:
            return None
        known[name] = record
    return known[name]


def forget(session: Session, name: str) -> None:
    memo(session).get("sites", {}).pop(name, None)


def _read(session: Session, name: str) -> SiteRecord | None:
    with session.no_autoflush:
        salt = session.execute(sa.select(col(Site.salt)).where(col(Site.name) == name)).scalar()
        if salt is None:
            return None
        zones = session.execute(
            sa.select(col(SiteZone.starts_at), col(SiteZone.timezone))
            .where(col(SiteZone.site) == name)
            .order_by(col(SiteZone.ledger_seq))
        ).all()
    if not zones:
        raise EnvironmentProblem(
            f"site {name!r} has no time zone in the database (a row was removed outside "
            "screening); run `screening audit verify`"
        )
    return SiteRecord(name, salt, tuple((starts, zone) for starts, zone in zones))


def known_sites(session: Session) -> list[str]:
    """Every site the database holds: recorded ones and those only in the ledger."""
    rows = set(session.execute(sa.select(col(Site.name))).scalars())
    rows |= set(session.execute(sa.select(_LEDGER.c.site).distinct()).scalars())
    return sorted(rows)


def _has_entries(session: Session, name: str) -> bool:
    return (
        session.execute(sa.select(_LEDGER.c.seq).where(_LEDGER.c.site == name).limit(1)).first()
        is not None
    )


def _ledger_empty(session: Session) -> bool:
    return session.execute(sa.select(_LEDGER.c.seq).limit(1)).first() is None


def _latest_policy_zone(session: Session, name: str) -> str | None:
    body = latest_body(session, name, "policy")
    return body.get("timezone") if body else None


def record_site(session: Session, writer: Any, name: str, timezone: str, action: str) -> Site:
    """The ``site`` entry that creates (init) or adopts (an older database) a site, and
    its rows."""
    salt = writer.salts.setdefault(name, new_salt())
    entry = writer.append(name, "site", {"action": action, "timezone": timezone})
    site = Site(name=name, salt=salt, created_seq=entry.seq)
    session.add(site)
    session.add(SiteZone(site=name, timezone=timezone, starts_at=None, ledger_seq=entry.seq))
    forget(session, name)
    return site


def before_writing(session: Session, writer: Any, settings: Settings, now: datetime) -> str | None:
    """What every write checks first (services/upkeep.writing): the site is recorded
    (adopted from an older ledger if need be), and the settings' time zone is the one in
    force now, so that no policy, draw or reveal is written by another clock. Returns a
    notice for the user, or None."""
    notice = adopt_if_needed(session, writer, settings)
    if notice is not None:
        session.flush()  # nothing else waits yet: the adopted rows, read back below
    record = load(session, settings.site.name)
    if record is not None and record.zone_at(now) != settings.site.timezone:
        raise EnvironmentProblem(
            f"site {record.name!r} keeps time zone {record.zone_at(now)} now, but this "
            f"command was given {settings.site.timezone}; nothing was written. Run it again "
            "(the zone in force is read from the database)"
        )
    return notice


def adopt_if_needed(session: Session, writer: Any, settings: Settings) -> str | None:
    """Within a writing transaction: record an older database's site (or the first site
    of an empty ledger). Returns the notice for the user ("" when there is nothing to
    say), or None when the site was recorded already."""
    name = settings.site.name
    if load(session, name) is not None:
        return None
    # Whether the ledger is empty is the network's to say, not this site's: under the
    # append lock, two sites' first writes never both make a genesis entry.
    hold_append_lock(session)
    if _ledger_empty(session):
        # A first entry, unless the witnesses keep a ledger this database lost.
        refuse_a_new_ledger(settings, session.get_bind().engine.url, "holds no ledger entry")
        writer.salts[name] = new_salt()
        writer.append(name, "genesis", genesis_body())
        record_site(session, writer, name, settings.site.timezone, "create")
        return ""
    if not _has_entries(session, name):
        raise unknown_site(session, settings)
    recorded = session.execute(
        sa.select(_LEDGER.c.seq).where(_LEDGER.c.site == name, _LEDGER.c.kind == "site").limit(1)
    ).scalar()
    if recorded is not None:
        raise EnvironmentProblem(
            f"the record of site {name!r} is missing from the database, though ledger entry "
            f"{recorded} made it; restore the database from a backup"
        )
    zone = _latest_policy_zone(session, name) or settings.site.timezone
    record_site(session, writer, name, zone, "adopt")
    return (
        f"site {name!r} is now recorded in the database, with time zone {zone} "
        f"(from its ledger); from now on a config naming another site or zone is refused"
    )


def unknown_site(session: Session, settings: Settings) -> EnvironmentProblem:
    name, path = settings.site.name, settings.path
    held = known_sites(session)
    return EnvironmentProblem(
        f"site {name!r} ([site] name in {path}) is not in this database, which holds "
        f"site{'s' if len(held) > 1 else ''} {', '.join(repr(s) for s in held)}; a renamed "
        "site would start empty, so it is refused: put the name back, or start a new site "
        f"on purpose with its own config: `screening --config OTHER/screening.toml init "
        f"--site {name}`"
    )


def zone_mismatch(settings: Settings, record: SiteRecord) -> EnvironmentProblem:
    wanted = settings.site.timezone
    return EnvironmentProblem(
        f"[site] timezone in {settings.path} says {wanted}, but site {record.name!r} keeps "
        f"{record.timezone} in the database; a changed time zone moves every day's draw, so "
        f'it is refused: set timezone = "{record.timezone}" back, or change it on purpose '
        f'with `screening site timezone {wanted} --reason "..."` (it takes effect when the '
        "next local day begins)"
    )


def in_force(settings: Settings, record: SiteRecord, now: datetime) -> Settings:
    """The settings with the site's time zone in force at ``now`` (DESIGN §4: "today"
    is the date in the zone the site keeps that day)."""
    zone = record.zone_at(now)
    if zone == settings.site.timezone:
        return settings
    return replace(settings, site=SiteSettings(name=settings.site.name, timezone=zone))


def settle(
    database: Any, settings: Settings, actor: Any, now: datetime, check_zone: bool = True
) -> tuple[Settings, list[str]]:
    """What `open_context` does: the config's site must be one the database holds, with
    the same time zone. Returns the settings with the zone in force now, and notices."""
    notices: list[str] = []
    with database.read() as session:
        record = load(session, settings.site.name)
        if record is None:
            if _ledger_empty(session):
                # Not initialised: nothing to adopt, nothing to protect; the first
                # write records the site (adopt_if_needed).
                return settings, notices
            if not _has_entries(session, settings.site.name):
                raise unknown_site(session, settings)
    if record is None:
        from screening.services.plumbing.ledger import LedgerWriter

        with database.write(settings.site.name) as session:
            writer = LedgerWriter(session, actor, now, settings.zone)
            notice = adopt_if_needed(session, writer, settings)
            if notice:
                notices.append(notice)
            session.flush()
            record = load(session, settings.site.name)
    assert record is not None
    if check_zone and record.timezone != settings.site.timezone:
        problem = zone_mismatch(settings, record)
        if notices:  # said once: the adoption is kept, whatever happens next
            problem.message = f"{notices[0]}. {problem.message}"
        raise problem
    return in_force(settings, record, now), notices


def zone_changes(session: Session, site: str | None = None) -> list[dict[str, Any]]:
    """Every change of time zone on purpose, for the audits to flag."""
    statement = sa.select(SiteZone).where(col(SiteZone.starts_at).is_not(None))
    if site is not None:
        statement = statement.where(col(SiteZone.site) == site)
    rows = session.execute(statement.order_by(col(SiteZone.ledger_seq))).scalars()
    return [
        {
            "site": row.site,
            "timezone": row.timezone,
            "starts_at": row.starts_at,
            "entry": row.ledger_seq,
        }
        for row in rows
    ]


def zone_in_force(database: Any, settings: Settings, now: datetime) -> Settings:
    """For a long-running process (`schedule run`): the settings with the zone in force
    at ``now``, read anew."""
    with database.read() as session:
        record = load(session, settings.site.name)
    return settings if record is None else in_force(settings, record, now)


def genesis_body() -> dict[str, str]:
    return {
        "installation": str(uuid.uuid4()),
        "algorithm": ALGORITHM,
        "software": f"screening {__version__}",
    }
