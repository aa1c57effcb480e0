"""What every command hands to the services: settings, database, who, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from screening.config import Settings
from screening.db.engine import Database


@dataclass(frozen=True)
class Actor:
    """The OS user is always recorded; ``name`` is the person at a shared workstation;
    ``login`` is the database login on PostgreSQL. All enter the ledger as digests
    (services/ledger.LedgerWriter.actor).

    The user whose roles count (core/access.py) is the database login where there is
    one (the server knows who connected), else the OS user."""

    os_user: str
    name: str | None = None
    login: str | None = None

    @property
    def user(self) -> str:
        return self.login if self.login is not None else self.os_user


@dataclass(frozen=True)
class Context:
    settings: Settings
    database: Database
    actor: Actor
    now: datetime  # aware, UTC; read once per command by the CLI
    today: date  # the date at the site, in its time zone
    # The roles the user holds at the site (core/access.py), checked before the command.
    roles: frozenset[str] = frozenset()
    # The command as core/access.py names it ("results list"): what a `viewed` entry
    # says was run (services/access/viewing.py).
    command: str = ""

    def __post_init__(self) -> None:
        # The ledger records whole seconds: every decision the command makes (late,
        # overdue, a deadline) uses the instant its entries will show, or verify, reading
        # the entries, would judge a specimen entered at 19:00:00.5 differently.
        if self.now.microsecond:
            object.__setattr__(self, "now", self.now.replace(microsecond=0))

    @property
    def site(self) -> str:
        return self.settings.site.name
