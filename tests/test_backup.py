"""`db backup PATH`: a consistent, owner-only copy that verifies on its own."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.cli import app

runner = CliRunner()


@pytest.fixture
def sqlite_clinic(tmp_path):  # type: ignore[no-untyped-def]
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    assert (
        runner.invoke(
            app, ["clients", "add", "C-1", "--track", "morning", "--phase", "1"]
        ).exit_code
        == 0
    )
    return tmp_path


def test_backup_is_owner_only_and_verifies(sqlite_clinic) -> None:  # type: ignore[no-untyped-def]
    target = sqlite_clinic / "copies" / "monday.db"
    target.parent.mkdir()
    result = runner.invoke(app, ["db", "backup", str(target)])
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    restored = runner.invoke(app, ["--db", f"sqlite:///{target}", "audit", "verify"])
    assert restored.exit_code == 0
    assert "1 client," in restored.stdout


def test_backup_refuses_to_overwrite(sqlite_clinic) -> None:  # type: ignore[no-untyped-def]
    target = sqlite_clinic / "old.db"
    target.write_bytes(b"keep me")
    result = runner.invoke(app, ["db", "backup", str(target)])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert target.read_bytes() == b"keep me"
    missing = runner.invoke(app, ["db", "backup", str(sqlite_clinic / "nowhere" / "x.db")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


@pytest.mark.postgresql
def test_postgresql_backup_points_to_pg_dump(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import _pg_schema_url

    urls = _pg_schema_url()
    url = next(urls)
    try:
        assert runner.invoke(app, ["--db", url, "init", "--timezone", "UTC"]).exit_code == 0
        result = runner.invoke(app, ["--db", url, "db", "backup", str(tmp_path / "x.db")])
        assert result.exit_code == 3 and "pg_dump" in result.stderr
    finally:
        urls.close()


# An emptied database beside a witnessed clinic: restored from a backup, never begun anew
# (a new ledger would orphan the one the witness folders vouch for).


def _empty_the_file(folder: Path) -> Path:
    database = folder / "screening.db"
    database.write_bytes(b"")  # `: > screening.db`
    for extra in ("-wal", "-shm"):
        Path(f"{database}{extra}").unlink(missing_ok=True)
    return database


def _witnessed(folder: Path) -> str:
    """What the refusal says the local witness folder holds, from its newest checkpoint."""
    witness = folder / "screening-witness"
    newest = max(p.name for p in witness.glob("screening-*/checkpoints/*.checkpoint"))
    size, made = int(newest[:12]), newest[13:21]
    return (
        f"{witness} holds checkpoints of a ledger of {size:,} "
        f"{'entry' if size == 1 else 'entries'} (the newest {made[:4]}-{made[4:6]}-{made[6:]})"
    )


def _tables(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [name for (name,) in rows]


def test_an_emptied_database_is_restored_not_begun_anew(sqlite_clinic: Path) -> None:
    witnessed = _witnessed(sqlite_clinic)
    database = _empty_the_file(sqlite_clinic)
    restore = (
        f"restore {database} from a backup (a copy `screening db backup` made); starting a "
        "new ledger here would orphan that record\n"
    )

    today = runner.invoke(app, ["today"])
    assert today.exit_code == 3
    assert today.stderr == (
        f"error: the database at sqlite:///{database} has no screening tables, but "
        f"{witnessed}: {restore}"
    )
    upgrade = runner.invoke(app, ["db", "upgrade"])
    assert upgrade.exit_code == 3
    assert upgrade.stdout == ""
    assert upgrade.stderr == (
        f"error: the database at sqlite:///{database} is empty, but {witnessed}: {restore}"
    )
    assert database.stat().st_size == 0 and _tables(database) == []
    backup = runner.invoke(app, ["db", "backup", str(sqlite_clinic / "copy.db")])
    assert backup.exit_code == 3 and "restore" in backup.stderr
    for result in (today, upgrade, backup):
        assert "db upgrade" not in result.stderr and "init" not in result.stderr


def test_an_emptied_ledger_is_not_begun_anew_by_a_write(sqlite_clinic: Path) -> None:
    """Tables kept, every row deleted (or a schema made by an older `db upgrade`): the
    first write would record a new genesis; it is refused, and verify still reports."""
    database = sqlite_clinic / "screening.db"
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER IF EXISTS ledger_no_delete")
        tables = [t for t in _tables(database) if t not in ("alembic_version", "sqlite_sequence")]
        connection.execute("PRAGMA foreign_keys = OFF")
        for table in tables:
            connection.execute(f"DELETE FROM {table}")

    add = runner.invoke(app, ["clients", "add", "C-2", "--track", "morning", "--phase", "1"])

    assert add.exit_code == 3
    assert "holds no ledger entry, but" in add.stderr and "restore" in add.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
    verify = runner.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 1 and "the ledger was emptied" in verify.stderr


def _hand_written(folder: Path, witness: str = "") -> Path:
    from screening.services.site.setup import config_text

    text = config_text("main", "UTC")
    if witness:
        text = text.replace("\nfolders = []\n", f'\nfolders = ["{witness}"]\n', 1)
    (folder / "screening.toml").write_text(text, encoding="utf-8")
    (folder / "screening.db").write_bytes(b"")
    return folder / "screening.db"


def _a_log(folder: Path) -> None:
    checkpoints = folder / "screening-0123456789abcdef" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "000000001234-20261206T120000Z.checkpoint").write_text("note\n")


def test_a_new_clinic_may_still_begin_from_an_empty_database(tmp_path: Path) -> None:
    """A hand-written config and an empty file: `db upgrade` makes the schema, as before;
    another clinic's log in a shared [witness] folder is not this clinic's."""
    _a_log(tmp_path / "auditor")
    database = _hand_written(tmp_path, "auditor")

    upgrade = runner.invoke(app, ["db", "upgrade"])

    assert upgrade.exit_code == 0, upgrade.stderr
    assert "schema upgraded from empty" in upgrade.stderr
    assert "ledger" in _tables(database)


def test_a_log_in_the_local_witness_folder_is_this_clinics(tmp_path: Path) -> None:
    _a_log(tmp_path / "screening-witness")
    database = _hand_written(tmp_path)

    upgrade = runner.invoke(app, ["db", "upgrade"])

    assert upgrade.exit_code == 3
    assert (
        f"{tmp_path / 'screening-witness'} holds checkpoints of a ledger of 1,234 entries "
        "(the newest 2026-12-06): restore" in upgrade.stderr
    )
    assert database.stat().st_size == 0


@pytest.mark.postgresql
def test_an_empty_postgresql_database_is_restored_with_pg_restore(tmp_path: Path) -> None:
    from tests.conftest import _pg_schema_url

    first, second = _pg_schema_url(), _pg_schema_url()
    try:
        url, empty = next(first), next(second)
        assert runner.invoke(app, ["--db", url, "init", "--timezone", "UTC"]).exit_code == 0
        upgrade = runner.invoke(app, ["--db", empty, "db", "upgrade"])
        today = runner.invoke(app, ["--db", empty, "today"])
    finally:
        first.close()
        second.close()

    for result, state in ((upgrade, "is empty"), (today, "has no screening tables")):
        assert result.exit_code == 3
        assert f"{state}, but {tmp_path / 'screening-witness'} holds checkpoints" in result.stderr
        assert "restore the database from its backup (pg_dump's, with pg_restore)" in (
            result.stderr
        )
