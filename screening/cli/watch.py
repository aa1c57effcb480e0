"""`results watch [DIR]`: the lab's drop folder, each new file imported once and moved
to done/ or refused/ (services/results/drop_folder.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import handle_errors, open_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from screening.services.plumbing import Context

    Contexts = Callable[[], Context]


@handle_errors
def watch(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR",
            help="The drop folder (else [labs] drop_folder of the config).",
            show_default=False,
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Sweep once and exit: 0 when no file was refused, 2 when one was.",
        ),
    ] = False,
    every: Annotated[
        int,
        typer.Option("--every", metavar="SECONDS", min=5, max=3600, help="Seconds between sweeps."),
    ] = 30,
    ack_dir: Annotated[
        Path | None,
        typer.Option(
            "--ack-dir",
            metavar="DIR",
            help="Where an HL7 ACK for each message goes (else [labs] ack_folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Import each file the lab drops into the folder, once: then moved to done/, or,
    refused, to refused/ with NAME.reason.txt beside it saying why. One line per file.
    A file that cannot be imported now (the database away) stays for the next sweep.
    Labs should write a file under a temporary name (.name, *.tmp, *.part) and rename it
    when complete; a file modified in the last 2 seconds waits for the next sweep. Runs
    until stopped (SIGTERM or Ctrl-C, after the file under way), or once with --once."""
    from screening.errors import BadInput

    if folder is not None and not folder.is_dir():
        raise BadInput(f"{folder} is not a folder; give the lab's drop folder")
    first = open_context(ctx)
    labs = first.settings.labs
    if folder is None:
        folder = labs.folder(labs.drop_folder, first.settings.folder)
        if folder is None:
            raise BadInput("no drop folder: give DIR or set [labs] drop_folder in the config")
        if not folder.is_dir():
            raise BadInput(
                f"{folder} ([labs] drop_folder) is not a folder; create it or correct the config"
            )
    if ack_dir is None:
        ack_dir = labs.folder(labs.ack_folder, first.settings.folder)
    contexts = _contexts(first)
    if once:
        if _sweep_and_say(contexts, folder, ack_dir, lambda: False):
            raise typer.Exit(2)
        return
    _keep_watching(contexts, folder, ack_dir, every)


def _contexts(first: Context) -> Contexts:
    """A context for each file: the clock read anew, and the role checked again (one
    revoked while the watch runs stops its imports)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from screening.services.access import require_role

    def contexts() -> Context:
        now = datetime.now(UTC)
        roles = require_role(first.database, first.actor, first.settings.site.name, first.command)
        return replace(
            first,
            roles=frozenset(roles),
            now=now,
            today=now.astimezone(first.settings.zone).date(),
        )

    return contexts


def _sweep_and_say(
    contexts: Contexts, folder: Path, ack_dir: Path | None, stopping: Callable[[], bool]
) -> bool:
    """One sweep, a line per file on stdout as the sweep ends; whether one was refused."""
    from screening.services.results import sweep

    swept = sweep(contexts, folder, ack_dir, stopping)
    for done in swept:
        print(done.line(), flush=True)
    return any(done.outcome == "refused" for done in swept)


def _keep_watching(contexts: Contexts, folder: Path, ack_dir: Path | None, every: int) -> None:
    """Sweep every ``every`` seconds until SIGTERM or SIGINT: the file under way is
    finished first (a second Ctrl-C interrupts it: its transaction is rolled back and the
    file stays)."""
    import signal
    import threading

    from screening.errors import ScreeningError
    from screening.render.output import error

    stop = threading.Event()

    def stopping(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    while not stop.is_set():
        try:
            _sweep_and_say(contexts, folder, ack_dir, stop.is_set)
        except ScreeningError as problem:  # the folder gone, its lock unreadable: said, and
            error(problem.message)  # tried again at the next sweep
        stop.wait(every)


def register(app: typer.Typer) -> None:
    """Under `results`, after the commands cli/results.py registers."""
    results_app = next(
        group.typer_instance for group in app.registered_groups if group.name == "results"
    )
    assert results_app is not None
    results_app.command("watch")(watch)
