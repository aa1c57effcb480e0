"""The `screening` command line (DESIGN §7)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from screening import __version__
from screening.cli import (
    access,
    audit,
    clients,
    consent,
    demo,
    draws,
    progress,
    results,
    schedule,
    setup,
    site,
    watch,
)
from screening.cli.common import (
    SIGPIPE_STATUS,
    Globals,
    flush_stdout,
    set_globals,
    setup_logging,
)
from screening.cli.grammar import HELP_OPTIONS, ScreeningGroup
from screening.cli.pruned import narrowed


class _Screening(typer.Typer):
    """The console script: as Typer runs it, with stdout flushed before exit so that a
    reader gone away (`screening audit verify | head -1`) ends it quietly."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        given = kwargs.get("args", args[0] if args else None)
        argv = list(given) if isinstance(given, (list, tuple)) else sys.argv[1:]
        try:
            return typer.Typer.__call__(narrowed(self, argv), *args, **kwargs)
        except SystemExit as done:
            code = done.code
            if code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
                # click met the closed pipe first (in an echo) and ended with 1, stdout
                # wrapped so that it cannot raise again: the same broken pipe.
                code = SIGPIPE_STATUS
            raise SystemExit(flush_stdout(code)) from None


app = _Screening(
    name="screening",
    help=(
        "Random, unannounced drug screening for intensive outpatient programs.\n\n"
        "The global options (--config, --db, --actor, --debug) may come before the "
        "command or after it (`screening select --config X`); after it, a word that is "
        "the value of the command's own option stays that value (`--reason --debug`), as "
        "does everything after `--`."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    cls=ScreeningGroup,
    context_settings={"help_option_names": HELP_OPTIONS},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"screening {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file (else $SCREENING_CONFIG, ./screening.toml, the user config dir).",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="SCREENING_DATABASE_URL",
            help="Database URL, overriding the config (sqlite:///... or postgresql+psycopg://...).",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            envvar="SCREENING_ACTOR",
            help="The person at a shared workstation; recorded beside the OS user.",
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show tracebacks (without local variables) on unexpected errors.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Random, unannounced drug screening for intensive outpatient programs."""
    typed = ctx.get_parameter_source("db")
    ctx.obj = Globals(
        config=config,
        db=db,
        actor=actor,
        debug=debug,
        db_typed=typed is not None and typed.name == "COMMANDLINE",
    )
    set_globals(ctx.obj)
    setup_logging()


setup.register(app)
clients.register(app)
consent.register(app)
draws.register(app)
results.register(app)
watch.register(app)
progress.register(app)
audit.register(app)
schedule.register(app)
site.register(app)
demo.register(app)
access.register(app)
