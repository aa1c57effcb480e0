"""What every command shares: global options, the error boundary, the context.

Only typer (and the standard library) is imported at module top; the services, and
with them SQLAlchemy, load inside the commands that need them (STYLE §6).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from screening.errors import RowErrors, ScreeningError

if TYPE_CHECKING:
    from screening.services.plumbing import Context

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MAX_PROBLEMS_SHOWN = 50


@dataclass
class Globals:
    config: Path | None = None
    db: str | None = None
    actor: str | None = None
    debug: bool = False
    # --db was typed (not taken from $SCREENING_DATABASE_URL): `init` records it.
    db_typed: bool = False


# The global options of the invocation under way; the error boundary reads --debug here.
_current = Globals()


def set_globals(options: Globals) -> None:
    global _current
    _current = options


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def _debugging() -> bool:
    return _current.debug or os.environ.get("SCREENING_DEBUG", "") not in ("", "0")


def _database_message(error: BaseException) -> tuple[int, str]:
    """A one-line, patient-data-free description of a database failure.

    SQLAlchemy's own message includes the statement's parameters, which can hold
    names: only the driver's first line is shown.
    """
    orig = getattr(error, "orig", None)
    reason = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    name = type(error).__name__
    schema_words = ("no such column", "no such table", "does not exist", "undefined")
    if name in ("OperationalError", "ProgrammingError") and any(
        word in reason.lower() for word in schema_words
    ):
        return 3, f"the database does not match this version ({reason}); run `screening db upgrade`"
    if name in ("OperationalError", "InterfaceError"):
        return 3, f"the database could not be used ({reason or name}); check that it is reachable"
    if name == "DataError":
        return 2, f"a value does not fit the database ({reason or name}); check what was typed"
    if name == "IntegrityError":
        return 2, (
            "another write changed the same records at the same moment; run the command again"
        )
    return 1, f"database error {name}: {reason}; run again with --debug for details"


# A reader that stopped reading (`audit verify | head -1`) ends the command the way it
# ends a Unix tool, with the status of SIGPIPE and nothing on stderr.
SIGPIPE_STATUS = 141


def quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush, on the way out,
    does not raise BrokenPipeError again into a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # a stdout without a descriptor (a test's buffer): nothing to flush later


def flush_stdout(status: Any) -> Any:
    """The exit status after the last flush of stdout: what was still buffered meets a
    closed pipe only here, when the command itself has returned."""
    if sys.stdout is None:  # started with stdout closed (`>&-`): nothing to flush
        return status
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
        return SIGPIPE_STATUS if status in (0, None) else status
    except (OSError, ValueError):
        pass
    return status


def _not_utf8(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The option or argument whose text holds bytes that are not UTF-8 (Python hands
    them over as lone surrogates), for a one-line refusal before any work. Paths are
    left alone: a file name may be any bytes."""
    given = [*args, *kwargs.values()]
    # Typer hands commands click's own Context, of which typer.Context is a subclass
    # (typer vendors click, privately: the class is reached through typer.Context).
    click_context: type[Any] = typer.Context.__mro__[1]
    context = next((v for v in given if isinstance(v, click_context)), None)
    names = {p.name: p for p in context.command.params} if context is not None else {}
    for name, value in kwargs.items():
        if not isinstance(value, str) or readable_text(value) == value:
            continue
        parameter = names.get(name)
        if parameter is None:
            return name
        if parameter.param_type_name == "argument":
            return (getattr(parameter, "metavar", None) or parameter.name).upper()
        return parameter.opts[0]
    return None


def _os_message(problem: OSError) -> tuple[int, str]:
    """A failure of the operating system under a command (a path too long, a file that
    cannot be read) in one line: exit 2 when what the user typed cannot work, else 3."""
    import errno

    from screening.services.plumbing import shown

    where = f" ({shown(problem.filename)})" if problem.filename is not None else ""
    reason = problem.strerror or type(problem).__name__
    if problem.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR):
        return 2, f"a path given cannot be used{where}: {reason}; check what was typed"
    return 3, f"the system refused a file operation{where}: {reason}"


def handle_errors(command: F) -> F:
    """Turn service errors into one stderr line and an exit code (DESIGN §7, STYLE §3)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from screening.render.output import error, message

        try:
            garbled = _not_utf8(args, kwargs)
            if garbled is not None:
                error(
                    f"{garbled} is not valid UTF-8 text (check the terminal's or file's "
                    "encoding); type it again"
                )
                raise typer.Exit(2)
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:
            quiet_broken_pipe()
            raise typer.Exit(SIGPIPE_STATUS) from None
        except ScreeningError as problem:
            if isinstance(problem, RowErrors):
                for line in problem.problems[:MAX_PROBLEMS_SHOWN]:
                    message(line)
                hidden = len(problem.problems) - MAX_PROBLEMS_SHOWN
                if hidden > 0:
                    message(f"... and {hidden} more")
            error(problem.message)
            raise typer.Exit(problem.exit_code) from None
        except OverflowError:
            error("a number given is too large; check the id or value typed")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            error("interrupted; nothing was written by the unfinished step")
            raise typer.Exit(130) from None
        except Exception as unexpected:
            if _debugging():
                raise
            if type(unexpected).__module__.startswith("sqlalchemy"):
                code, text = _database_message(unexpected)
            elif isinstance(unexpected, OSError):
                code, text = _os_message(unexpected)
            elif isinstance(unexpected, UnicodeError):
                code, text = (
                    2,
                    "text given (or read from a file) is not valid UTF-8; check the "
                    "terminal's or file's encoding",
                )
            else:
                code, text = (
                    1,
                    (
                        f"internal error ({type(unexpected).__name__}); "
                        "run again with --debug for details"
                    ),
                )
            error(text)
            raise typer.Exit(code) from None

    # The wrapper keeps the command's signature (functools.wraps), which Typer reads; mypy
    # cannot see that it is the same callable type F.
    return wrapper  # type: ignore[return-value]


class _StderrHandler(logging.Handler):
    """Log lines to whatever sys.stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def setup_logging() -> None:
    logger = logging.getLogger("screening")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        logger.addHandler(_StderrHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def os_user() -> str:
    """The login name, recorded with every write and the user whose roles count on
    SQLite. A name that is not valid UTF-8 (bytes
    the system decoded with surrogate escapes) is recorded with those bytes written as
    \\xNN, so that it can be stored and hashed like any other text."""
    import pwd

    # The login the process runs as, from the system's own records: not $USER or
    # $LOGNAME, which anyone can set (roles are granted to this name: core/access.py).
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, OSError):
        return f"uid:{os.geteuid()}"
    return readable_text(name)


def readable_text(text: str) -> str:
    """``text`` as valid Unicode: undecodable bytes (lone surrogates) become \\xNN."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")
    return text


def command_name(ctx: typer.Context) -> str:
    """The command as core/access.py names it: "results record", "today"."""
    names: list[str] = []
    current: Any = ctx
    while current is not None and current.parent is not None:
        names.append(current.info_name or "")
        current = current.parent
    return " ".join(reversed(names))


def config_path(ctx: typer.Context) -> Path:
    from screening.config import discover

    return discover(globals_of(ctx).config)


def open_context(ctx: typer.Context, check_zone: bool = True) -> Context:
    """Config, database (schema checked), actor and the clock, read once per command.

    The config's site must be one the database holds, with the time zone it keeps
    (services/records/sites.py); "today" is the date in the zone in force now."""
    from datetime import UTC, datetime

    from screening import config
    from screening.core import validate
    from screening.db.engine import Database, resolve_url
    from screening.errors import BadInput
    from screening.services.access import login_of, require_role
    from screening.services.plumbing import Actor, Context
    from screening.services.records import settle
    from screening.services.site import require_schema

    options = globals_of(ctx)
    if options.actor is not None:
        try:
            options.actor = validate.staff_name(options.actor, "--actor")
        except validate.Invalid as error:
            raise BadInput(str(error)) from None
    settings = config.load(config_path(ctx))
    database = Database(
        resolve_url(options.db or settings.database_url, settings.folder),
        settings.database_group,
    )
    ctx.call_on_close(database.dispose)
    require_schema(database, settings)
    warn_if_exposed(database)
    now = datetime.now(UTC)
    actor = Actor(os_user(), options.actor, login_of(database))
    # Before any work, and before the upkeep below writes anything (core/access.py).
    command = command_name(ctx)
    roles = require_role(database, actor, settings.site.name, command)
    settings, notices = settle(database, settings, actor, now, check_zone=check_zone)
    if notices:
        from screening.render.output import message

        for notice in notices:
            message(notice)
        # The site was recorded just now (a database whose site rows were missing): its
        # roles are checked again, so that nothing runs without one.
        roles = require_role(database, actor, settings.site.name, command)
    return Context(
        settings=settings,
        database=database,
        actor=actor,
        now=now,
        today=now.astimezone(settings.zone).date(),
        roles=frozenset(roles),
        command=command,
    )


def warn_if_exposed(database: Any) -> None:
    """Once per command: a database file other users can read (engine.Database.exposure)."""
    exposure = database.exposure()
    if exposure is not None:
        from screening.render.output import warning

        warning(exposure)
