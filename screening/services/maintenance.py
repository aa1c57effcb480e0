"""`db upgrade` and `db backup`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from screening.db.engine import Database, sqlite_path
from screening.db.migrate import upgrade
from screening.errors import BadInput, EnvironmentProblem


def upgrade_schema(database: Database) -> tuple[str | None, str]:
    database.require_file()
    return upgrade(database)


def medications_to_fix(database: Database, vocabulary: Any, site: str) -> list[str]:
    """After an upgrade: stored medication names the vocabulary does not know, each with
    the command that fixes it (names it knows by a brand or synonym are mapped when read)."""
    from screening.services.clients import unknown_medications

    with database.read() as session:
        return [p["problem"] for p in unknown_medications(session, vocabulary, site)]


def backup(database: Database, target: Path) -> Path:
    """A consistent copy of a live SQLite database (SQLite's online backup API), 0600."""
    source = sqlite_path(database.url)
    if source is None:
        raise EnvironmentProblem(
            "db backup copies SQLite databases; for PostgreSQL use pg_dump "
            "(e.g. pg_dump -Fc -f screening.dump DBNAME)"
        )
    database.require_current_schema()
    target = target.absolute()
    if target.exists():
        raise BadInput(f"{target} already exists; choose a new file name for the backup")
    if not target.parent.is_dir():
        raise BadInput(f"the folder {target.parent} does not exist; create it first")
    descriptor = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(descriptor)
    try:
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        copy_check = sqlite3.connect(target)
        try:
            result = copy_check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy_check.close()
        if result != "ok":
            raise EnvironmentProblem(f"the backup at {target} failed its integrity check: {result}")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target
