"""The command line as a user types it (issue 16): global options before or after the
command, one-line usage errors, `-h` and help with plain metavars and an example for every
command, and the environment's failures (a damaged database, a missing driver) as exit 3.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from screening.cli import app
from screening.cli.examples import EXAMPLES
from screening.cli.grammar import hoist_globals, walk
from tests.conftest import Clinic, sample_rows, write_csv

runner = CliRunner()
ROOT = typer.main.get_command(app)
COMMANDS = [path for path, command in walk(ROOT)]
LEAVES = [path for path, command in walk(ROOT) if not hasattr(command, "commands")]


# --- global options anywhere ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        (["select", "--config", "c.toml"], ["--config", "c.toml", "select"]),
        (["clients", "list", "--db=sqlite:///x.db"], ["--db=sqlite:///x.db", "clients", "list"]),
        (
            ["--actor", "Ann", "clients", "show", "C-1", "--debug", "--actor", "Bo"],
            ["--actor", "Ann", "--debug", "--actor", "Bo", "clients", "show", "C-1"],
        ),
        # A word that is the value of the command's own option stays its value.
        (
            ["close", "2026-12-25", "--reason", "--debug", "--db", "u"],
            ["--db", "u", "close", "2026-12-25", "--reason", "--debug"],
        ),
        (
            ["results", "refused", "C-1", "--reason=--db"],
            ["results", "refused", "C-1", "--reason=--db"],
        ),
        # After `--` nothing is an option.
        (["clients", "show", "--", "--debug"], ["clients", "show", "--", "--debug"]),
        (["--debug", "today"], ["--debug", "today"]),
    ],
)
def test_global_options_after_the_command_are_read_as_before_it(
    typed: list[str], read: list[str]
) -> None:
    assert hoist_globals(ROOT, typed) == read


def test_commands_answer_the_same_with_global_options_before_or_after(
    clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic.ok("clients", "import", str(write_csv(tmp_path / "clients.csv", sample_rows(6))))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no config here: only --config finds the clinic
    config = ["--config", str(clinic.folder / "screening.toml")]
    for command in (
        ["clients", "list"],
        ["clients", "show", "C-001"],
        ["select"],
        ["results", "pending"],
        ["config", "check"],
        ["policy", "show"],
    ):
        before = clinic.run(*config, *command)
        after = clinic.run(*command, *config)
        assert before.exit_code == 0, (command, before.stderr)
        assert (after.exit_code, after.stdout) == (0, before.stdout), (command, after.stderr)
    # --db after the command, with the config found in the clinic's folder.
    monkeypatch.chdir(clinic.folder)
    listed = runner.invoke(app, ["clients", "list", "--db", clinic.url, "--json"])
    assert listed.exit_code == 0, listed.stderr
    assert "C-006" in listed.stdout


def test_a_value_like_a_global_option_stays_the_commands(clinic: Clinic) -> None:
    closed = clinic.run("close", "2026-12-25", "--reason", "--debug")
    assert closed.exit_code == 0, closed.stderr
    assert clinic.sql("SELECT reason FROM closures") == [("--debug",)]


def test_a_global_option_without_its_value_is_one_line() -> None:
    result = runner.invoke(app, ["select", "--config"])
    assert result.exit_code == 2
    assert result.stderr == "error: option --config needs a value\n"


# --- usage errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["select", "--xyzzy"], "error: no such option --xyzzy for 'screening select' "
         "(try 'screening select -h')"),
        (["select", "--formt"], "error: no such option --formt for 'screening select' "
         "(did you mean --format... try 'screening select -h')"),
        (["today", "--format", "pdf"], "error: invalid value for '--format': 'pdf' is not one "
         "of 'text', 'json', 'csv', 'html' for 'screening today' (try 'screening today -h')"),
        (["clients", "show"], "error: missing argument 'CODE' for 'screening clients show' "
         "(try 'screening clients show -h')"),
        (["clients", "lst"], "error: no such command 'lst' for 'screening clients' "
         "(did you mean 'list'? try 'screening clients -h')"),
        (["schedule", "next", "--count", "many"], "error: invalid value for '--count': "
         "... for 'screening schedule next' (try 'screening schedule next -h')"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_with_where_to_find_help(args: list[str], said: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    start, _, end = said.partition("...")
    assert result.stderr.startswith(start) and result.stderr.endswith(end + "\n")
    assert result.stderr.count("\n") == 1


# --- help ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "screening")
def test_help_with_dash_h_shows_plain_words_and_ends_with_an_example(
    path: tuple[str, ...],
) -> None:
    result = runner.invoke(app, [*path, "-h"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"Usage: {' '.join(('screening', *path))}")
    for typer_default in ("<bool>", "<str>", "<int", "<Path>", "{", "╭"):
        assert typer_default not in text, (path, typer_default)
    if path in LEAVES or path == ():
        assert "Examples:" in text
        assert text.rstrip().splitlines()[-1].strip().startswith("screening ")


def test_help_keeps_square_brackets_that_name_config_sections() -> None:
    result = runner.invoke(app, ["-h"])
    assert "draw at [schedule] run_at" in " ".join(result.stdout.split())


def test_every_command_has_an_example() -> None:
    assert [" ".join(path) for path in LEAVES if not EXAMPLES.get(path)] == []


def _parse(argv: list[str]) -> object:
    """What click makes of ``argv`` up to the command's own context, running nothing."""
    context = ROOT.make_context("screening", list(argv))
    command = ROOT
    while hasattr(command, "commands"):
        words = [*context._protected_args, *context.args]
        name, command, rest = command.resolve_command(context, words)
        context = command.make_context(name, rest, parent=context)
    return command


@pytest.mark.parametrize(
    ("path", "example"),
    [(path, line) for path, lines in EXAMPLES.items() if path in COMMANDS for line in lines],
)
def test_every_example_parses_as_its_command(path: tuple[str, ...], example: str) -> None:
    words = shlex.split(example)
    if ">" in words:  # the shell's redirection
        words = words[: words.index(">")]
    assert words[0] == "screening"
    command = _parse(words[1:])
    assert command is dict(walk(ROOT))[path] or path == ()


# --- the environment -------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_an_environment_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    good = tmp_path / "good.db"
    shutil.copy2(tmp_path / "screening.db", good)
    said = (
        f"error: the database file {tmp_path / 'screening.db'} is not a SQLite database or is "
        "damaged; restore it from a copy made by `screening db backup` (keep the damaged file "
        "for inspection)\n"
    )
    (tmp_path / "screening.db").write_bytes(b"code,name\nC-1,Jo Example\n" * 10)
    result = runner.invoke(app, ["clients", "list"])
    assert (result.exit_code, result.stderr) == (3, said)
    # Cut short, as a copy interrupted half-way leaves it.
    (tmp_path / "screening.db").write_bytes(good.read_bytes()[: good.stat().st_size // 4])
    for command in (["audit", "verify"], ["clients", "list"]):
        result = runner.invoke(app, command)
        assert (result.exit_code, result.stderr) == (3, said), command


def test_postgresql_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra was not installed
    result = runner.invoke(
        app, ["clients", "list", "--db", "postgresql+psycopg://screening@127.0.0.1:1/none"]
    )
    assert result.exit_code == 3
    assert result.stderr == (
        "error: the PostgreSQL driver (psycopg) is not installed; install it with "
        'pip install "screening[postgresql]"\n'
    )
