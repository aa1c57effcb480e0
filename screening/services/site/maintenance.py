"""`db upgrade` and `db backup`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.db.engine import Database, sqlite_path
from screening.db.migrate import upgrade
from screening.errors import BadInput, EnvironmentProblem
from screening.services.plumbing.outputs import guard, new_file_atomically, shown


def upgrade_schema(database: Database) -> tuple[str | None, str]:
    database.require_file()
    return upgrade(database)


def medications_to_fix(database: Database, vocabulary: Any, site: str) -> list[str]:
    """After an upgrade: stored medication names the vocabulary does not know, each with
    the command that fixes it (names it knows by a brand or synonym are mapped when read)."""
    from screening.services.records.clients import unknown_medications

    with database.read() as session:
        return [p["problem"] for p in unknown_medications(session, vocabulary, site)]


def backup(database: Database, settings: Settings, target: Path) -> Path:
    """A consistent copy of a live SQLite database (SQLite's online backup API), 0600,
    made under a temporary name and linked into place once it passed its integrity
    check: never one of the clinic's own files, never over an existing file."""
    source = sqlite_path(database.url)
    if source is None:
        raise EnvironmentProblem(
            "db backup copies SQLite databases; for PostgreSQL use pg_dump "
            "(e.g. pg_dump -Fc -f screening.dump DBNAME)"
        )
    database.require_current_schema()
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

    new_file_atomically(real, copy, "the backup")
    return Path(real)
