"""Build only the command that runs.

Before it runs anything, Typer builds the click command of every command of the tree
(about sixty), reading each function's signature and type hints: a tenth of a second
of every start (docs/benchmarks.md, "clients list"). A command line that names a command
(and, in a group, one of its commands) has the tree built with that branch alone: the
same root, the same options, the same help for it. Anything else (no command, a word
that is no command, `screening --help`) builds the whole tree as before, so that help
lists every command and a mistyped one is told what there is.
"""

from __future__ import annotations

import copy
from typing import Any

import typer
import typer.main


def command_path(root: Any, argv: list[str]) -> list[str]:
    """The words of ``argv`` that name a command, up to two (`clients list`), skipping
    the root's options and their values; empty when an option comes first that is not
    the root's."""
    takes_value = {
        opt: not parameter.is_flag
        for parameter in root.params
        if parameter.param_type_name == "option"
        for opt in parameter.opts
    }
    words: list[str] = []
    index = 0
    while index < len(argv) and len(words) < 2:
        token = argv[index]
        if token.startswith("-"):
            name, equals, _ = token.partition("=")
            if words or name not in takes_value:
                break  # the command's own options, or help: the path ends here
            index += 1 + (takes_value[name] and not equals)
            continue
        words.append(token)
        index += 1
    return words


def _named(info: Any) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__)


def _group_name(info: Any) -> str | None:
    return info.name or info.typer_instance.info.name


def narrowed(app: typer.Typer, argv: list[str]) -> typer.Typer:
    """``app`` with only the branch ``argv`` names, or ``app`` itself."""
    bare = copy.copy(app)
    bare.registered_commands, bare.registered_groups = [], []
    path = command_path(typer.main.get_command(bare), argv)
    if not path:
        return app
    commands = [info for info in app.registered_commands if _named(info) == path[0]]
    groups = [info for info in app.registered_groups if _group_name(info) == path[0]]
    if not commands and not groups:
        return app
    bare.registered_commands = commands
    bare.registered_groups = [_only(info, path[1:]) for info in groups]
    return bare


def _only(group: Any, rest: list[str]) -> Any:
    """A group's info with only the command ``rest`` names, if it names one of it."""
    inner = group.typer_instance
    if not rest or inner.registered_groups:
        return group
    commands = [info for info in inner.registered_commands if _named(info) == rest[0]]
    if not commands:
        return group
    only = copy.copy(inner)
    only.registered_commands = commands
    info = copy.copy(group)
    info.typer_instance = only
    return info
