"""Roles held at a site (core/access.py): each grant and revocation is a `role` entry
in the ledger and a row of ``access_grants``, written together.

The user is a login name: the OS user on SQLite, the database login on PostgreSQL. The
entry holds it only as a digest salted with the site's salt, like every staff name
(plumbing/ledger.py: LedgerWriter.staff); the row holds the name.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.access import ADMIN
from screening.db.engine import Database
from screening.db.models import AccessGrant
from screening.services.plumbing.ledger import LedgerWriter


def login_of(database: Database) -> str | None:
    """The database login (PostgreSQL's session_user: who connected, whatever role was
    set since); None on SQLite, where the OS user is the user."""
    if database.url.get_backend_name() != "postgresql":
        return None
    with database.connect() as connection:
        name = connection.execute(sa.text("SELECT session_user")).scalar()
    return str(name) if name is not None else None


def in_force(session: Session, site: str | None = None) -> list[AccessGrant]:
    """The grants not revoked, by site, user and role."""
    statement = sa.select(AccessGrant).where(col(AccessGrant.revoked_seq).is_(None))
    if site is not None:
        statement = statement.where(col(AccessGrant.site) == site)
    statement = statement.order_by(
        col(AccessGrant.site), col(AccessGrant.login), col(AccessGrant.role)
    )
    return list(session.execute(statement).scalars())


def held(session: Session, site: str, user: str) -> set[str]:
    """The roles ``user`` holds at ``site``."""
    rows = session.execute(
        sa.select(col(AccessGrant.role)).where(
            col(AccessGrant.site) == site,
            col(AccessGrant.login) == user,
            col(AccessGrant.revoked_seq).is_(None),
        )
    ).scalars()
    return set(rows)


def holders(session: Session, site: str, role: str) -> list[str]:
    """The users who hold ``role`` at ``site``, by name."""
    rows = session.execute(
        sa.select(col(AccessGrant.login))
        .where(
            col(AccessGrant.site) == site,
            col(AccessGrant.role) == role,
            col(AccessGrant.revoked_seq).is_(None),
        )
        .order_by(col(AccessGrant.login))
    ).scalars()
    return list(rows)


def any_grant(session: Session, site: str | None = None) -> bool:
    """Whether any role was ever granted (at ``site``, or anywhere)."""
    statement = sa.select(col(AccessGrant.id))
    if site is not None:
        statement = statement.where(col(AccessGrant.site) == site)
    return session.execute(statement.limit(1)).first() is not None


def hidden_from(session: Session) -> bool:
    """Whether the server hides other logins' grants from this one (PostgreSQL's
    row-level security, for a login that is not the tables' owner)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(
        session.execute(
            sa.text(
                "SELECT relrowsecurity AND pg_get_userbyid(relowner) <> session_user "
                "FROM pg_class WHERE oid = to_regclass('access_grants')"
            )
        ).scalar()
    )


def held_anywhere(session: Session, user: str, role: str) -> bool:
    """Whether ``user`` holds ``role`` at any site."""
    return (
        session.execute(
            sa.select(col(AccessGrant.id))
            .where(
                col(AccessGrant.login) == user,
                col(AccessGrant.role) == role,
                col(AccessGrant.revoked_seq).is_(None),
            )
            .limit(1)
        ).first()
        is not None
    )


def admin_somewhere(session: Session, user: str) -> bool:
    return held_anywhere(session, user, ADMIN)


def record_grant(
    session: Session, writer: LedgerWriter, site: str, user: str, role: str
) -> AccessGrant:
    """Grant ``role`` to ``user`` at ``site``: one `role` entry and its row."""
    entry = writer.append(
        site, "role", {"action": "grant", "user": writer.staff(site, user), "role": role}
    )
    row = AccessGrant(site=site, login=user, role=role, granted_seq=entry.seq)
    session.add(row)
    return row


def record_revoke(session: Session, writer: LedgerWriter, grant: AccessGrant) -> None:
    """Revoke a grant in force: one `role` entry, and the row says which entry ended it."""
    entry = writer.append(
        grant.site,
        "role",
        {"action": "revoke", "user": writer.staff(grant.site, grant.login), "role": grant.role},
    )
    grant.revoked_seq = entry.seq
    session.add(grant)


def first_admin(session: Session, writer: LedgerWriter, site: str, user: str) -> bool:
    """Make ``user`` the admin of a site that has never had a role granted (a new
    clinic, or one made before roles): True if it did."""
    if any_grant(session, site):
        return False
    record_grant(session, writer, site, user, ADMIN)
    return True
