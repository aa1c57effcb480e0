"""`db backup PATH`: a consistent, owner-only copy that verifies on its own."""

from __future__ import annotations

import stat

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
