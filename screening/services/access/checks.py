"""The role check every command makes before any work (core/access.py has the table)."""

from __future__ import annotations

from typing import Any

from screening.core import access
from screening.db.engine import Database
from screening.errors import EnvironmentProblem, NotPermitted
from screening.services.plumbing.context import Actor
from screening.services.records import grants

NARROWEST_FIRST = (access.STAFF, access.CLINICIAN, access.AUDITOR, access.ADMIN)


def _site_known(session: Any, site: str) -> bool:
    """By the sites table alone (its other rows may be out of this login's sight)."""
    import sqlalchemy as sa
    from sqlmodel import col

    from screening.db.models import Site

    return (
        session.execute(sa.select(col(Site.id)).where(col(Site.name) == site)).first() is not None
    )


def require_role(database: Database, actor: Actor, site: str, command: str) -> set[str]:
    """The roles ``actor`` holds at ``site``, if one of them may run ``command``; else
    NotPermitted (exit 4), naming the role needed and who can grant it."""
    needed = access.roles_for(command)
    # The narrowest role that would do: a clerk who lists clients needs staff, not admin.
    with database.read() as session:
        held = grants.held(session, site, actor.user)
        if not needed or held & needed:
            return held
        admins = grants.holders(session, site, access.ADMIN)
        ever = grants.any_grant(session, site)
    first = next(role for role in NARROWEST_FIRST if role in needed)
    if not ever:
        with database.read() as session:
            if not _site_known(session, site):
                # Not set up (or not this site): the checks after this one say what to do.
                return held
            hidden = grants.hidden_from(session)
        if hidden:
            # PostgreSQL shows a login no grant but its own: it holds none here.
            raise NotPermitted(
                f"`screening {command}` needs {access.either(needed)} at site {site}; you "
                f"({actor.user}) hold no role there. An admin can grant it: screening "
                f"access grant {actor.user} {first}"
            )
        raise EnvironmentProblem(
            f"site {site} has no roles recorded yet; its admin runs `screening db upgrade` "
            "once (the first upgrade makes the user running it the site's admin)"
        )
    having = f"you ({actor.user}) hold " + (
        ", ".join(r for r in access.ROLES if r in held) if held else "no role"
    )
    who = (
        f"an admin ({', '.join(admins)}) can grant it"
        if admins and actor.user not in admins
        else "grant it"
    )
    raise NotPermitted(
        f"`screening {command}` needs {access.either(needed)} at site {site}; {having} "
        f"there. {who[0].upper()}{who[1:]}: screening access grant {actor.user} {first}"
    )


def require_role_if_recorded(database: Database, actor: Actor, site: str, command: str) -> None:
    """`db upgrade` and `db backup` are the admin's once roles are recorded: before them
    (a clinic made before roles, whose first upgrade makes its user the admin; a backup
    taken before that upgrade) anyone who can open the database may run them, as before."""
    import sqlalchemy as sa

    from screening.db.engine import sqlite_path

    file = sqlite_path(database.url)
    if file is not None and (not file.exists() or file.stat().st_size == 0):
        return  # nothing recorded, and a connection would write a header into evidence
    with database.connect() as connection:
        recorded = sa.inspect(connection).has_table("access_grants")
    if not recorded:
        return
    with database.read() as session:
        if not grants.any_grant(session):
            return  # no roles anywhere yet: the first upgrade makes its user admin
        if not _site_known(session, site):
            raise NotPermitted(
                f"`screening {command}` needs the admin role at site {site}, which this "
                "database does not hold; use the config of one of its sites"
            )
        if not grants.any_grant(session, site) and command == "db upgrade":
            # A site of a network older than roles gets its first admin from an admin
            # of another site's upgrade, never from whoever runs it first.
            if grants.admin_somewhere(session, actor.user):
                return
            raise NotPermitted(
                f"site {site} has no admin yet; an admin of another site of this database "
                f"runs `screening db upgrade` with this site's config"
            )
    require_role(database, actor, site, command)


def claim_site(database: Database, actor: Actor, site: str, now: Any, zone: Any) -> bool:
    """After an upgrade: a site that has never had a role granted makes ``actor`` its
    admin (one `role` entry). True if it did."""
    from screening.services.plumbing.ledger import LedgerWriter

    with database.write(site) as session:
        if not _site_known(session, site):
            return False  # an empty ledger: `init` makes the site and its admin
        writer = LedgerWriter(session, actor, now, zone)
        return grants.first_admin(session, writer, site, actor.user)
