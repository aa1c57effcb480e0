"""`site show`, `site timezone`: the site's name and time zone as the database keeps them."""

from __future__ import annotations

from typing import Annotated

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.options import JsonOpt, OutOpt, TextJsonFormat, delivered, opened

site_app = typer.Typer(
    help="The site's name and time zone, as the database keeps them.", no_args_is_help=True
)


@site_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """The site, the time zone in force and any change waiting to take effect."""
    from screening.services.site import describe

    form, context, file = opened(ctx, format, as_json, out)
    data = describe(context)
    with delivered(file, "the site"):
        _print_site(data, form == "json")


def _print_site(data: dict, as_json: bool) -> None:
    from screening.render.output import emit_json

    if as_json:
        emit_json(data)
        return
    print(f"site {data['site']}, time zone {data['timezone']} (in force now)")
    for change in data["changes"]:
        print(
            f"time zone {change['timezone']} from {change['starts_local']} "
            f"(entry {change['entry']})" + (" - waiting" if change["waiting"] else "")
        )
    others = [name for name in data["sites"] if name != data["site"]]
    if others:
        print(f"other sites in this database: {', '.join(others)}")


@site_app.command("timezone")
@handle_errors
def timezone(
    ctx: typer.Context,
    zone: Annotated[str, typer.Argument(help="The new IANA time zone, e.g. America/Chicago.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the site's time zone changes.")],
) -> None:
    """Move the site to another time zone from the start of the next local day (recorded
    in the ledger, flagged in audits); the config's [site] timezone is set to match."""
    from screening.render.output import message
    from screening.services.site import change_timezone

    done = change_timezone(open_context(ctx, check_zone=False), zone, reason)
    message(
        f"site {done['site']!r} keeps {done['from']} until the day is over, then {zone} "
        f"from {done['local']:%Y-%m-%d %H:%M %Z} (ledger entry {done['entry']})"
    )
    if done["config_edited"]:
        message(f'set [site] timezone = "{zone}" in the config')
    else:
        message(f'set timezone = "{zone}" under [site] in the config by hand')
    message("restart the daily job (`screening schedule run`) if one is running")


def register(app: typer.Typer) -> None:
    app.add_typer(site_app, name="site")
