"""`schedule run`, `schedule next`, `schedule unit`: the daily job."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import config_path, globals_of, handle_errors, open_context

if TYPE_CHECKING:
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
    later, sweep no-shows, reveal keys and deliver the list."""
    import contextlib
    from dataclasses import replace
    from datetime import UTC, datetime

    from screening.render.day_list import list_files
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
        return replace(
            first, settings=settings, now=now, today=now.astimezone(settings.zone).date()
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
) -> None:
    """The next draw times, in the site's time and in UTC (ISO 8601), and whether anyone
    can be drawn that day ("no draw: clinic closed (holiday)", "no draw: no track meets
    on Saturdays")."""
    from datetime import UTC

    from screening.services.daily import next_fire_times
    from screening.services.draws import why_no_draw

    context = open_context(ctx)
    settings = context.settings
    fires = next_fire_times(settings, context.now, count)
    off = why_no_draw(context, [fire.date() for fire in fires])
    for fire in fires:
        why = off.get(fire.date())
        print(
            f"{fire.isoformat()}  {fire.astimezone(UTC).isoformat().replace('+00:00', 'Z')}  "
            + (f"no draw: {why.words}" if why else "draw")
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
    if settings.notify.directory and Path(settings.notify.directory).is_absolute():
        writable.append(Path(settings.notify.directory))
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
