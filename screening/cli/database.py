"""`db upgrade`, `db roles`, `db backup`: the database's schema, its roles on
PostgreSQL, and its copies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli.common import (
    config_path,
    globals_of,
    handle_errors,
    open_context,
    os_user,
    warn_if_exposed,
)

db_app = typer.Typer(help="Database schema, roles and backups.", no_args_is_help=True)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema up to date (alembic migrations)."""
    from datetime import UTC, datetime

    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.render.output import message, warning
    from screening.services.access import claim_site, login_of, require_role_if_recorded
    from screening.services.plumbing import Actor
    from screening.services.records import settle
    from screening.services.site import medications_to_fix, upgrade_schema

    settings = config.load(config_path(ctx))
    database = Database(resolve_url(globals_of(ctx).db or settings.database_url, settings.folder))
    site = settings.site.name
    try:
        database.require_file()
        actor = Actor(os_user(), globals_of(ctx).actor, login_of(database))
        require_role_if_recorded(database, actor, site, "db upgrade")
        before, after = upgrade_schema(database, settings)
        if before == after:
            message(f"the schema is already at revision {after}")
        else:
            message(f"schema upgraded from {before or 'empty'} to revision {after}")
        for problem in medications_to_fix(database, settings.vocabulary, site):
            warning(problem)
        # A database older than the sites table adopts its site here, said once, rather
        # than at the first command after the upgrade; then the site has its first admin.
        _, notices = settle(database, settings, actor, datetime.now(UTC), check_zone=False)
        for notice in notices:
            message(notice)
        if claim_site(database, actor, site, datetime.now(UTC), settings.zone):
            message(
                f"roles are recorded from now on: you ({actor.user}) are site {site}'s "
                "admin; grant each person the role their work needs: screening access "
                "grant USER staff|clinician|auditor (docs/access.md)"
            )
    finally:
        database.dispose()
    context = open_context(ctx, check_zone=False)
    if not settings.witness_key_file.exists():
        _first_witnessed(context)


def _first_witnessed(context: Any) -> None:
    """A clinic older than witnessing: the witness key, and its first checkpoint, made
    now; what came before is vouched for by the hash chain alone, and is said so."""
    from screening.services.witness import publish_quietly

    published = publish_quietly(context.settings, context.database, context.now)
    if published is None or not published.first:
        return  # a warning said why, or the clinic was witnessed already
    size = published.checkpoint.size
    where = f" in {published.file}" if published.file else ""
    print(
        f"first checkpoint: entries 1-{size} (head {published.checkpoint.head}){where}; "
        f"the history before it (entries 1-{size}) was written before witnessing and is "
        "vouched for by the hash chain only"
    )
    from screening.render.output import message

    message(
        f"Back up {context.settings.witness_key_file} apart from the master key. Checkpoints "
        f"now go to {context.settings.witness_folder} after every draw and once a day; to "
        f"send them to a folder on another disk or share, or to an auditor's e-mail, add "
        f"a [witness] section to {context.settings.path} (`screening config check` shows "
        "where they go)"
    )


@db_app.command("roles")
@handle_errors
def db_roles(ctx: typer.Context) -> None:
    """PostgreSQL: the group roles, their privileges and row-level security per site."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.render.output import message
    from screening.services.access import login_of, require_role_if_recorded
    from screening.services.plumbing import Actor
    from screening.services.site import install_roles

    settings = config.load(config_path(ctx))
    database = Database(resolve_url(globals_of(ctx).db or settings.database_url, settings.folder))
    try:
        # The role first, as every command (on SQLite install_roles then says why there
        # is nothing to do).
        database.require_file()
        actor = Actor(os_user(), globals_of(ctx).actor, login_of(database))
        require_role_if_recorded(database, actor, settings.site.name, "db roles")
        done = install_roles(database)
    finally:
        database.dispose()
    made = f"created {', '.join(done.created)}; " if done.created else ""
    message(
        f"{made}group roles screening_admin, screening_staff, screening_clinician and "
        f"screening_auditor hold their privileges on the {done.tables} tables of schema "
        f"{done.schema}, {done.guarded} of them limited to the sites a login is granted; "
        "`screening access grant LOGIN ROLE` makes a login a member"
    )


@db_app.command("backup")
@handle_errors
def db_backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The new backup file.")],
) -> None:
    """Copy the live SQLite database to PATH (0600; 0660 for a group's clinic), consistently,
    while in use."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.render.output import message
    from screening.services.access import login_of, require_role_if_recorded
    from screening.services.plumbing import Actor, shown
    from screening.services.site import backup

    settings = config.load(config_path(ctx))
    url = resolve_url(globals_of(ctx).db or settings.database_url, settings.folder)
    database = Database(url, settings.database_group)
    try:
        warn_if_exposed(database)
        database.require_file()
        actor = Actor(os_user(), globals_of(ctx).actor, login_of(database))
        require_role_if_recorded(database, actor, settings.site.name, "db backup")
        target = backup(database, settings, path)
    finally:
        database.dispose()
    message(f"backed up to {shown(target)}")
