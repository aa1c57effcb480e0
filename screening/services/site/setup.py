"""`screening init`: config, key, database, genesis, policy and anchors, or nothing."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from pathlib import Path

from screening.config import SITE_PATTERN, parse, read_toml
from screening.db.engine import Database, describe, resolve_url, sqlite_path
from screening.db.migrate import upgrade
from screening.errors import BadInput, NotPermitted
from screening.services.plumbing.context import Actor
from screening.services.plumbing.keys import create_key, create_witness_key
from screening.services.plumbing.ledger import LedgerWriter, bodies, head, new_salt
from screening.services.records import grants, sites
from screening.services.records.sites import genesis_body
from screening.services.records.upkeep import commit_anchors, record_policy
from screening.services.witness.publishing import Published, publish_quietly


def example_config() -> str:
    return resources.files("screening").joinpath("data/config.example.toml").read_text("utf-8")


def config_text(site: str, timezone: str, database_url: str | None = None) -> str:
    """The example config with this clinic's site name, time zone and, when given, the
    database URL (else the example's SQLite file beside the config)."""
    text = example_config()
    text = re.sub(r'(?m)^name = "main"$', f'name = "{site}"', text, count=1)
    text = re.sub(r'(?m)^timezone = ".*"$', f'timezone = "{timezone}"', text, count=1)
    if database_url is not None:
        # json's string escapes are TOML's basic-string escapes.
        line = f"url = {json.dumps(database_url)}"
        text = re.sub(r'(?m)^url = "sqlite:///screening.db"$', lambda _: line, text, count=1)
    return text


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


def initialise(
    config_path: Path,
    site: str,
    timezone: str,
    db_url: str | None,
    actor: Actor,
    now: datetime,
    *,
    record_url: bool = False,
) -> InitResult:
    """Create a clinic. Refuses if anything already exists; removes what it made on error.

    With ``record_url`` the config names ``db_url`` as its database, so that the commands
    after `init` use it; a URL holding a password is refused (the config is a file that
    gets copied and shown: libpq reads PGPASSWORD or ~/.pgpass instead)."""
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
    text = config_text(site, timezone, db_url if record_url else None)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    try:
        # 0600: the config may hold a database password.
        descriptor = os.open(config_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        created.append(config_path)
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
            Database.create_sqlite_file(url)
            created.append(file)
        master = create_key(settings.key_file)
        created.append(settings.key_file)
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
                # The user who sets a site up is its first admin (core/access.py).
                grants.first_admin(session, writer, site, actor.user)
                record_policy(session, writer, settings)
                today = now.astimezone(settings.zone).date()
                periods = commit_anchors(session, writer, settings, today, master=master)
                last = writer.head()
            # Committed: nothing is undone from here on (not even on Ctrl-C).
            created.clear()
            if founded:
                # Made with the master key, kept apart from it: it signs the checkpoints.
                # (If it cannot be made, the checkpoint below says why, as a warning.)
                with contextlib.suppress(OSError):
                    create_witness_key(settings.witness_key_file)
            # The first checkpoint and the 13 periods' anchors go to the witnesses (a
            # witness that fails is a warning, never an undone init). A site joining a
            # network's ledger signs with the founding site's witness key, once copied.
            published = publish_quietly(settings, database, now)
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
    )
