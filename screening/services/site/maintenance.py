"""`db upgrade` and `db backup`, and the schema check every command opens with."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.db.engine import Database, share, sqlite_path
from screening.db.migrate import upgrade
from screening.errors import BadInput, EnvironmentProblem, NotPermitted
from screening.services.plumbing.outputs import guard, new_file_atomically, shown
from screening.services.site.db_roles import install as install_roles
from screening.services.witness.evidence import refuse_a_new_ledger


def upgrade_schema(database: Database, settings: Settings) -> tuple[str | None, str]:
    """Migrate to the newest revision; from no schema at all only when no witness folder
    holds checkpoints of a ledger (an emptied database is restored, never begun anew).
    On PostgreSQL the group roles' privileges and policies then cover every table
    (`db roles`), the new ones too."""
    database.require_file()
    _not_shut_out(database)
    if _no_schema(database):
        refuse_a_new_ledger(settings, database.url, "is empty")
    revisions = upgrade(database)
    if not database.is_sqlite:
        install_roles(database)
    return revisions


def _not_shut_out(database: Database) -> None:
    login = database.shut_out()
    if login is not None:
        raise NotPermitted(
            f"the database login {login} may not use this clinic's tables: it holds no role "
            f"here. An admin grants one: screening access grant {login} ROLE (docs/access.md)"
        )


def require_schema(database: Database, settings: Settings) -> None:
    """The current schema, else an error that says what to do: `db upgrade`, or, when the
    witness folders keep a ledger this empty database lost, restoring it."""
    database.require_file()
    _not_shut_out(database)
    if _no_schema(database):
        refuse_a_new_ledger(settings, database.url, "has no screening tables")
    database.require_current_schema()


def _no_schema(database: Database) -> bool:
    """No screening tables; an empty SQLite file is told by its size, without the
    connection that would write its header (the file is evidence, left as found)."""
    file = sqlite_path(database.url)
    if file is not None and file.stat().st_size == 0:
        return True
    return database.schema_revision() is None


def medications_to_fix(database: Database, vocabulary: Any, site: str) -> list[str]:
    """After an upgrade: stored medication names the vocabulary does not know, each with
    the command that fixes it (names it knows by a brand or synonym are mapped when read)."""
    from screening.services.records.clients import unknown_medications

    with database.read() as session:
        return [p["problem"] for p in unknown_medications(session, vocabulary, site)]


def backup(database: Database, settings: Settings, target: Path) -> Path:
    """A consistent copy of a live SQLite database (SQLite's online backup API), 0600
    (or, for a clinic its config's `[database] group` shares, the database's own 0660 and
    group), made under a temporary name and linked into place once it passed its
    integrity check: never one of the clinic's own files, never over an existing file."""
    source = sqlite_path(database.url)
    if source is None:
        raise EnvironmentProblem(
            "db backup copies SQLite databases; for PostgreSQL use pg_dump "
            "(e.g. pg_dump -Fc -f screening.dump DBNAME)"
        )
    require_schema(database, settings)
    real = guard(settings, database).check(target, "PATH")
    if os.path.lexists(target):
        raise BadInput(f"{shown(target)} already exists; choose a new file name for the backup")

    def copy(path: str) -> None:
        with sqlite3.connect(source) as live, sqlite3.connect(path) as copy:
            live.backup(copy)
        copy_check = sqlite3.connect(path)
        try:
            result = copy_check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy_check.close()
        if result != "ok":
            raise EnvironmentProblem(f"the backup of {source} failed its integrity check: {result}")
        if settings.database_group is not None:
            # Kept 0600 when this user may not give it to the group (not a member).
            with contextlib.suppress(PermissionError):
                share(Path(path), settings.database_group, 0o660)

    new_file_atomically(real, copy, "the backup")
    return Path(real)
