"""How the command line is read and shown, for every command at once: global options
before or after the command, one-line usage errors, and help with plain metavars, `-h`
and an example per command (examples.py).

The root group is built by Typer from the app (`typer.main.get_command`); as it is built
(ScreeningGroup.__init__), one pass over the click command tree it holds sets what the
commands' own declarations leave to Typer's defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
import typer.core

# Typer (0.29 on) vendors click as typer._click: the usage errors' classes are only there.
from typer import _click

from screening.cli.examples import EXAMPLES

HELP_OPTIONS = ["-h", "--help"]

# Metavars for values, by option name, where the type alone says too little (every
# value is a str to Typer): a date, a person, free text, a list of analytes.
_METAVARS = {
    "DATE": ("--admitted", "--date", "--from", "--to", "--on", "--late"),
    "TIME": ("--collected-at",),
    "NAME": ("--actor", "--approved-by", "--collector", "--name", "--site"),
    "TEXT": ("--reason", "--note", "--observed-reason", "--override-reason"),
    "ANALYTES": ("--positive", "--negative", "--inconclusive", "--not-tested"),
    "MEDICATIONS": ("--meds",),
    "CODE": ("--client",),
    "URL": ("--db",),
    "ZONE": ("--timezone",),
    "VALUE": ("--creatinine", "--sg", "--ph"),
    "ID": ("--specimen-id", "--lab-report"),
}
_METAVAR_OF = {name: metavar for metavar, names in _METAVARS.items() for name in names}


class ScreeningArgument(typer.core.TyperArgument):
    """An argument shown as click shows one: `CODE` or `[DAY]`, not `{code}` and
    `code <str>`."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _metavar(parameter: Any) -> str | None:
    """What stands for the value in help: a word for what is typed, never `<str>`."""
    descriptor = getattr(parameter, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in descriptor.choices) + "]"
    if parameter.param_type_name == "argument":
        name = parameter.name.upper()
        return name[:-1] if parameter.nargs != 1 and name.endswith("S") else name
    if parameter.opts[0] in _METAVAR_OF:
        return _METAVAR_OF[parameter.opts[0]]
    annotation = getattr(descriptor, "annotation", str)
    if descriptor is not None and descriptor.is_path:
        return "FILE"
    if annotation is int:
        return "N"
    return str(parameter.opts[0].lstrip("-").replace("-", "_").upper())


def _examples_epilog(path: tuple[str, ...]) -> str | None:
    lines = EXAMPLES.get(path)
    if not lines:
        return None
    # "\b" keeps click from re-wrapping the paragraph that follows it.
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree with its path below `screening`, the root first."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def _finish(root: Any) -> None:
    for path, command in walk(root):
        # Plain click help: no boxes, and no rich markup to eat "[schedule]" in a text.
        command.rich_markup_mode = None
        command.epilog = command.epilog or _examples_epilog(path)
        for parameter in command.params:
            if parameter.param_type_name == "argument":
                parameter.__class__ = ScreeningArgument
            elif getattr(parameter, "is_flag", False) or getattr(parameter, "count", False):
                continue
            if parameter.metavar is None:
                parameter.metavar = _metavar(parameter)


def hoist_globals(root: Any, args: list[str]) -> list[str]:
    """``args`` with the root's options that come after the command moved in front of it,
    so that `screening select --config X` reads as `screening --config X select`.

    Only a word in an option's place moves: a word that is the value of the command's
    own option (`--reason --debug`) stays that value, and so does anything after `--`.
    An option of the command's own by the same name stays the command's."""
    globals_ = {
        opt: not parameter.is_flag
        for parameter in root.params
        if parameter.param_type_name == "option" and not parameter.is_eager
        for opt in parameter.opts
    }
    kept: list[str] = []
    moved: list[str] = []
    command, at = root, 0  # the command reached, and where the root's own words end
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":  # noqa: S105  (the end of options, not a password)
            kept.extend(args[index:])
            break
        name, equals, _ = token.partition("=")
        own = _value_option(command, name) if token.startswith("-") else None
        if own is not None:
            takes_value = own and not equals
            kept.extend(args[index : index + 1 + takes_value])
            index += 1 + takes_value
            continue
        if command is not root and name in globals_:
            takes_value = globals_[name] and not equals
            if takes_value and index + 1 == len(args):
                raise _click.exceptions.BadOptionUsage(name, f"option {name} needs a value")
            moved.extend(args[index : index + 1 + takes_value])
            index += 1 + takes_value
            continue
        if not token.startswith("-") and hasattr(command, "commands"):
            sub = command.commands.get(token)
            if sub is None:
                kept.extend(args[index:])  # click says there is no such command
                break
            if command is root:
                at = len(kept)
            command = sub
        kept.append(token)
        index += 1
    return [*kept[:at], *moved, *kept[at:]] if moved else kept


def _value_option(command: Any, name: str) -> bool | None:
    """Whether ``name`` is an option of ``command`` taking a value; None if not its option."""
    for parameter in command.params:
        if parameter.param_type_name == "option" and name in (
            *parameter.opts,
            *parameter.secondary_opts,
        ):
            return not (parameter.is_flag or parameter.count)
    return None


def one_line(problem: Any) -> str:
    """A usage error as one line: what is wrong, for which command, and where help is."""
    hint = ""
    if isinstance(problem, _click.exceptions.NoSuchOption):
        text = f"no such option {problem.option_name}"
        if problem.possibilities:
            hint = f"did you mean {' or '.join(sorted(problem.possibilities))}? "
    else:
        # Typer's enum check words itself as pydantic would ("Value error, 'pdf' is ...").
        text = " ".join(problem.format_message().replace("Value error, ", "").split())
        text, _, suggestion = text.partition(". Did you mean ")
        text = text[:1].lower() + text[1:].rstrip(".")
        if suggestion:
            hint = f"did you mean {suggestion.rstrip('?')}? "
    if problem.ctx is None:
        return text
    where = problem.ctx.command_path
    return f"{text} for '{where}' ({hint}try '{where} {HELP_OPTIONS[0]}')"


class ScreeningGroup(typer.core.TyperGroup):
    """The root `screening` group: builds the help of the whole tree once, moves global
    options in front of the command, and says a usage error in one line (exit 2)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _finish(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_globals(self, args))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except _click.exceptions.UsageError as problem:
            raise _said(problem) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _click.exceptions.UsageError as problem:
            raise _said(problem) from None


def _said(problem: Any) -> BaseException:
    if isinstance(problem, _click.exceptions.NoArgsIsHelpError):
        return problem  # the help itself, as click shows it
    from screening.render.output import error

    error(one_line(problem))
    return typer.Exit(2)
