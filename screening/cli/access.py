"""`access grant`, `access revoke`, `access list`: who may do what (docs/access.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.options import JsonOpt, OutOpt, TableFormat, delivered, emit_table, opened

access_app = typer.Typer(
    help="Who may do what: roles granted and revoked by an admin (docs/access.md).",
    no_args_is_help=True,
)

UserArg = Annotated[
    str,
    typer.Argument(
        metavar="USER",
        help="The login: the OS user on SQLite (as `whoami` prints it), the database "
        "login on PostgreSQL.",
    ),
]
RolesArg = Annotated[
    list[str],
    typer.Argument(metavar="ROLE...", help="One or more of admin, staff, clinician, auditor."),
]
SiteOpt = Annotated[
    str | None,
    typer.Option("--site", help="The site (default: the config's); you must be its admin."),
]


def _say(changes: list, granted: bool) -> None:
    from screening.render.output import message

    for change in changes:
        if change.done:
            done = "granted" if granted else "revoked"
            towards = "to" if granted else "from"
            message(f"{done} {change.role} {towards} {change.user} at site {change.site}")
        else:
            state = "already holds" if granted else "does not hold"
            message(f"{change.user} {state} {change.role} at site {change.site}; nothing to do")


@access_app.command("grant")
@handle_errors
def grant(ctx: typer.Context, user: UserArg, roles: RolesArg, site: SiteOpt = None) -> None:
    """Give USER one or more roles at the site (a ledger entry each)."""
    from screening.services.access import grant as grant_roles

    _say(grant_roles(open_context(ctx), user, roles, site), granted=True)


@access_app.command("revoke")
@handle_errors
def revoke(ctx: typer.Context, user: UserArg, roles: RolesArg, site: SiteOpt = None) -> None:
    """Take one or more roles back from USER at the site (the site keeps one admin)."""
    from screening.services.access import revoke as revoke_roles

    _say(revoke_roles(open_context(ctx), user, roles, site), granted=False)


@access_app.command("list")
@handle_errors
def list_grants(
    ctx: typer.Context,
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site (default: every site).")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Revoked grants too, with when they ended.")
    ] = False,
    format: TableFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Who holds which role at which site, and since when."""
    from screening.services.access import listing

    form, context, file = opened(ctx, format, as_json, out)
    rows = listing(context, site, history)
    columns = [("site", "site"), ("user", "user"), ("role", "role"), ("granted", "granted")]
    if history:
        columns.append(("revoked", "revoked"))
    with delivered(file, "the roles"):
        emit_table(rows, columns, form, title="Roles", empty="no roles granted")


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
