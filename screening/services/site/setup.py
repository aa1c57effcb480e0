"""`screening init`: config, key, database, genesis, policy and anchors, or nothing."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import re
import stat
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from pathlib import Path

from screening.config import SITE_PATTERN, parse, read_toml
from screening.db.engine import Database, describe, resolve_url, share, sqlite_path
from screening.db.migrate import upgrade
from screening.errors import BadInput, EnvironmentProblem, NotPermitted
from screening.services.plumbing.context import Actor
from screening.services.plumbing.keys import create_key, create_witness_key
from screening.services.plumbing.ledger import LedgerWriter, bodies, head, new_salt
from screening.services.plumbing.outputs import DELIVERY_BOOK
from screening.services.records import grants, sites
from screening.services.records.sites import genesis_body
from screening.services.records.upkeep import commit_anchors, record_policy
from screening.services.witness.publishing import STATE, Published, publish_quietly


def example_config() -> str:
    return resources.files("screening").joinpath("data/config.example.toml").read_text("utf-8")


def config_text(
    site: str, timezone: str, database_url: str | None = None, group: str | None = None
) -> str:
    """The example config with this clinic's site name, time zone and, when given, the
    database URL (else the example's SQLite file beside the config) and the OS group
    that shares it."""
    text = example_config()
    text = re.sub(r'(?m)^name = "main"$', f'name = "{site}"', text, count=1)
    text = re.sub(r'(?m)^timezone = ".*"$', f'timezone = "{timezone}"', text, count=1)
    # json's string escapes are TOML's basic-string escapes.
    if database_url is not None:
        line = f"url = {json.dumps(database_url)}"
        text = re.sub(r'(?m)^url = "sqlite:///screening.db"$', lambda _: line, text, count=1)
    if group is not None:
        shared = f"group = {json.dumps(group)}"
        text = re.sub(r'(?m)^# group = "clinic"$', lambda _: shared, text, count=1)
    return text


def _sharing_group(group: str, url: str | None) -> None:
    """`--group` names an OS group this user belongs to, for a SQLite database."""
    if url is not None and resolve_url(url, Path.cwd()).get_backend_name() != "sqlite":
        raise BadInput(
            "--group is for SQLite; on PostgreSQL the database's own roles are the "
            "boundary (screening db roles)"
        )
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise BadInput(
            f"there is no OS group {group!r} on this computer; create it (groupadd "
            f"{group}) and add the clinic's users to it, or name another with --group"
        ) from None
    if os.geteuid() != 0 and gid not in (os.getegid(), *os.getgroups()):
        raise BadInput(
            f"you are not a member of the OS group {group!r}; have an administrator add "
            f"you (usermod -aG {group} USER), log in again, and rerun init"
        )


def _share_folder(folder: Path, group: str) -> None:
    """The group may create and remove files in ``folder`` (SQLite's -wal and -shm), and
    what is made there belongs to the group (set-group-ID); other bits stay as they are."""
    status = folder.stat()
    wanted = stat.S_IMODE(status.st_mode) | stat.S_IRWXG | stat.S_ISGID
    if status.st_gid == grp.getgrnam(group).gr_gid and stat.S_IMODE(status.st_mode) == wanted:
        return
    try:
        share(folder, group, wanted)
    except PermissionError:
        raise EnvironmentProblem(
            f"cannot give the folder {folder} to the group {group!r}: it is not yours; have "
            f"its owner run `chgrp {group} {folder} && chmod g+rwxs {folder}`"
        ) from None


def _share_witness_folder(folder: Path, group: str) -> None:
    """The witness folder and what `init` published there, usable by the group: its
    folders 2770, its delivery state 0660, the notes readable by the group."""
    for here, folders, files in os.walk(folder):
        share(Path(here), group, 0o2770)
        for name in files:
            path = Path(here, name)
            mode = 0o660 if name == STATE else stat.S_IMODE(path.stat().st_mode) | stat.S_IRGRP
            share(path, group, mode)
        folders.sort()


def _refuse_a_password(db_url: str) -> None:
    url = resolve_url(db_url, Path.cwd())
    # libpq also takes it from the query string (?password=...).
    if url.password is not None or any(key.lower() == "password" for key in url.query):
        raise BadInput(
            "the database URL holds a password, and init writes the URL into the config; "
            "leave the password out of the URL and give it through PGPASSWORD or "
            "~/.pgpass (mode 0600) instead"
        )


@dataclass(frozen=True)
class InitResult:
    config: Path
    key: Path
    database: str
    periods: list[str]
    head: tuple[int, str]
    witness_key: Path
    # The first checkpoint and where it went (None when it could not be made: warned).
    published: Published | None
    # The user made the site's admin (the OS user, or the database login).
    admin: str = ""
    # Why the server's group roles could not be set up (PostgreSQL), if they could not.
    roles_problem: str | None = None


def initialise(
    config_path: Path,
    site: str,
    timezone: str,
    db_url: str | None,
    actor: Actor,
    now: datetime,
    *,
    record_url: bool = False,
    group: str | None = None,
) -> InitResult:
    """Create a clinic. Refuses if anything already exists; removes what it made on error.

    With ``record_url`` the config names ``db_url`` as its database, so that the commands
    after `init` use it; a URL holding a password is refused (the config is a file that
    gets copied and shown: libpq reads PGPASSWORD or ~/.pgpass instead).

    With ``group`` the OS group of that name shares the clinic (SQLite): the config,
    database and delivery book 0660, the keys 0640, their folders group-writable and
    set-group-ID (so SQLite's -wal and -shm, which take the database's mode, are the
    group's too), and the config's `[database] group` keeps it for later commands."""
    if not SITE_PATTERN.match(site):
        raise BadInput(
            f"{site!r} is not a site name; use up to 32 lower-case letters, digits, - or _"
        )
    config_path = config_path.absolute()
    if config_path.exists():
        raise BadInput(
            f"{config_path} already exists; this folder has a clinic already "
            "(use --config for another)"
        )
    if record_url and db_url is not None:
        _refuse_a_password(db_url)
    if group is not None:
        _sharing_group(group, db_url)
    text = config_text(site, timezone, db_url if record_url else None, group)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if group is not None:
        _share_folder(config_path.parent, group)
    created: list[Path] = []
    try:
        # 0600: the config may hold a database password.
        descriptor = os.open(config_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        created.append(config_path)
        if group is not None:
            share(config_path, group, 0o660)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        settings, problems = parse(read_toml(config_path), config_path)
        if settings is None:
            raise BadInput(problems[0])
        for existing in (settings.key_file, settings.witness_key_file):
            if existing.exists():
                raise BadInput(
                    f"a key file already exists at {existing}; move it away or "
                    "initialise in another folder"
                )
        url = resolve_url(db_url or settings.database_url, config_path.parent)
        file = sqlite_path(url)
        if file is not None and not file.exists():
            if group is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
                _share_folder(file.parent, group)
            Database.create_sqlite_file(url)
            created.append(file)
            if group is not None:
                share(file, group, 0o660)
        master = create_key(settings.key_file)
        created.append(settings.key_file)
        if group is not None:
            share(settings.key_file, group, 0o640)
            book = settings.folder / DELIVERY_BOOK
            os.close(os.open(book, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            created.append(book)
            share(book, group, 0o660)
        database = Database(url)
        try:
            upgrade(database)
            with database.write() as session:
                if sites.load(session, site) is not None or any(
                    True for _ in bodies(session, site, "commitment")
                ):
                    raise BadInput(
                        f"site {site!r} is already initialised in {describe(url)}; "
                        "choose another site name"
                    )
                login = grants.login_of(database)
                if login is not None:
                    actor = replace(actor, login=login)
                if grants.any_grant(session) and not grants.admin_somewhere(session, actor.user):
                    raise NotPermitted(
                        f"a new site in this database needs an admin of one of its sites; "
                        f"you ({actor.user}) are not one"
                    )
                writer = LedgerWriter(session, actor, now, settings.zone)
                founded = head(session) is None  # this site begins the ledger
                if founded:
                    writer.salts[site] = new_salt()
                    writer.append(site, "genesis", genesis_body())
                sites.record_site(session, writer, site, timezone, "create")
                record_policy(session, writer, settings)
                today = now.astimezone(settings.zone).date()
                periods = commit_anchors(session, writer, settings, today, master=master)
                # The user who sets a site up is its first admin (core/access.py).
                grants.first_admin(session, writer, site, actor.user)
                last = writer.head()
            # Committed: nothing is undone from here on (not even on Ctrl-C).
            created.clear()
            if founded:
                # Made with the master key, kept apart from it: it signs the checkpoints.
                # (If it cannot be made, the checkpoint below says why, as a warning.)
                with contextlib.suppress(OSError):
                    create_witness_key(settings.witness_key_file)
                    if group is not None:
                        share(settings.witness_key_file, group, 0o640)
            if group is not None:
                settings.witness_folder.mkdir(mode=0o2770, exist_ok=True)
            # The first checkpoint and the 13 periods' anchors go to the witnesses (a
            # witness that fails is a warning, never an undone init). A site joining a
            # network's ledger signs with the founding site's witness key, once copied.
            published = publish_quietly(settings, database, now)
            roles_problem = None
            if not database.is_sqlite:
                # The server enforces the roles from the start (db_roles.py); a login
                # that may not create roles leaves that to `db roles`, and is told.
                from screening.services.site.db_roles import install as install_roles

                try:
                    install_roles(database)
                except EnvironmentProblem as problem:
                    roles_problem = problem.message
            if group is not None:
                _share_witness_folder(settings.witness_folder, group)
        finally:
            database.dispose()
    except BaseException:
        for path in reversed(created):
            for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                extra.unlink(missing_ok=True)
        raise
    return InitResult(
        config_path,
        settings.key_file,
        describe(url),
        periods,
        last,
        settings.witness_key_file,
        published,
        actor.user,
        roles_problem,
    )
