"""Every column of every table, edited once behind the program's back, is named by
`audit verify` (issue 14: "a single-field edit anywhere is named by verify").

One small clinic per backend lives a few days: enrolments, a hold ended early, a
closure and a withdrawn one, a draw and its amendment, a late draw, collections (a
positive with a level, amended; a cold one and its observed recollection), a no-show
reversed and entered late, an excusal, a for-cause test, a discharge, a time zone
change. Then, as an intruder with write access would (the ledger's guard triggers
dropped, foreign keys not enforced), each column of each table is changed in one row;
verify must exit 1 naming the entry or the row, and the value is put back.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import typer.testing
from sqlmodel import SQLModel

from screening import config
from screening.db.engine import Database, resolve_url
from screening.db.models import UTCDateTime
from screening.services.audit.column_rules import COLUMN_RULES
from screening.services.audit.walk import verify
from screening.services.plumbing.context import Actor, Context
from tests.conftest import Clinic
from tests.disclosures import disclose
from tests.scenarios.conftest import Story, _scenario_phases

NAMED = re.compile(r"\bentry \d+|\brow \d+|\brow \(")


def _live_a_few_days(story: Story) -> None:
    story.ok("2026-11-01 09:00", "init", "--site", "main", "--timezone", "America/New_York")
    story.edit_config(_scenario_phases)
    story.enrol(
        "2026-11-02 06:40",
        "C-1,Ann Example,morning,1,2026-11-02,buprenorphine",
        "C-2,Bo Example,morning,1,2026-11-02,",
        "C-3,Cy Example,evening,1,2026-11-02,",
        "C-4,Di Example,morning,1,2026-11-02,",
    )
    story.ok(
        "2026-11-02 06:45", "clients", "hold", "C-4", "--from", "2026-11-04", "--to",
        "2026-11-10", "--reason", "travel",
    )  # fmt: skip
    story.ok(
        "2026-11-02 06:46", "clients", "hold-end", "C-4", "--hold", "1", "--to", "2026-11-05",
        "--reason", "back early",
    )  # fmt: skip
    story.ok("2026-11-02 06:48", "close", "2026-11-13", "--reason", "storm")
    story.ok("2026-11-02 06:49", "close", "2026-11-13", "--withdraw", "--reason", "open")
    story.ok("2026-11-02 07:00", "select")
    story.enrol("2026-11-02 07:20", "C-5,Ed Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:30", "select", "--amend", "--reason", "late admission")
    story.ok(
        "2026-11-02 10:00", "results", "record", "C-1", "--positive", "MAMP", "--level",
        "MAMP=800", "--negative", "THC", "--not-tested", "BUP,NORBUP", "--specimen-id",
        "S-100", "--temperature-ok", "--observed", "--observed-reason", "policy",
        "--collected-at", "2026-11-02T09:55",
    )  # fmt: skip
    story.ok(
        "2026-11-02 10:05", "results", "amend", "S-100", "--reason",
        "lab_report", "--lab-report", "L-7", "--override-reason", "seen", "--note", "typo",
        "--positive", "MAMP", "--level", "MAMP=90", "--negative", "THC", "--not-tested",
        "BUP,NORBUP",
    )  # fmt: skip
    story.ok("2026-11-02 10:10", "results", "record", "C-2", "--negative", "THC",
             "--temperature-out")  # fmt: skip
    story.ok(
        "2026-11-02 10:20", "results", "excuse", "C-4", "--reason", "medical",
        "--approved-by", "Dr A. Lee",
    )  # fmt: skip
    story.ok("2026-11-02 18:00", "results", "no-show", "C-5")
    missed = story.clinic.sql("SELECT id FROM screenings WHERE status = 'no_show'")[0][0]
    story.ok(
        "2026-11-03 09:00", "results", "reverse", str(missed), "--reason",
        "cup found", "--approved-by", "Dr A. Lee",
    )  # fmt: skip
    story.ok(
        "2026-11-03 09:05", "results", "record", "C-5", "--screening",
        str(missed), "--negative", "THC", "--collected-at", "2026-11-02T10:15",
        "--reason", "cup mislabelled",
    )  # fmt: skip
    story.ok("2026-11-03 09:10", "results", "for-cause", "C-3", "--reason", "smelled of alcohol")
    story.ok("2026-11-03 09:20", "clients", "discharge", "C-2", "--reason", "completed")
    # Consents (one revoked), a restriction lifted, and a disclosure made under a consent.
    story.ok(
        "2026-11-03 09:30", "consent", "add", "C-1", "--type", "criminal_justice",
        "--recipient", "County Drug Court", "--purpose", "monitoring", "--detail",
        "weekly report", "--share", "attendance,results", "--expires", "2027-05-01",
        "--signed", "2026-11-02", "--signed-by", "client", "--how-to-revoke", "in writing",
        "--revocable-from", "2027-01-01", "--covers-from", "2026-11-02",
    )  # fmt: skip
    story.ok(
        "2026-11-03 09:31", "consent", "add", "C-3", "--type", "named", "--recipient",
        "Dana Example", "--purpose", "family_involvement", "--share", "attendance",
        "--expires", "end-of-treatment", "--signed", "2026-11-03", "--signed-by", "client",
        "--how-to-revoke", "tell any staff member",
    )  # fmt: skip
    story.ok("2026-11-03 09:32", "consent", "revoke", "2", "--reason", "other", "--note", "moved")
    story.ok("2026-11-03 09:33", "consent", "restrict", "C-3", "--note", "asked")
    story.ok("2026-11-03 09:34", "consent", "lift", "C-3", "--note", "asked again")
    with story.clock("2026-11-03 09:40"):
        disclose(story.clinic, "C-1", 1, "County Drug Court")
    story.ok("2026-11-05 08:00", "select", "--late", "2026-11-04", "--reason", "server down")
    story.ok("2026-11-05 09:00", "site", "timezone", "America/Chicago", "--reason", "moved")
    # As a PostgreSQL database upgraded with a gap in its closures' ids (0009) keeps it.
    story.clinic.sql("UPDATE closures SET id = 2 WHERE id = 1")
    story.clinic.sql("INSERT INTO row_id_gaps (table_name, row_id) VALUES ('closures', 1)")


def _other(value: Any, column: sa.Column[Any], choices: list[Any]) -> Any:
    """One edit of ``value``: another row it may link to, or a changed value."""
    if choices:
        return next(c for c in choices if c != value)
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return not value
    if isinstance(kind, sa.Integer):
        return (value or 0) + 1000
    if isinstance(kind, (sa.DateTime, UTCDateTime)):
        return (value or datetime(2026, 11, 2, 12)) + timedelta(seconds=1)
    if isinstance(kind, sa.Date):
        return (value or date(2026, 11, 2)) + timedelta(days=1)
    text = value or ""
    limit = getattr(kind, "length", None)
    if limit and len(text) >= limit:
        return text[:-1] + ("0" if text[-1] != "0" else "1")
    return text + "x"


def _context(clinic: Clinic) -> Context:
    """What `audit verify` is given, made once: verify runs in this process, on one
    engine, as often as there are columns."""
    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, clinic.folder))
    now = datetime.now(UTC)
    return Context(settings, database, Actor("staff1"), now, now.astimezone(settings.zone).date())


def _tamper_everything(clinic: Clinic) -> tuple[int, list[str]]:
    clinic.drop_ledger_guard()
    context = _context(clinic)
    assert verify(context).ok
    engine = sa.create_engine(clinic.url)
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name in COLUMN_RULES]
    caught, missed = 0, []
    try:
        for table in tables:
            key = list(table.primary_key.columns)
            for column in table.c:
                with engine.connect() as connection:
                    filled = sa.select(*key, column).order_by(*key)
                    row = connection.execute(filled.where(column.is_not(None)).limit(1)).first()
                    row = row or connection.execute(filled.limit(1)).first()
                    assert row is not None, f"{table.name} is empty: the clinic must fill it"
                    choices: list[Any] = []
                    for fk in column.foreign_keys:
                        target = fk.column
                        choices = list(
                            connection.execute(
                                sa.select(target).order_by(target).limit(3)
                            ).scalars()
                        )
                where = sa.and_(*(c == row[i] for i, c in enumerate(key)))
                old = row[-1]
                new = _edit(engine, clinic, table, column, where, old, choices)
                try:
                    problem = verify(context).problem
                except Exception as error:  # the CLI would say "internal error"
                    problem = f"internal error ({type(error).__name__}: {error})"
                if problem and NAMED.search(problem) and "internal error" not in problem:
                    caught += 1
                else:
                    missed.append(f"{table.name}.{column.name}: {problem!r}")
                moved = {c: (new if c.name == column.name else row[i]) for i, c in enumerate(key)}
                back = sa.and_(*(c == v for c, v in moved.items()))
                _write(engine, clinic, table.update().where(back).values({column.name: old}))
    finally:
        engine.dispose()
        context.database.dispose()
    return caught, missed


def _edit(
    engine: sa.Engine,
    clinic: Clinic,
    table: sa.Table,
    column: sa.Column[Any],
    where: Any,
    old: Any,
    choices: list[Any],
) -> Any:
    """Change the value; a link to another row that a unique constraint refuses goes to
    the next, and at last to a row that does not exist."""
    for new in [c for c in choices if c != old] + [_other(old, column, [])]:
        try:
            _write(engine, clinic, table.update().where(where).values({column.name: new}))
        except sa.exc.IntegrityError:
            continue
        return new
    raise AssertionError(f"no edit of {table.name}.{column.name} was accepted")


def _write(engine: sa.Engine, clinic: Clinic, statement: Any) -> None:
    with engine.begin() as connection:
        if not clinic.is_sqlite:
            # Foreign keys are triggers in PostgreSQL: off for this edit, as a superuser
            # could have them.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.execute(statement)


def test_every_single_column_edit_is_named(
    backend: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Maps in memory (the spilled path is proved by every other verify in the suite).
    monkeypatch.setattr("screening.services.plumbing.spill.CAPACITY", 100_000)
    # The command tree built once, not for every command of the story.
    monkeypatch.setattr(typer.testing, "_get_command", functools.cache(typer.testing._get_command))
    story = Story(Clinic(tmp_path, backend))
    _live_a_few_days(story)
    columns = sum(len(t.c) for t in SQLModel.metadata.sorted_tables if t.name in COLUMN_RULES)
    caught, missed = _tamper_everything(story.clinic)
    print(f"{backend.split(':')[0]}: {caught} of {columns} single-column edits caught")
    assert not missed, "\n".join(missed)
    assert caught == columns
    assert verify(_context(story.clinic)).ok  # every value put back: intact again


def test_a_date_column_of_another_type_is_named(tmp_path: Any) -> None:
    """SQLite keeps whatever a column is given (PostgreSQL refuses a value of another
    type itself): verify names the row, never fails with an internal error."""
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok("clients", "hold", "C-1", "--from", "2026-12-01", "--to", "2026-12-03",
              "--reason", "travel")  # fmt: skip
    for value in ("'2026-13-45'", "12", "'yesterday'", "'2026-12-01 00:00:00'"):
        clinic.sql(f"UPDATE holds SET starts_on = {value}")
        result = clinic.run("audit", "verify")
        assert result.exit_code == 1, value
        assert "holds row 1 (entry " in result.stderr
        assert "its starts_on holds something that is not a date" in result.stderr
        assert "internal error" not in result.stderr
    clinic.sql("UPDATE holds SET starts_on = '2026-12-01'")
    clinic.ok("audit", "verify")
