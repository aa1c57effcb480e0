"""Schema through shipped alembic migrations only; an old schema is refused (exit 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.db.engine import SCHEMA_REVISION, Database, resolve_url
from screening.db.migrate import alembic_config
from tests.conftest import Clinic


def test_schema_revision_constant_is_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrations_match_the_models(clinic: Clinic) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from screening.db.models import SQLModel

    engine = clinic.engine()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_out_of_date_schema_says_run_db_upgrade(clinic: Clinic) -> None:
    from alembic import command

    database = Database(resolve_url(clinic.url, clinic.folder))
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")  # the schema of the version before this one
    database.dispose()
    result = clinic.run("clients", "list")
    assert result.exit_code == 3
    assert "run `screening db upgrade`" in result.stderr
    upgraded = clinic.ok("db", "upgrade")
    assert f"to revision {SCHEMA_REVISION}" in upgraded.stderr
    assert "from empty" not in upgraded.stderr
    assert clinic.ok("db", "upgrade").stderr.strip() == (
        f"the schema is already at revision {SCHEMA_REVISION}"
    )
    assert clinic.ok("clients", "list", "--json").stdout.strip() == "[]"


def test_unknown_revision_is_refused(clinic: Clinic) -> None:
    clinic.sql("UPDATE alembic_version SET version_num = '9999'")
    result = clinic.run("clients", "list")
    assert result.exit_code == 3
    assert "revision 9999" in result.stderr and "screening db upgrade" in result.stderr


def test_sqlite_pragmas_are_set(tmp_path) -> None:
    url = resolve_url("sqlite:///x.db", tmp_path)
    Database.create_sqlite_file(url)
    database = Database(url)
    with database.connect() as connection:
        values = [
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        ]
    database.dispose()
    assert values == ["wal", 1, 2, 30000]


def test_sqlite_writes_begin_immediate(tmp_path) -> None:
    """A writing transaction holds the write lock from its first statement (STYLE §5)."""
    import sqlite3

    url = resolve_url("sqlite:///x.db", tmp_path)
    Database.create_sqlite_file(url)
    database = Database(url)
    other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    with database.write() as session:
        session.execute(sa.text("SELECT 1"))
        try:
            other.execute("BEGIN IMMEDIATE")
            locked = False
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            locked = True
    other.close()
    database.dispose()
    assert locked


def test_upgrading_a_database_with_history_keeps_it_verifiable(clinic: Clinic) -> None:
    """0004 adds and backfills the ledger's uid column under the append-only guard."""
    from alembic import command

    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok(
        "clients", "hold", "C-1", "--from", "2026-12-01", "--to", "2026-12-02", "--reason", "leave"
    )
    # 0006's and 0010's tables go with the downgrade; this ledger already names its site,
    # staff and roles (a database older than 0006 would not), so their rows are put back.
    kept = {
        table: clinic.sql(f"SELECT * FROM {table}")
        for table in ("sites", "site_zones", "staff_names", "access_grants")
    }
    database = Database(resolve_url(clinic.url, clinic.folder))
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    database.dispose()
    assert clinic.run("clients", "list").exit_code == 3
    upgraded = clinic.run("db", "upgrade")  # the schema, then the site's record is missed
    assert "schema upgraded from 0003 to revision" in upgraded.stderr
    assert upgraded.exit_code == 3 and "record of site 'main' is missing" in upgraded.stderr
    assert "record of site 'main' is missing" in clinic.run("clients", "list").stderr
    for table, rows in kept.items():
        for row in rows:
            marks = ", ".join(f":p{i}" for i in range(len(row)))
            clinic.sql(
                f"INSERT INTO {table} VALUES ({marks})", **{f"p{i}": v for i, v in enumerate(row)}
            )
    clinic.ok("audit", "verify")
    uids = {uid for (uid,) in clinic.sql("SELECT uid FROM ledger WHERE kind IN ('client', 'hold')")}
    assert uids == {clinic.sql("SELECT uid FROM clients")[0][0]}
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        clinic.sql("UPDATE ledger SET uid = NULL")


def test_an_edited_uid_column_is_caught(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.drop_ledger_guard()
    clinic.sql("UPDATE ledger SET uid = NULL WHERE kind = 'client'")
    result = clinic.run("audit", "verify")
    assert result.exit_code == 1 and "its uid column says None" in result.stderr


def test_daily_work_reads_clients_and_screenings_by_index(tmp_path) -> None:
    """What a clinic does every day (an admission, a draw, the day's results) finds its
    clients, and the site's policy and commitments in the ledger, by index, never by
    reading every client the site ever enrolled or the whole chain (SQLite,
    with no planner statistics, as the program runs it): `EXPLAIN QUERY PLAN` of each
    statement they send."""
    import sqlite3

    from freezegun import freeze_time
    from sqlalchemy import event

    from tests.conftest import Clinic as Made

    clinic = Made(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    with freeze_time("2026-11-23 08:00:00"):
        clinic.ok("init", "--site", "main", "--timezone", "UTC")
    sent: list[tuple[str, tuple]] = []

    def seen(_conn, _cursor, statement, parameters, *_) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, tuple(parameters or ())))

    event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        with freeze_time("2026-11-23 09:00:00"):
            for n in range(1, 6):
                clinic.ok("clients", "add", f"C-{n}", "--track", "morning", "--phase", "1")
            drawn = clinic.ok("select", "--json").stdout
            for code in [line for line in drawn.split('"code": "')[1:]][:2]:
                clinic.ok("results", "record", code.split('"')[0])
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    database = sqlite3.connect(tmp_path / "screening.db")
    plans = {
        statement: " / ".join(
            row[-1] for row in database.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
        for statement, parameters in sent
        if "clients" in statement or "screenings" in statement or "ledger.kind =" in statement
    }
    database.close()
    folded = [plan for statement, plan in plans.items() if "lower(clients.code)" in statement]
    assert folded and all("ix_clients_site_code_folded" in plan for plan in folded)
    for statement, plan in plans.items():
        assert "SCAN clients" not in plan, statement
        if "ledger.kind =" in statement:  # a site's policy, its commitments: never the chain
            assert "ix_ledger_site_kind" in plan, statement
    pool = [plan for statement, plan in plans.items() if "discharged_on IS NULL" in statement]
    assert pool and all("ix_clients_site_discharged" in plan for plan in pool)
