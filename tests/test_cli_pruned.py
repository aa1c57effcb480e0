"""A command line that names a command builds that branch of the tree alone
(cli/pruned.py): what the user sees must be what the whole tree gives."""

from __future__ import annotations

import pytest
import typer.main

from screening.cli import app
from screening.cli.grammar import walk
from screening.cli.pruned import command_path, narrowed

FULL = typer.main.get_command(app)
PATHS = [list(path) for path, _ in walk(FULL) if path]


def _said(run, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str, object]:
    try:
        code = run(args)
    except SystemExit as done:
        code = done.code
    except Exception as raised:  # noqa: BLE001 (click's usage errors, without standalone mode)
        code = f"{type(raised).__name__}: {raised}"
    out, err = capsys.readouterr()
    return out, err, code


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_of_every_command_is_the_same_as_from_the_whole_tree(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _said(
        lambda args: FULL.main(args, prog_name="screening", standalone_mode=False),
        [*path, "--help"],
        capsys,
    )
    built = _said(
        lambda args: app(args, prog_name="screening", standalone_mode=False),
        [*path, "--help"],
        capsys,
    )
    assert whole[0].startswith("Usage: screening " + " ".join(path))
    assert built == whole


def test_a_command_builds_its_branch_alone() -> None:
    root = typer.main.get_command(narrowed(app, ["--config", "x.toml", "clients", "list"]))
    assert list(root.commands) == ["clients"]
    assert list(root.commands["clients"].commands) == ["list"]
    top = typer.main.get_command(narrowed(app, ["select", "--reason", "r"]))
    assert list(top.commands) == ["select"]


@pytest.mark.parametrize(
    ("argv", "path"),
    [
        (["clients", "list"], ["clients", "list"]),
        (["--config", "a.toml", "--db=sqlite:///x", "clients", "list"], ["clients", "list"]),
        (["--debug", "select", "--late", "2026-01-05"], ["select"]),
        (["clients", "--help"], ["clients"]),
        (["--help"], []),
        (["--version"], []),
        ([], []),
    ],
)
def test_the_words_that_name_the_command(argv: list[str], path: list[str]) -> None:
    assert command_path(FULL, argv) == path


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["clietns", "list"], ["clients", "lsit"], ["clients"], []],
    ids=["root help", "no such group", "no such command", "a group alone", "nothing"],
)
def test_what_names_no_command_is_told_as_by_the_whole_tree(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _said(
        lambda args: FULL.main(args, prog_name="screening", standalone_mode=False), argv, capsys
    )
    built = _said(
        lambda args: app(args, prog_name="screening", standalone_mode=False), argv, capsys
    )
    assert built == whole
    assert whole[0] or whole[1] or whole[2]  # the help, or what is wrong
