"""`init` and `config check` (the `db` commands are in cli/database.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli import database
from screening.cli.common import (
    config_path,
    globals_of,
    handle_errors,
    os_user,
)

config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)


def _local_timezone() -> str | None:
    """The machine's IANA zone name, when $TZ or /etc/localtime says it."""
    named = os.environ.get("TZ", "").lstrip(":").removeprefix("posix/").removeprefix("right/")
    if named and _is_zone(named):
        return named
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    _, marker, name = target.partition("zoneinfo/")
    name = name.removeprefix("posix/").removeprefix("right/")
    return name if marker and _is_zone(name) else None


def _is_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", a folder
        return False
    return True


def _on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _clinic_zone(given: str | None) -> str:
    """The zone --timezone gave, else asked for at a terminal (the machine's offered),
    else refused: a server's zone is often UTC, hours from the clinic's "today"."""
    from screening.errors import BadInput

    machine = _local_timezone()
    if machine is not None and "/" not in machine.removeprefix("Etc/"):
        machine = None  # a server's UTC is no suggestion for a clinic's "today"
    if given is None and not _on_terminal():
        example = machine or "America/New_York"
        raise BadInput(
            "--timezone is required: the clinic's IANA time zone, which decides its "
            f'"today" (e.g. --timezone {example}' + (", this machine's)" if machine else ")")
        )
    zone = (
        given
        if given is not None
        else typer.prompt(
            "The clinic's time zone (IANA name, e.g. America/New_York)",
            default=machine,
            err=True,
        )
    )
    from screening.core.validate import Invalid, clinic_zone

    try:
        return clinic_zone(zone)
    except Invalid as problem:
        raise BadInput(str(problem)) from None


@handle_errors
def init(
    ctx: typer.Context,
    site: Annotated[str, typer.Option("--site", help="The site's short name.")] = "main",
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="The clinic's IANA time zone, e.g. America/New_York (asked for at a "
            "terminal, this machine's offered; required elsewhere).",
        ),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="An OS group whose members share this clinic (SQLite): its files become "
            "group-readable and -writable, the key files group-readable.",
        ),
    ] = None,
) -> None:
    """Set up a clinic here: config, database, key file and the first ledger entries.

    With --db URL the config records the URL, so that the commands after init use that
    database; a password never goes in it (use PGPASSWORD or ~/.pgpass). With --group
    NAME the OS group NAME shares the clinic (SQLite only)."""
    from datetime import UTC, datetime

    from screening.render.output import message
    from screening.services.plumbing import Actor
    from screening.services.site import initialise

    zone = _clinic_zone(timezone)
    options = globals_of(ctx)
    path = options.config or Path.cwd() / "screening.toml"
    result = initialise(
        path,
        site,
        zone,
        options.db,
        Actor(os_user(), options.actor),
        datetime.now(UTC),
        record_url=options.db_typed,
        group=group,
    )
    message(f"Initialised site {site!r} in time zone {zone}.")
    message(f"  config:   {result.config}")
    message(f"  database: {result.database}")
    message(f"  key file: {result.key}")
    witnessing = result.witness_key.exists()
    message(
        f"  witness key: {result.witness_key}"
        if witnessing
        else f"  witness key: none yet at {result.witness_key} (copy the network's, as said above)"
    )
    message(
        f"  anchors committed for {result.periods[0]} to {result.periods[-1]}; "
        f"ledger head {result.head[0]}:{result.head[1]}"
    )
    if result.published is not None and result.published.file is not None:
        message(f"  first checkpoint: {result.published.file}")
    if result.roles_problem:
        from screening.render.output import warning

        warning(f"the server does not enforce the roles yet: {result.roles_problem}")
    message(
        f"{result.admin} is the site's admin (`screening access list`). To draw and record, "
        f"or to read timelines, grant the roles that work needs, to yourself or others: "
        f"screening access grant {result.admin} staff clinician (docs/access.md)"
    )
    message(
        f"Back up {result.key} now, somewhere other than this machine: without it no "
        "further draws can be made. Never put it in the database or share it."
    )
    if witnessing:
        message(
            f"Back up {result.witness_key} as well, but not in the same place as the master "
            "key: it signs the checkpoints the witnesses keep, and whoever holds both could "
            "draw and also vouch for a rewritten record."
        )
    message(
        "Checkpoints go to the screening-witness folder beside the config; add a folder "
        "on another disk or share under [witness] folders so the record is vouched for "
        "from outside this machine."
    )


@config_app.command("check")
@handle_errors
def config_check(ctx: typer.Context) -> None:
    """Validate the config and explain what it sets; exit 2 naming each problem."""
    import re

    from screening import config
    from screening.core.policy import fraction_text
    from screening.render.output import error, warning
    from screening.render.words import plural, word

    path = config_path(ctx)
    raw = config.read_toml(path)
    settings, problems = config.parse(raw, path.absolute())
    if settings is None:
        for problem in problems:
            error(f"{path}: {problem}")
        raise typer.Exit(2)
    url = re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", globals_of(ctx).db or settings.database_url)
    print(f"{path}: valid")
    print(f"site {settings.site.name}, time zone {settings.site.timezone}")
    print(
        f"database {url}; key file {settings.key_file} "
        f"({'present' if settings.key_file.exists() else 'MISSING'})"
    )
    print(
        f"days that count: {settings.policy.days}; collect within "
        f"{settings.policy.collect_within_hours} h"
        + (f"; count mode: {settings.policy.per_day} a day" if settings.policy.per_day else "")
    )
    for name, track in sorted(settings.tracks.items()):
        print(f"track {name}: {', '.join(track.days)}")
    for name, phase in sorted(settings.phases.items()):
        rates = ", ".join(
            f"{track} {fraction_text(config.phase_probability(settings, name, track))}"
            for track in sorted(settings.tracks)
        )
        cap = phase.max_days_between_tests
        print(
            f"phase {name}: daily probability {rates}"
            + (f"; at most {plural(cap, 'day')} between tests" if cap else "")
        )
    for name, panel in sorted(settings.panels.items()):
        print(f"panel {name} ({word(panel.specimen)}): {plural(len(panel.analytes), 'analyte')}")
    vocabulary = settings.vocabulary
    print(
        f"vocabulary {vocabulary.version} (shipped): {len(vocabulary.medications)} "
        f"medications, {len(vocabulary.assays)} assays, {len(vocabulary.analytes)} analytes"
        + (
            f"; the config adds or overrides medications {', '.join(sorted(extended))}"
            if (extended := raw.get("medications") or {})
            else ""
        )
    )
    notify = settings.notify
    channels = [
        *([f"files in {notify.directory}"] if notify.directory else []),
        *([f"command {notify.command[0]}"] if notify.command else []),
        *([f"e-mail via {notify.smtp.host}"] if notify.smtp and notify.smtp.to else []),
    ]
    _witness_lines(settings)
    from datetime import datetime

    for note in config.run_at_notes(settings, datetime.now(settings.zone).date()):
        warning(note)
    from screening.core.validate import Invalid, clinic_zone

    try:
        clinic_zone(settings.site.timezone)
    except Invalid as problem:  # a clinic set up before zones were checked
        warning(f"site.timezone: {problem}; change it with `screening site timezone`")
    print(
        f"daily job at {settings.schedule.run_at} {settings.site.timezone}, upkeep every "
        f"{settings.schedule.upkeep_minutes} min; delivers to "
        + (", ".join(channels) or "nobody (no [notify] channel set)")
    )
    _beacon_line(settings)


def _beacon_line(settings: Any) -> None:
    """What `config check` says of the beacon (docs/beacon.md)."""
    from screening.render.words import plural

    found = settings.beacon
    if not found.enabled:
        print(
            "beacon: none; whoever holds the key file can compute a day's list before its "
            "draw ([beacon] in docs/beacon.md)"
        )
        return
    print(
        f"beacon: {found.kind}, the first round after {settings.schedule.run_at} each day, "
        f"from {plural(len(found.relays), 'relay')}; no valid round within "
        f"{found.wait_minutes} min: "
        + ("draw without it (flagged)" if found.fallback == "draw" else "keep waiting")
        + "; a change takes effect the next local day"
    )


def _witness_lines(settings: Any) -> None:
    """What `config check` says of the witnesses, and a warning when only the local
    folder keeps checkpoints."""
    from screening.render.output import warning

    key = settings.witness_key_file
    print(f"witness key {key} ({'present' if key.exists() else 'MISSING'})")
    witnesses = [
        *(f"folder {folder}" for folder in settings.witness_folders),
        *(f"e-mail {address}" for address in settings.witness.email),
        *(f"command {argv[0]}" for argv in settings.witness.commands),
    ]
    print(
        f"checkpoints go to {', '.join(witnesses)}; verify warns when the newest is over "
        f"{settings.witness.max_age_days} day(s) old"
    )
    for folder in settings.witness_folders[1:]:
        if not folder.is_dir():
            warning(f"witness.folders: {folder} does not exist (yet); create it or mount it")
    if len(witnesses) == 1:
        warning(
            f"the only witness is {settings.witness_folder}, on this machine: add a folder "
            "on another disk or share (or an auditor's e-mail) under [witness], so that "
            "someone who can change this machine cannot also change its checkpoints"
        )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(config_app, name="config")
    app.add_typer(database.db_app, name="db")
