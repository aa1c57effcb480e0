"""`screening db roles`: PostgreSQL enforces the roles itself (issue 17), so that a login
with psql gets no further than the CLI.

- Four group roles (NOLOGIN), screening_admin, _staff, _clinician and _auditor, whose
  members are the logins `access grant` names (``grant_group`` / ``revoke_group``).
  Role names are cluster-wide and the same for every schema: an existing one is taken
  as it is, and this schema's tables are granted to it. What a login may do in a
  schema is decided by that schema's own ``access_grants`` (row-level security below),
  never by membership alone, so several clinics' schemas in one database (the test
  suite gives every test its own) share the four names without sharing rows.
- Privileges: the working roles read and write the domain tables (nothing in the CLI deletes
  a row); the ledger takes SELECT and INSERT only (the auditor's INSERT only of a disclosure,
  an export's record, with its ``disclosures`` row), so only the schema owner could UPDATE
  or DELETE it (and its append-only trigger refuses that too); only admin writes
  ``access_grants``; the auditor reads the ledger and every column but names, codes, free
  text and the salts of their digests (``IDENTIFIED``).
- Row-level security on every table with a ``site`` column and on their child tables:
  a login reads and writes the rows of the sites it holds a grant at, through SECURITY
  DEFINER functions with a fixed search_path that read ``access_grants`` for
  ``session_user``. The auditor reads every site's rows (pseudonymous columns only):
  verify compares the whole ledger with every row. The ledger is read whole by anyone
  holding a grant here (every writer chains from its head, whatever the site) and
  written only at a login's own sites; so is ``access_grants`` (the CLI names a site's
  admins to whoever it refuses there), written by an admin at their own sites only.
  Ids come from ``screening_max_id`` (db/row_ids.py): a login that sees only its own
  sites' rows would otherwise give an id another site's row has. The schema owner is
  not subject to any of it.

Every statement is idempotent: privileges are revoked and granted anew, policies and
functions replaced, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from screening.core.access import ROLES, WORKING
from screening.db.engine import Database
from screening.db.locks import APPEND_LOCK, NETWORK_LOCK
from screening.errors import BadInput, EnvironmentProblem, NotPermitted
from screening.services.site.db_tables import (
    ADMIN_WRITES,
    AUDITOR_ROW,
    AUDITOR_WRITES,
    CHILDREN,
    IDENTIFIED,
    READ_ONLY,
)


def group_role(role: str) -> str:
    return f"screening_{role}"


@dataclass(frozen=True)
class RolesSet:
    schema: str
    created: tuple[str, ...]
    tables: int
    guarded: int  # tables under row-level security


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run(connection: sa.Connection, statement: str) -> None:
    """A statement as written (psycopg takes a lone % for a placeholder)."""
    connection.exec_driver_sql(statement.replace("%", "%%"))


def _tables(connection: sa.Connection) -> dict[str, set[str]]:
    rows = connection.execute(
        sa.text(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a "
            "ON a.attrelid = c.oid WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        )
    )
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def install(database: Database) -> RolesSet:
    """Create the group roles if need be and set this schema's privileges and policies."""
    if database.is_sqlite:
        raise BadInput(
            "SQLite has no logins or roles: its boundary is the database file's permissions "
            "(`screening init --group NAME`); `db roles` is for PostgreSQL"
        )
    with database.connect() as connection, connection.begin():
        # One at a time, and no write meanwhile: two sites' `init` at once changed the
        # same catalog rows ("tuple concurrently updated").
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:network), pg_advisory_xact_lock(:append)"),
            {"network": NETWORK_LOCK, "append": APPEND_LOCK},
        )
        schema, owner, me, creates = connection.execute(
            sa.text(
                "SELECT current_schema(), pg_get_userbyid(c.relowner), current_user, "
                "r.rolcreaterole OR r.rolsuper FROM pg_class c, pg_roles r "
                "WHERE c.oid = to_regclass('ledger') AND r.rolname = current_user"
            )
        ).one_or_none() or (None, None, None, None)
        tables = _tables(connection)
        if schema is None or "access_grants" not in tables:
            raise EnvironmentProblem(
                "the database has no screening tables (or predates roles); run "
                "`screening db upgrade` first"
            )
        if owner != me:
            raise EnvironmentProblem(
                f"`db roles` changes the tables' privileges: run it as their owner, {owner}"
            )
        created = _create_roles(connection, bool(creates))
        _grant(connection, schema, tables)
        _functions(connection, schema, tables)
        guarded = _policies(connection, schema, tables)
    return RolesSet(schema, created, len(tables), guarded)


def _create_roles(connection: sa.Connection, may_create: bool) -> tuple[str, ...]:
    present = set(
        connection.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'screening\\_%'")
        ).scalars()
    )
    missing = [group_role(r) for r in ROLES if group_role(r) not in present]
    if missing and not may_create:
        statements = " ".join(f"CREATE ROLE {name} NOLOGIN;" for name in missing)
        raise EnvironmentProblem(
            f"creating the group roles needs CREATEROLE; ask a superuser to run "
            f"{statements} then run `screening db roles` again"
        )
    for name in missing:
        # Another schema's `db roles` may create it at the same moment: then it exists.
        _run(
            connection,
            f"DO $$ BEGIN CREATE ROLE {name} NOLOGIN; EXCEPTION WHEN duplicate_object "
            "OR unique_violation THEN NULL; END $$",
        )
    return tuple(missing)


def _grant(connection: sa.Connection, schema: str, tables: dict[str, set[str]]) -> None:
    groups = ", ".join(group_role(r) for r in ROLES)
    working = ", ".join(group_role(r) for r in WORKING)

    def run(statement: str) -> None:
        _run(connection, statement)

    run(f"REVOKE ALL ON ALL TABLES IN SCHEMA {_q(schema)} FROM {groups}")
    run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {_q(schema)} FROM {groups}")
    run(f"GRANT USAGE ON SCHEMA {_q(schema)} TO {groups}")
    run(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_q(schema)} TO {working}")
    for table, columns in sorted(tables.items()):
        name = _q(table)
        if table == "ledger":
            # The auditor writes one kind of entry: the disclosure of an export.
            run(f"GRANT SELECT, INSERT ON {name} TO {groups}")
        elif table in READ_ONLY:
            run(f"GRANT SELECT ON {name} TO {working}")
        elif table in ADMIN_WRITES:
            run(f"GRANT SELECT ON {name} TO {working}")
            run(f"GRANT INSERT, UPDATE ON {name} TO {group_role('admin')}")
        else:
            run(f"GRANT SELECT, INSERT, UPDATE ON {name} TO {working}")
        if table in AUDITOR_WRITES:
            run(f"GRANT INSERT ON {name} TO {group_role('auditor')}")
        hidden = set(IDENTIFIED.get(table, ()))
        if hidden:
            seen = ", ".join(_q(c) for c in sorted(columns - hidden))
            run(f"GRANT SELECT ({seen}) ON {name} TO {group_role('auditor')}")
        else:
            run(f"GRANT SELECT ON {name} TO {group_role('auditor')}")


def _functions(connection: sa.Connection, schema: str, tables: dict[str, set[str]]) -> None:
    """The functions the policies call (they read access_grants as the owner) and those
    that let an admin grant a group role, and give the CLI the highest id of a table
    whose rows it cannot all see (db/row_ids.py)."""
    s = _q(schema)
    header = f"SECURITY DEFINER SET search_path = {s}, pg_temp"
    in_force = "login = session_user AND revoked_seq IS NULL"
    with_ids = ", ".join(f"'{t}'" for t in sorted(t for t, c in tables.items() if "id" in c))
    definitions = {
        # Sites the login holds a grant of one of ``wanted`` at.
        "screening_sites(wanted text[])": (
            f"RETURNS text[] LANGUAGE sql STABLE {header} AS $$ SELECT coalesce("
            f"array_agg(DISTINCT site), '{{}}') FROM access_grants WHERE {in_force} "
            "AND role = ANY (wanted) $$"
        ),
        # An auditor reads every site's pseudonymous columns; a login that also works
        # (a member of a working group role, here or in another schema of the cluster)
        # has whole rows through that group, and so reads only its own sites.
        "screening_audits()": (
            f"RETURNS boolean LANGUAGE sql STABLE {header} AS $$ SELECT EXISTS (SELECT 1 "
            f"FROM access_grants WHERE {in_force} AND role = 'auditor') AND NOT ("
            + " OR ".join(
                f"pg_has_role(session_user, '{group_role(r)}', 'MEMBER')" for r in WORKING
            )
            + ") $$"
        ),
        "screening_member()": (
            f"RETURNS boolean LANGUAGE sql STABLE {header} AS $$ SELECT EXISTS (SELECT 1 "
            f"FROM access_grants WHERE {in_force}) $$"
        ),
        "screening_max_id(tab text)": (
            f"RETURNS bigint LANGUAGE plpgsql STABLE {header} AS $$ DECLARE high bigint; "
            f"BEGIN IF tab <> ALL (ARRAY[{with_ids}]) THEN RAISE EXCEPTION "
            "'no table % with ids', tab; END IF; EXECUTE format('SELECT max(id) FROM %I', "
            "tab) INTO high; RETURN coalesce(high, 0); END $$"
        ),
        "screening_grant_group(who text, what text)": _membership("GRANT", "TO", header),
        "screening_revoke_group(who text, what text)": _membership("REVOKE", "FROM", header),
    }
    groups = ", ".join(group_role(r) for r in ROLES)
    for signature, body in definitions.items():
        _run(connection, f"CREATE OR REPLACE FUNCTION {s}.{signature} {body}")
        _run(connection, f"REVOKE ALL ON FUNCTION {s}.{signature} FROM PUBLIC")
        granted = group_role("admin") if "_group(" in signature else groups
        _run(connection, f"GRANT EXECUTE ON FUNCTION {s}.{signature} TO {granted}")


def _membership(verb: str, word: str, header: str) -> str:
    """GRANT or REVOKE a group role, for an admin of this schema (or its owner); a
    revoke waits until no grant of that role to that login is left at any site."""
    still_held = (
        "IF EXISTS (SELECT 1 FROM access_grants WHERE login = who AND role = what AND "
        "revoked_seq IS NULL) THEN RETURN; END IF; "
        if verb == "REVOKE"
        else ""
    )
    # A membership follows a grant recorded in the ledger's table at a site the caller
    # administers (or the owner's): never a login put in a group by hand.
    recorded = (
        ""
        if verb == "REVOKE"
        else "IF NOT EXISTS (SELECT 1 FROM access_grants g WHERE g.login = who AND "
        "g.role = what AND g.revoked_seq IS NULL AND (session_user = current_user OR "
        "g.site IN (SELECT a.site FROM access_grants a WHERE a.login = session_user AND "
        "a.role = 'admin' AND a.revoked_seq IS NULL))) THEN RAISE EXCEPTION "
        "'no grant of % to % is recorded', what, who USING ERRCODE = "
        "'insufficient_privilege'; END IF; "
    )
    return (
        f"RETURNS void LANGUAGE plpgsql VOLATILE {header} AS $$ BEGIN "
        "IF what NOT IN ('admin', 'staff', 'clinician', 'auditor') THEN "
        "RAISE EXCEPTION 'no role %', what; END IF; "
        "IF session_user <> current_user AND NOT EXISTS (SELECT 1 FROM access_grants "
        "WHERE login = session_user AND role = 'admin' AND revoked_seq IS NULL) THEN "
        "RAISE EXCEPTION 'only an admin grants roles' USING ERRCODE = 'insufficient_privilege'; "
        f"END IF; {still_held}{recorded}"
        f"EXECUTE format('{verb} %I {word} %I', 'screening_' || what, who); END $$"
    )


def _policies(connection: sa.Connection, schema: str, tables: dict[str, set[str]]) -> int:
    s = _q(schema)

    def sites(roles: tuple[str, ...]) -> str:
        # Evaluated once per statement (a sub-select), the cast making it an array
        # rather than a set for ANY.
        wanted = ", ".join(repr(r) for r in roles)
        return f"(SELECT {s}.screening_sites(ARRAY[{wanted}]))::text[]"

    reading, writing = sites(ROLES), sites(WORKING)
    audits = f"(SELECT {s}.screening_audits())"
    member = f"(SELECT {s}.screening_member())"
    rules: dict[str, tuple[str, str]] = {
        # The auditor writes only the disclosure of an export, at its own sites. Each row
        # keeps the login that wrote it (its default): none is written in another's name.
        "ledger": (
            member,
            f"(site = ANY ({writing}) OR (kind = 'disclosure' AND site = ANY "
            f"({sites(('auditor',))}))) AND login = session_user",
        ),
        # Read whole (the CLI names a site's admins when it refuses); admins write theirs.
        "access_grants": (member, f"site = ANY ({sites(('admin',))})"),
    }
    for table, columns in tables.items():
        if "site" in columns and table not in rules:
            rules[table] = (f"site = ANY ({reading}) OR {audits}", f"site = ANY ({writing})")
    if "disclosures" in tables:  # the auditor's one row, an export's, at its own sites
        export = f"{AUDITOR_ROW} AND site = ANY ({sites(('auditor',))})"
        rules["disclosures"] = (rules["disclosures"][0], f"site = ANY ({writing}) OR ({export})")
    for table in CHILDREN:
        if table in tables:
            rules[table] = (
                f"{audits} OR {_through(table, reading)}",
                _through(table, writing),
            )
    for table, (read, write) in sorted(rules.items()):
        name = _q(table)
        _run(connection, f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        for policy in ("screening_read", "screening_insert", "screening_update"):
            _run(connection, f"DROP POLICY IF EXISTS {policy} ON {name}")
        _run(connection, f"CREATE POLICY screening_read ON {name} FOR SELECT USING ({read})")
        _run(
            connection, f"CREATE POLICY screening_insert ON {name} FOR INSERT WITH CHECK ({write})"
        )
        if table != "ledger":
            _run(
                connection,
                f"CREATE POLICY screening_update ON {name} FOR UPDATE USING ({write}) "
                f"WITH CHECK ({write})",
            )
    return len(rules)


def _through(table: str, sites: str) -> str:
    """The row's site is one of ``sites``, found through its links up to a row with one."""
    joins, where, child, step = [], "", table, 0
    while child in CHILDREN:
        link, parent = CHILDREN[child]
        step += 1
        alias = f"p{step}"
        if step == 1:
            where = f"{alias}.id = {_q(table)}.{_q(link)}"
            joins.append(f"{_q(parent)} {alias}")
        else:
            joins.append(f"JOIN {_q(parent)} {alias} ON {alias}.id = p{step - 1}.{_q(link)}")
        child = parent
    return (
        f"EXISTS (SELECT 1 FROM {' '.join(joins)} WHERE {where} AND p{step}.site = ANY ({sites}))"
    )


# --- `access grant` and `access revoke` ------------------------------------------------


def grant_group(connection: Any, user: str, role: str) -> None:
    """Make ``user`` (a PostgreSQL login) a member of the role's group; within the
    caller's transaction (a Session or a Connection). Nothing to do on SQLite."""
    _membership_call(connection, user, role, "screening_grant_group")


def revoke_group(connection: Any, user: str, role: str) -> None:
    """Take the group role back once no grant of ``role`` to ``user`` is in force at any
    site of this schema (the caller has recorded the revocation already)."""
    _membership_call(connection, user, role, "screening_revoke_group")


def _membership_call(connection: Any, user: str, role: str, function: str) -> None:
    bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
    if bind.dialect.name != "postgresql":
        return
    if role not in ROLES:
        raise BadInput(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
    found = connection.execute(
        sa.text(
            "SELECT to_regprocedure(:f) IS NOT NULL, "
            "(SELECT rolcanlogin FROM pg_roles WHERE rolname = :u)"
        ),
        {"f": f"{function}(text, text)", "u": user},
    ).one()
    if not found[0]:
        raise EnvironmentProblem(
            "the database's group roles are not set up; the owner of its tables runs "
            "`screening db roles` (or `screening db upgrade`) first"
        )
    if found[1] is None:
        raise BadInput(
            f"there is no PostgreSQL login {user!r}; create it first (CREATE ROLE "
            f"{_q(user)} LOGIN, with a password unless the server trusts it), then grant again"
        )
    if not found[1]:
        raise BadInput(
            f"{user!r} is a PostgreSQL role that cannot log in; roles are granted to "
            f"logins (ALTER ROLE {_q(user)} LOGIN makes it one)"
        )
    try:
        with connection.begin_nested():
            connection.execute(sa.text(f"SELECT {function}(:u, :r)"), {"u": user, "r": role})
    except sa.exc.DBAPIError as error:
        if "insufficient_privilege" in type(error.orig).__name__.lower() or (
            getattr(error.orig, "sqlstate", None) == "42501"
        ):
            raise NotPermitted(
                f"only an admin of this clinic may grant {group_role(role)} on the server; "
                "ask an admin (or the owner of the tables)"
            ) from None
        raise
