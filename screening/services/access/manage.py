"""`access grant`, `access revoke` and `access list`: roles are given and taken back by an
admin, each change a `role` entry in the ledger (records/grants.py). Editing the config
grants nothing: the ledger and its rows are the only record of who holds what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core import access
from screening.db.locks import hold_append_lock
from screening.db.models import AccessGrant, LedgerRow, Site
from screening.errors import BadInput, NotPermitted
from screening.services.plumbing.context import Context
from screening.services.records import grants
from screening.services.records.upkeep import writing
from screening.services.site import grant_group, revoke_group

# A login name as the OS or PostgreSQL gives them: no spaces, no quotes.
USER_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}$")


@dataclass(frozen=True)
class Change:
    user: str
    role: str
    site: str
    done: bool  # False: nothing to do (held already, or not held)


def _user(text: str) -> str:
    user = text.strip()
    if not USER_PATTERN.match(user):
        raise BadInput(
            f"{text!r} is not a login name; give the user's login as `whoami` prints it "
            "(letters, digits, _ . @ -)"
        )
    return user


def _roles(text: list[str]) -> list[str]:
    try:
        return access.role_list(" ".join(text))
    except ValueError as error:
        raise BadInput(str(error)) from None


def _site(session: Session, ctx: Context, site: str | None) -> str:
    name = site or ctx.site
    # By the sites table alone: another site's other rows may be out of this login's
    # sight (PostgreSQL's row-level security), which is no sign of a row removed.
    known = session.execute(sa.select(col(Site.id)).where(col(Site.name) == name)).first()
    if known is None:
        raise BadInput(
            f"there is no site {name!r} in this database; `screening site show` names its sites"
        )
    if name != ctx.site and access.ADMIN not in grants.held(session, name, ctx.actor.user):
        raise NotPermitted(
            f"granting at site {name} needs the admin role there; you ({ctx.actor.user}) "
            f"are not its admin"
        )
    return name


def _user_exists(session: Session, user: str) -> bool:
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name AND rolcanlogin"),
            {"name": user},
        ).first()
        return found is not None
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _no_such_user(session: Session, user: str) -> BadInput:
    if session.get_bind().dialect.name == "postgresql":
        return BadInput(
            f"there is no database login {user!r}; create it first (as the database's owner: "
            f'CREATE ROLE "{user}" LOGIN), then grant'
        )
    return BadInput(
        f"there is no user {user!r} on this computer; check the spelling (the user is the "
        "login name, as `whoami` prints it)"
    )


def _keep_auditors_apart(session: Session, user: str, wanted: set[str]) -> None:
    """On PostgreSQL an auditor's login is its own: the server keeps names and codes from
    it by its group role's columns, which a login that also works at a site (a member of
    a working group, whose columns are whole) would get around. The tables' owner, who
    reads everything anyway, may hold every role."""
    if session.get_bind().dialect.name != "postgresql":
        return
    owner = session.execute(
        sa.text("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('ledger')")
    ).scalar()
    if user == owner:
        return
    rows = session.execute(
        sa.select(col(AccessGrant.role)).where(
            col(AccessGrant.login) == user, col(AccessGrant.revoked_seq).is_(None)
        )
    ).scalars()
    roles = wanted | set(rows)
    if access.AUDITOR in roles and roles - {access.AUDITOR}:
        raise BadInput(
            f"{user} would be an auditor and also {', '.join(sorted(roles - {access.AUDITOR}))}; "
            "on PostgreSQL an auditor's login is its own (the server hides names and codes "
            "from it by its role): create another login for the auditing"
        )


def grant(ctx: Context, user: str, roles: list[str], site: str | None = None) -> list[Change]:
    """Grant each of ``roles`` to ``user`` at ``site`` (the config's by default)."""
    user, wanted = _user(user), _roles(roles)
    changes: list[Change] = []
    with writing(ctx) as (session, writer):
        # Grants are checked across sites (another site's, an auditor kept apart): under
        # the append lock, which every write holds from its first append to its commit.
        hold_append_lock(session)
        where = _site(session, ctx, site)
        held = grants.held(session, where, user)
        if not _user_exists(session, user):
            raise _no_such_user(session, user)
        _keep_auditors_apart(session, user, set(wanted))
        for role in wanted:
            if role in held:
                changes.append(Change(user, role, where, done=False))
                continue
            grants.record_grant(session, writer, where, user, role)
            # PostgreSQL enforces roles too: the login joins the role's group role.
            grant_group(session, user, role)
            changes.append(Change(user, role, where, done=True))
    return changes


def revoke(ctx: Context, user: str, roles: list[str], site: str | None = None) -> list[Change]:
    """Revoke each of ``roles`` from ``user`` at ``site``; the last admin stays."""
    user, wanted = _user(user), _roles(roles)
    changes: list[Change] = []
    with writing(ctx) as (session, writer):
        hold_append_lock(session)  # as grant: the checks read other sites' grants
        where = _site(session, ctx, site)
        rows = {
            row.role: row
            for row in grants.in_force(session, where)
            if row.login == user and row.role in wanted
        }
        missing = [role for role in wanted if role not in rows]
        if missing and len(missing) == len(wanted):
            raise BadInput(
                f"{user} does not hold {access.either(set(missing))} at site {where}; "
                "`screening access list` shows who holds what"
            )
        if access.ADMIN in rows and grants.holders(session, where, access.ADMIN) == [user]:
            raise BadInput(
                f"{user} is the only admin of site {where}; grant the admin role to someone "
                "else first, so that the site keeps one"
            )
        for role in wanted:
            row = rows.get(role)
            if row is None:
                changes.append(Change(user, role, where, done=False))
                continue
            grants.record_revoke(session, writer, row)
            session.flush()
            # The group role goes once no grant of it is left at any site.
            if not grants.held_anywhere(session, user, role):
                revoke_group(session, user, role)
            changes.append(Change(user, role, where, done=True))
    return changes


def listing(ctx: Context, site: str | None = None, history: bool = False) -> list[dict[str, Any]]:
    """Who holds what: each grant in force (with ``history``, revoked ones too), with the
    entries and times that granted and revoked it."""
    granted = sa.orm.aliased(LedgerRow)
    revoked = sa.orm.aliased(LedgerRow)
    with ctx.database.read() as session:
        statement = (
            sa.select(AccessGrant, col(granted.at), col(revoked.at))
            .join(granted, col(granted.seq) == col(AccessGrant.granted_seq))
            .outerjoin(revoked, col(revoked.seq) == col(AccessGrant.revoked_seq))
            .order_by(col(AccessGrant.site), col(AccessGrant.login), col(AccessGrant.granted_seq))
        )
        if site is not None:
            statement = statement.where(col(AccessGrant.site) == site)
        if not history:
            statement = statement.where(col(AccessGrant.revoked_seq).is_(None))
        rows = session.execute(statement).all()
    zone = ctx.settings.zone
    return [
        {
            "site": row.site,
            "user": row.login,
            "role": row.role,
            "granted": _local(granted_at, zone),
            "granted_entry": row.granted_seq,
            "revoked": _local(revoked_at, zone),
            "revoked_entry": row.revoked_seq,
        }
        for row, granted_at, revoked_at in rows
    ]


def _local(at: Any, zone: Any) -> str | None:
    if at is None:
        return None
    from screening.services.plumbing.ledger import as_utc

    return as_utc(at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
