"""Appending to the ledger inside the caller's transaction, and reading it back."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.ledger import GENESIS_PREV, Entry, make_entry, subject
from screening.db.locks import hold_append_lock
from screening.db.memo import memo
from screening.db.models import LedgerRow, Site, StaffName, table_of
from screening.errors import EnvironmentProblem, ScreeningError
from screening.services.plumbing.context import Actor

_LEDGER = table_of(LedgerRow)
_INSERT = sa.insert(_LEDGER)


# A write whose clock is further behind the ledger's head than this is refused: the
# ledger's times must go forward (a draw's day, a deadline and a late entry are all read
# from them). Two workstations' clocks may differ by a little.
CLOCK_TOLERANCE = timedelta(minutes=5)


def new_salt() -> str:
    """A fresh salt for a private digest (core/canonical.py): free text, a name or a
    reason enters the ledger only salted, so that its digest cannot be guessed back."""
    return secrets.token_hex(16)


class LedgerWriter:
    """Appends entries one after another within one transaction.

    The head is read under the write lock (SQLite BEGIN IMMEDIATE; PostgreSQL's append
    lock, taken by ``head`` itself in a site's write: db/locks.py), so it cannot move
    underneath us; the unique seq is the backstop. ``check_clock`` reads it before
    anything is written without taking that lock, and ``head`` checks the clock again
    (the whole ledger's head: the sites of a network share one ledger).

    Staff names (the OS login, --actor, approvers) enter entries only as digests salted
    with the site's salt (services/records/sites.py); the names stay in ``staff_names``.
    """

    def __init__(
        self, session: Session, actor: Actor, now: datetime, zone: ZoneInfo | None = None
    ) -> None:
        self.session = session
        self.staff_member = actor
        self.now = now
        self.zone = zone
        self._head: tuple[int, str] | None = None
        self.head_at: datetime | None = None  # when the ledger's last entry was made
        # Days whose keys the upkeep before this write revealed.
        self.revealed: list[date] = []
        # Why past days' keys could not be revealed (no key file, or another key's).
        self.not_revealed: ScreeningError | None = None
        kept = memo(session)
        self.salts: dict[str, str] = kept.setdefault("salts", {})
        self._known: set[tuple[str, str]] = kept.setdefault("staff", set())
        self._actors: dict[tuple[str, Actor], dict[str, str]] = kept.setdefault("actors", {})
        self._session_login: str | None = None
        # The kinds appended: a draw, amendment or commitment is witnessed once committed.
        self.kinds: set[str] = set()

    def head(self) -> tuple[int, str]:
        """The head the next entry follows; read once, under the append lock."""
        if self._head is None:
            hold_append_lock(self.session)  # before the head is read, or taken as read
            kept = memo(self.session)
            last = kept.get("head")
            if last is None:
                row = self._read_head()
                last = (row[0], row[1], as_utc(row[2])) if row else (0, GENESIS_PREV, None)
                kept["head"] = last
            elif last[2] is not None:
                self.head_at = last[2]
                self._check_clock(self.head_at)
            self._head = (last[0], last[1])
        return self._head

    def check_clock(self) -> None:
        """Refuse a clock behind the ledger's head, before anything is written or read.
        In a site's write on PostgreSQL this waits for no other site: the head is read
        without the append lock (and not kept; ``head`` reads it again under it)."""
        if self._head is not None:
            return
        last = memo(self.session).get("head")  # kept only under the append lock
        if last is None:
            self._read_head()
        elif last[2] is not None:
            self.head_at = last[2]
            self._check_clock(self.head_at)

    def _read_head(self) -> Any:
        row = self.session.execute(
            sa.select(_LEDGER.c.seq, _LEDGER.c.hash, _LEDGER.c.at)
            .order_by(_LEDGER.c.seq.desc())
            .limit(1)
        ).first()
        if row is not None:
            self.head_at = as_utc(row[2])
            self._check_clock(self.head_at)
        return row

    def _check_clock(self, last: datetime) -> None:
        if self.now >= last - CLOCK_TOLERANCE:
            return
        zone = self.zone or UTC
        raise EnvironmentProblem(
            f"this computer's clock says {self.now.astimezone(zone):%Y-%m-%d %H:%M %Z}, but "
            f"the ledger already has an entry made at {last.astimezone(zone):%Y-%m-%d %H:%M %Z}"
            "; nothing was written. Fix this computer's clock (date, time and time zone) "
            "and run the command again"
        )

    def salt(self, site: str) -> str:
        salt = self.salts.get(site)
        if salt is None:
            with self.session.no_autoflush:
                salt = self.session.execute(
                    sa.select(col(Site.salt)).where(col(Site.name) == site)
                ).scalar()
            if salt is None:
                raise EnvironmentProblem(
                    f"site {site!r} is not recorded in this database; run `screening init "
                    f"--site {site}` for a new site"
                )
            self.salts[site] = salt
        return salt

    def staff(self, site: str, name: str) -> str:
        """The digest that stands for a staff member's name in ``site``'s entries; the
        name itself is kept in ``staff_names`` (once)."""
        digest = private_digest(self.salt(site), name) or ""
        if (site, digest) in self._known:
            return digest
        with self.session.no_autoflush:
            stored = self.session.execute(
                sa.select(col(StaffName.id)).where(
                    col(StaffName.site) == site, col(StaffName.digest) == digest
                )
            ).first()
        waiting = any(
            isinstance(item, StaffName) and item.site == site and item.digest == digest
            for item in self.session.new
        )
        if stored is None and not waiting:
            self.session.add(StaffName(site=site, digest=digest, name=name))
        self._known.add((site, digest))
        return digest

    def actor(self, site: str) -> dict[str, str]:
        body = self._actors.get((site, self.staff_member))
        if body is None:
            body = {"os_digest": self.staff(site, self.staff_member.os_user)}
            if self.staff_member.name:
                body["as_digest"] = self.staff(site, self.staff_member.name)
            login = self._login()
            if login is not None:
                body["login_digest"] = self.staff(site, login)
            self._actors[(site, self.staff_member)] = body
        return body

    def _login(self) -> str | None:
        """The writer's database login: PostgreSQL stamps each row with the login that
        wrote it (migration 0010), and the entry must name that login as its writer,
        whoever built the actor."""
        if self.staff_member.login is not None:
            return self.staff_member.login
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        if self._session_login is None:  # read once per writer
            name = self.session.execute(sa.text("SELECT session_user")).scalar()
            self._session_login = str(name)
        return self._session_login

    def append(self, site: str, kind: str, body: dict[str, Any]) -> Entry:
        seq, prev = self.head()
        entry = make_entry(
            seq=seq + 1,
            prev=prev,
            at=self.now,
            actor=self.actor(site),
            site=site,
            kind=kind,
            body=body,
        )
        # On the transaction's connection: a ledger row refers to no other row, so the
        # ORM objects waiting in the session need not be flushed first (they are flushed
        # together later, in one go).
        self.session.connection().execute(
            _INSERT,
            {
                "seq": entry.seq,
                "at": entry.at,
                "site": site,
                "kind": kind,
                "uid": subject(kind, body),
                "canonical": entry.canonical,
                "hash": entry.hash,
            },
        )
        self._head = (entry.seq, entry.hash)
        memo(self.session)["head"] = (entry.seq, entry.hash, entry.at)
        self.kinds.add(kind)
        return entry


def as_utc(value: datetime) -> datetime:
    """The ledger's ``at`` column read on the connection (not through the ORM type)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Ordered by ``seq + 0``, not ``seq``: ordered by the key itself, SQLite's planner (with
# no statistics, as the program runs it) walked the whole ledger along its primary key
# to find a site's few policy or commitment entries, at every draw and every write's
# upkeep; by the expression it reads them by the (site, kind) index and sorts them.
BY_SEQ = _LEDGER.c.seq + 0


def latest_body(session: Session, site: str, kind: str) -> dict[str, Any] | None:
    canonical = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == kind)
        .order_by(BY_SEQ.desc())
        .limit(1)
    ).scalar()
    return json.loads(canonical)["body"] if canonical else None


def bodies(session: Session, site: str, kind: str) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == kind)
        .order_by(BY_SEQ)
    ).scalars()
    for canonical in rows:
        yield json.loads(canonical)["body"]


def head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.hash).order_by(_LEDGER.c.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None
