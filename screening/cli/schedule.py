"""`schedule run`, `schedule next`, `schedule unit`: the daily job."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import config_path, globals_of, handle_errors, open_context
from screening.cli.options import JsonOpt, OutOpt, TextJsonFormat, delivered, opened

if TYPE_CHECKING:
    from datetime import date, datetime, tzinfo

    from screening.services.draws import NoDraw
    from screening.services.plumbing import Context

schedule_app = typer.Typer(
    help="The daily job: draw at [schedule] run_at, keep up through the day, deliver.",
    no_args_is_help=True,
)


class _TimedHandler(logging.Handler):
    """One line per action, stamped with the UTC time, on whatever stderr is now."""

    def emit(self, record: logging.LogRecord) -> None:
        from datetime import UTC, datetime

        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"{stamp} {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)
        sys.stderr.flush()


@schedule_app.command("run")
@handle_errors
def run(ctx: typer.Context) -> None:
    """Run until stopped (SIGTERM or Ctrl-C): draw at run_at, catch up at once if started
    later, sweep no-shows, reveal keys and deliver the list; with [labs] drop_folder set,
    import the lab's new files every minute (as `results watch`)."""
    import contextlib
    from dataclasses import replace
    from datetime import UTC, datetime

    from screening.render.day_list import list_files
    from screening.services.access import require_role
    from screening.services.daily import run as run_daily_job
    from screening.services.records import zone_in_force

    first = open_context(ctx)

    def contexts() -> Context:
        now = datetime.now(UTC)
        settings = first.settings
        # A change of time zone takes effect at the start of a local day; with the
        # database away, the job's own write says so.
        with contextlib.suppress(Exception):
            settings = zone_in_force(first.database, first.settings, now)
        # Each tick's work is checked again: a role revoked while the job runs stops
        # its draws and deliveries (each refused tick is logged, saying why).
        roles = require_role(first.database, first.actor, settings.site.name, "schedule run")
        return replace(
            first,
            roles=frozenset(roles),
            settings=settings,
            now=now,
            today=now.astimezone(settings.zone).date(),
        )

    logger = logging.getLogger("screening")
    logger.handlers = [_TimedHandler()]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    run_daily_job(contexts, list_files)


@schedule_app.command("next")
@handle_errors
def next_times(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("--count", min=1, max=1000, help="How many.")] = 5,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """The next draw times, in the site's time (with the weekday) and in UTC, and whether
    anyone can be drawn that day ("no draw: clinic closed (holiday)", "no draw: no track
    meets on Saturdays"). JSON gives the instants in ISO 8601."""
    from screening.services.daily import next_fire_times
    from screening.services.draws import why_no_draw

    form, context, file = opened(ctx, format, as_json, out)
    zone = context.settings.zone
    fires = next_fire_times(context.settings, context.now, count)
    off = why_no_draw(context, [fire.astimezone(zone).date() for fire in fires])
    with delivered(file, "the draw times"):
        _print_fires(fires, off, zone, form == "json")


def _print_fires(
    fires: list[datetime], off: dict[date, NoDraw], zone: tzinfo, as_json: bool
) -> None:
    """One line a day: "Mon 2027-03-15 00:30 EDT  04:30 UTC  draw" (UTC with its date
    only when that differs from the local one), or the same as JSON, ISO instants kept."""
    from datetime import UTC

    from screening.render.output import emit_json
    from screening.render.words import local_time

    days = [fire.astimezone(zone).date() for fire in fires]
    if as_json:
        emit_json(
            [
                {
                    "date": day.isoformat(),
                    "local": fire.astimezone(zone).isoformat(),
                    "utc": fire.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "draw": day not in off,
                    "no_draw": off[day].kind if day in off else None,
                    "why": off[day].words if day in off else None,
                }
                for fire, day in zip(fires, days, strict=True)
            ]
        )
        return
    local = [f"{day:%a} {local_time(fire, zone)}" for fire, day in zip(fires, days, strict=True)]
    utc = [local_time(fire, UTC, day) for fire, day in zip(fires, days, strict=True)]
    wide, utc_wide = max(map(len, local), default=0), max(map(len, utc), default=0)
    for here, there, day in zip(local, utc, days, strict=True):
        why = off.get(day)
        print(
            f"{here:<{wide}}  {there:<{utc_wide}}  " + (f"no draw: {why.words}" if why else "draw")
        )


@schedule_app.command("unit")
@handle_errors
def unit(ctx: typer.Context) -> None:
    """A systemd service unit for this config (and a cron line for hosts without systemd)."""
    import getpass
    import shlex
    from pathlib import Path

    from screening import config

    path = config_path(ctx).absolute()
    settings = config.load(path)
    executable = Path(sys.argv[0]).absolute() if Path(sys.argv[0]).name == "screening" else None
    command = (
        [str(executable)]
        if executable and executable.exists()
        else [sys.executable, "-m", "screening"]
    )
    command += ["--config", str(path)]
    if globals_of(ctx).db:
        print(
            "# --db is not written into the unit: set [database] url in the config", file=sys.stderr
        )
    exec_start = shlex.join([*command, "schedule", "run"])
    folder = settings.folder.absolute()
    writable = [folder]
    # Every folder the job writes outside the config's: the day's list, the witnesses'
    # folders, the lab drop folder (its done/ and refused/) and the ACKs.
    labs = settings.labs
    outside = [
        Path(settings.notify.directory) if settings.notify.directory else None,
        *settings.witness_folders,
        labs.folder(labs.drop_folder, folder),
        labs.folder(labs.ack_folder, folder),
    ]
    for kept in outside:
        if kept is None or not kept.is_absolute() or kept in writable:
            continue
        if not kept.is_relative_to(folder):
            writable.append(kept)
    from screening.db.engine import resolve_url, sqlite_path

    database = sqlite_path(resolve_url(globals_of(ctx).db or settings.database_url, folder))
    if database is not None and database.parent.absolute() != folder:
        writable.append(database.parent.absolute())  # the database and its -wal, -shm
    site = settings.site.name
    when = f"{settings.schedule.run_at} {settings.site.timezone}"
    log_file = shlex.quote(str(folder / "schedule.log"))
    print(
        f"""# /etc/systemd/system/screening-{site}.service
# Install: sudo systemctl daemon-reload && sudo systemctl enable --now screening-{site}
# Logs:    journalctl -u screening-{site}
[Unit]
Description=screening daily draw for site {site} (at {when})
Wants=network-online.target
After=network-online.target postgresql.service

[Service]
Type=simple
User={getpass.getuser()}
WorkingDirectory={folder}
ExecStart={exec_start}
# SMTP credentials, if e-mail is configured, go in a root-only file:
# EnvironmentFile=/etc/screening/{site}.env   (SCREENING_SMTP_USER=..., SCREENING_SMTP_PASSWORD=...)
Restart=on-failure
RestartSec=30
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths={" ".join(map(str, writable))}

[Install]
WantedBy=multi-user.target

# Without systemd, start it at boot from the crontab of {getpass.getuser()} (crontab -e):
# @reboot cd {shlex.quote(str(folder))} && {exec_start} >> {log_file} 2>&1"""
    )


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
