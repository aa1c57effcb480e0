"""`screening demo [DIR]`: a sample clinic to try every command on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from screening.cli.common import globals_of, handle_errors, os_user


@handle_errors
def demo(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="A new or empty folder for the sample clinic."),
    ] = Path("screening-demo"),
) -> None:
    """Make a sample clinic: synthetic clients and two months of draws and results.

    All of it is made through the code the commands use, with real draws on the
    demo's own key, so `audit verify` passes on it. It ends with five commands to
    try in that folder (default: screening-demo, which must be new or empty)."""
    import os
    from datetime import UTC, datetime

    from screening.errors import BadInput
    from screening.render.output import warning
    from screening.services.demo import make_demo

    options = globals_of(ctx)
    if options.db is not None:
        raise BadInput(
            "the demo is a SQLite clinic in its own folder and never writes to another "
            "database; leave out --db and unset SCREENING_DATABASE_URL"
        )
    made = make_demo(folder, os_user(), datetime.now(UTC))
    if options.config is not None or os.environ.get("SCREENING_CONFIG"):
        warning(
            "SCREENING_CONFIG (or --config) names another clinic's config; in the demo's "
            "folder the commands below refuse to choose between the two: unset it (or pass "
            "--config screening.toml)"
        )
    counts = made.counts
    print(
        f"Sample clinic in {made.folder}: site 'demo' (America/New_York), "
        f"{counts.get('clients', 0)} synthetic clients, {made.first_day} to {made.today}: "
        f"{counts.get('draws', 0)} daily draws, {counts.get('collections', 0)} specimens, "
        "a dilute one and its observed recollection, lab confirmations, no-shows, a hold, "
        f"a closure, {counts.get('consents', 0)} consents to disclose and "
        f"{counts.get('letters', 0)} monthly letters to a drug court."
    )
    print("Its keys and names are for trying things only. Try, in that folder:")
    print(f"  cd {folder}")
    width = max(len(command) for command, _ in made.commands)
    for command, what in made.commands:
        print(f"  {command:<{width}}  # {what}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
