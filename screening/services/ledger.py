"""Appending to the ledger inside the caller's transaction, and reading it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.core.ledger import GENESIS_PREV, Entry, make_entry, subject
from screening.db.models import LedgerRow
from screening.services.context import Actor

_LEDGER = LedgerRow.__table__
_INSERT = sa.insert(_LEDGER)


class LedgerWriter:
    """Appends entries one after another within one transaction.

    The transaction already holds the write lock (SQLite BEGIN IMMEDIATE, PostgreSQL
    advisory lock), so the head read here cannot move underneath us; the unique seq is
    the backstop.
    """

    def __init__(self, session: Session, actor: Actor, now: datetime) -> None:
        self.session = session
        self.actor = actor.as_body()
        self.now = now
        self._head: tuple[int, str] | None = None
        # Days whose keys the upkeep before this write revealed.
        self.revealed: list[date] = []

    def head(self) -> tuple[int, str]:
        if self._head is None:
            row = self.session.execute(
                sa.select(_LEDGER.c.seq, _LEDGER.c.hash).order_by(_LEDGER.c.seq.desc()).limit(1)
            ).first()
            self._head = (row[0], row[1]) if row else (0, GENESIS_PREV)
        return self._head

    def append(self, site: str, kind: str, body: dict[str, Any]) -> Entry:
        seq, prev = self.head()
        entry = make_entry(
            seq=seq + 1,
            prev=prev,
            at=self.now,
            actor=self.actor,
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
        return entry


def latest_body(session: Session, site: str, kind: str) -> dict[str, Any] | None:
    canonical = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == kind)
        .order_by(_LEDGER.c.seq.desc())
        .limit(1)
    ).scalar()
    return json.loads(canonical)["body"] if canonical else None


def bodies(session: Session, site: str, kind: str) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == kind)
        .order_by(_LEDGER.c.seq)
    ).scalars()
    for canonical in rows:
        yield json.loads(canonical)["body"]


def head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.hash).order_by(_LEDGER.c.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None
