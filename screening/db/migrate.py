"""Run the alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from screening.db.engine import Database
from screening.db.locks import APPEND_LOCK, NETWORK_LOCK

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest revision. Returns (before, after)."""
    from alembic import command

    # One upgrade at a time, and no write meanwhile: two sites' `init` on a new database
    # at once both found no tables and the second failed creating them. On PostgreSQL
    # the network lock (db/locks.py), on SQLite BEGIN IMMEDIATE: the second upgrade
    # waits, then finds the schema current.
    with database.engine.execution_options(screening_write=True).begin() as connection:
        if not database.is_sqlite:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:network), pg_advisory_xact_lock(:append)"),
                {"network": NETWORK_LOCK, "append": APPEND_LOCK},
            )
        before = _revision(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, database.schema_revision() or ""


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    revision: str | None = connection.execute(
        sa.text("SELECT version_num FROM alembic_version")
    ).scalar()
    return revision
