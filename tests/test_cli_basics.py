"""The command line itself: version, help, fast start, errors at the boundary."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from screening import __version__
from screening.cli import app
from tests.conftest import ME, Clinic

runner = CliRunner()


def test_version_prints_the_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"screening {__version__}"


def test_python_dash_m_runs_the_same_app() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "screening", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"screening {__version__}"


def test_help_and_version_do_not_import_the_database_stack() -> None:
    """`screening --help` must not pay ~0.5 s for SQLModel (DESIGN §2, STYLE §6)."""
    probe = (
        "import sys, json\n"
        "import screening.cli\n"
        "from typer.testing import CliRunner\n"
        "CliRunner().invoke(screening.cli.app, ['--help'])\n"
        "CliRunner().invoke(screening.cli.app, ['--version'])\n"
        "heavy = ['sqlmodel', 'sqlalchemy', 'apscheduler', 'alembic', 'scipy', 'jinja2']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_config_check_does_not_import_the_database_stack(tmp_path) -> None:
    runner.invoke(app, ["init", "--timezone", "Europe/London"])
    probe = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "import screening.cli\n"
        "result = CliRunner().invoke(screening.cli.app, ['config', 'check'])\n"
        "assert result.exit_code == 0, result.stderr\n"
        "print(json.dumps([m for m in ('sqlmodel', 'sqlalchemy') if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert json.loads(done.stdout) == []


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    import typer.main

    command = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, sub in sorted(command.commands.items()):
        path = (*prefix, name)
        if hasattr(sub, "commands"):
            yield from _commands(sub, path)
        else:
            yield path, sub


def test_every_command_has_help_text() -> None:
    missing = [" ".join(path) for path, command in _commands(app) if not command.help]
    assert missing == []


def test_every_option_has_help_text() -> None:
    missing = []
    for path, command in _commands(app):
        for parameter in command.params:
            if parameter.param_type_name == "option" and not getattr(parameter, "help", None):
                missing.append(f"{' '.join(path)} {parameter.opts[0]}")
    assert missing == []


def test_docs_cli_md_is_generated_from_the_app() -> None:
    """docs/cli.md lists every command; regenerate with `python docs/make_cli_md.py`."""
    from pathlib import Path

    from screening.cli.reference import render_cli_md

    committed = (Path(__file__).parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render_cli_md(), "docs/cli.md is stale: run python docs/make_cli_md.py"


def test_no_config_is_an_environment_error_without_traceback() -> None:
    result = runner.invoke(app, ["clients", "list"])
    assert result.exit_code == 3
    assert "cd into the clinic's folder, or pass --config PATH" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_database_is_an_environment_error(tmp_path) -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    (tmp_path / "screening.db").unlink()
    result = runner.invoke(app, ["clients", "list"])
    assert result.exit_code == 3
    assert "no database at" in result.stderr
    assert not (tmp_path / "screening.db").exists(), "an empty database was created"


def test_unreachable_postgresql_is_an_environment_error() -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    result = runner.invoke(
        app, ["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "clients", "list"]
    )
    assert result.exit_code == 3
    assert (
        "cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_bad_database_url_is_bad_input() -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    result = runner.invoke(app, ["--db", "mysql://x@y/z", "clients", "list"])
    assert result.exit_code == 2
    assert "not supported" in result.stderr


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch) -> None:
    """A bug must not spill a traceback (it could hold patient data) unless asked."""
    from screening.services import clients

    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("Jo Example's record")

    monkeypatch.setattr(clients, "listing", broken)
    result = runner.invoke(app, ["clients", "list"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: internal error (RuntimeError); run again with --debug for details"
    )
    assert "Jo Example" not in result.stdout + result.stderr
    debugged = runner.invoke(app, ["--debug", "clients", "list"])
    assert isinstance(debugged.exception, RuntimeError)


def test_database_errors_hide_the_statement_parameters(monkeypatch) -> None:
    import sqlalchemy.exc

    from screening.services import clients

    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0

    def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlalchemy.exc.OperationalError(
            "INSERT INTO clients (name) VALUES (?)",
            ("Jo Example",),
            Exception("database is locked"),
        )

    monkeypatch.setattr(clients, "listing", locked)
    result = runner.invoke(app, ["clients", "list"])
    assert result.exit_code == 3
    assert "database is locked" in result.stderr
    assert "Jo Example" not in result.stderr and "INSERT" not in result.stderr


def test_a_new_clinic_with_nobody_enrolled_answers_every_reading_command() -> None:
    """The first morning after `init`: nothing to show, and each command says so cleanly."""
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    granted = runner.invoke(app, ["access", "grant", ME, "staff", "clinician", "auditor"])
    assert granted.exit_code == 0, granted.stderr
    for args, expected in (
        (["clients", "list", "--json"], "[]"),
        (["results", "list", "--json"], "[]"),
        (["results", "pending", "--json"], "[]"),
        (["report", "team", "--format", "json"], "[]"),
        (["today", "--json"], "null"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.strip() == expected, args
    for args in (
        ["report", "reconcile"],
        ["audit", "fairness"],
        ["policy", "show"],
        ["audit", "verify"],
        ["select"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
    assert runner.invoke(app, ["audit", "explain", "C-1"]).exit_code == 2


def test_a_variable_naming_another_clinic_writes_nothing_here(clinic: Clinic) -> None:
    """In one clinic's folder, $SCREENING_CONFIG left pointing at another clinic (whose
    client codes overlap) is refused before anything is read or written."""
    clinic.ok(
        "clients", "add", "C-105", "--track", "morning", "--phase", "1", "--admitted", "2026-11-02"
    )
    other = clinic.folder / "other" / "screening.toml"
    other.parent.mkdir()
    other.write_text((clinic.folder / "screening.toml").read_text("utf-8"), encoding="utf-8")

    result = clinic.run(
        "clients", "discharge", "C-105", "--reason", "x", env={"SCREENING_CONFIG": str(other)}
    )

    assert result.exit_code == 3
    assert result.stderr == (
        f"error: two clinics apply here: $SCREENING_CONFIG names {other} and this folder has "
        "./screening.toml; pass --config to choose one, or unset SCREENING_CONFIG\n"
    )
    assert clinic.sql("SELECT discharged_on FROM clients WHERE code = 'C-105'") == [(None,)]
    chosen = clinic.run("--config", "screening.toml", "clients", "discharge", "C-105",
                        "--reason", "x", env={"SCREENING_CONFIG": str(other)})  # fmt: skip
    assert chosen.exit_code == 0, chosen.stderr
