"""`audit verify`'s second process (audit/second.py) reads the screening, result and
version rows exactly as the first would, names a tampered row by the same entry, and
leaves the rows to the first when the ledger has moved on since the first began."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from screening import config
from screening.db.engine import Database, resolve_url
from screening.services.audit import walk
from screening.services.audit.row_states import ROW_STREAMS
from screening.services.audit.second import SecondProcess
from screening.services.audit.unread import Unread
from screening.services.plumbing.context import Actor, Context

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("second") / "clinic"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), str(folder)]
        + ["--clients", "20", "--days", "30"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return folder


def _context(folder: Path) -> Context:
    settings = config.load(folder / "screening.toml")
    now = datetime.now(UTC)
    database = Database(resolve_url(settings.database_url, settings.folder))
    return Context(settings, database, Actor("auditor"), now, now.date())


def _inline(name: str) -> Any:
    def never() -> Any:
        raise AssertionError(f"the first process read the {name} rows itself")

    return never


def test_the_second_process_reads_every_stream_as_the_first_would(generated: Path) -> None:
    ctx = _context(generated)
    with ctx.database.read() as session:
        unread = Unread(session)
        here = {name: list(produce(session, unread)) for name, produce in ROW_STREAMS.items()}
        assert all(here.values())
        with SecondProcess(ctx.database, session, ROW_STREAMS) as second:
            for name in ROW_STREAMS:
                assert list(second.rows(name, _inline(name))) == here[name]


def test_rows_are_read_here_when_the_ledger_moved_on(generated: Path, tmp_path: Path) -> None:
    copy = tmp_path / "clinic"
    subprocess.run(["cp", "-r", str(generated), str(copy)], check=True)
    ctx = _context(copy)
    with ctx.database.read() as session:
        unread = Unread(session)
        expected = list(ROW_STREAMS["versions"](session, unread))
        # Another connection appends a row to the ledger after this transaction began: the
        # second process, whose transaction begins later, would read another state.
        with sqlite3.connect(copy / "screening.db") as other:
            cursor = other.execute("SELECT * FROM ledger ORDER BY seq DESC LIMIT 1")
            row = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
            row.update(seq=row["seq"] + 1, hash="f" * 64)
            marks = ", ".join("?" * len(row))
            other.execute(f"INSERT INTO ledger VALUES ({marks})", tuple(row.values()))
        read_here = []
        with SecondProcess(ctx.database, session, ROW_STREAMS) as second:

            def here() -> Any:
                read_here.append(True)
                return ROW_STREAMS["versions"](session, unread)

            assert list(second.rows("versions", here)) == expected
        assert read_here == [True]


@pytest.mark.parametrize("second", [True, False])
def test_a_tampered_analyte_is_named_by_its_version_entry_either_way(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: bool
) -> None:
    copy = tmp_path / "clinic"
    subprocess.run(["cp", "-r", str(generated), str(copy)], check=True)
    with sqlite3.connect(copy / "screening.db") as connection:
        version_id, seq = connection.execute(
            "SELECT id, seq FROM result_versions ORDER BY seq DESC LIMIT 1 OFFSET 3"
        ).fetchone()
        connection.execute(
            "UPDATE analyte_results SET outcome = 'positive' WHERE version_id = ? AND code = "
            "(SELECT min(code) FROM analyte_results WHERE version_id = ?)",
            (version_id, version_id),
        )
    if not second:
        monkeypatch.setattr("multiprocessing.get_all_start_methods", lambda: ["spawn"])
    report = walk.verify(_context(copy))
    assert report.problem_seq == seq
    assert report.problem == (
        f"entry {seq} (result version): the database row differs from the ledger in content"
    )


def test_a_second_process_that_meets_the_database_failing_ends_quietly_and_the_first_reads(
    generated: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The database going away (or a lock it would wait for) is not a row's problem: the
    second process ends without a traceback on the user's terminal, and the first one
    reads the rows itself."""
    import sqlalchemy as sa

    def failing(session: Any, unread: Unread) -> Any:
        raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))
        yield  # a generator, as the real producers are

    ctx = _context(generated)
    with ctx.database.read() as session:
        unread = Unread(session)
        expected = list(ROW_STREAMS["versions"](session, unread))
        capfd.readouterr()
        with SecondProcess(ctx.database, session, {"versions": failing}) as second:
            read = list(second.rows("versions", lambda: ROW_STREAMS["versions"](session, unread)))
    assert read == expected
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_the_spilled_rows_have_no_name_another_process_could_replace(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ctx = _context(generated)
    with (
        ctx.database.read() as session,
        SecondProcess(ctx.database, session, ROW_STREAMS) as second,
    ):
        rows = list(second.rows("versions", _inline("versions")))
        assert rows
        assert list(tmp_path.iterdir()) == []
