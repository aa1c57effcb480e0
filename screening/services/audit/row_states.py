"""The states `audit verify` compares screening and result rows by, and a result
version's by its digest (audit/contents.py), as streams in the merge's order: read by
the second process while the first walks the chain (audit/second.py), or here.
Rows are named by ledger entry and client uid, never by a value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.ledger import rfc3339
from screening.db.engine import Database
from screening.db.models import Client, Draw, Result, Screening, Site
from screening.services.audit.contents import version_states
from screening.services.audit.merge import in_key_order, stream
from screening.services.audit.one_site import of_site
from screening.services.audit.second import HERE, Producer, SecondProcess
from screening.services.audit.unread import UNREAD, Unread
from screening.services.plumbing.ledger import as_utc


class _StaffName:
    """A screening row's approver against its entry: older entries hold the name,
    newer ones its digest (salted with the site's salt)."""

    def __init__(self, name: str, salt: str | None) -> None:
        self.name, self.digest = name, private_digest(salt, name) if salt else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other in (self.name, self.digest)

    def __ne__(self, other: object) -> bool:
        return not self == other

    # Equal to two different strings, so it has no hash: never a key (mypy's stubs
    # declare __hash__ a method, hence the ignore).
    __hash__ = None  # type: ignore[assignment]


def screening_query(unread: Unread) -> Any:
    """The screening rows, with what their state names beside them: the client, the
    draw, the site's salt, and the result entry of the specimen a recollection repeats."""
    repeated = aliased(Result)
    return (
        sa.select(
            Screening,
            col(Client.uid),
            col(Client.site),
            sa.label("draw_site", col(Draw.site)),
            sa.label("draw_day", col(Draw.day)),
            sa.label("because", col(repeated.created_seq)),
            sa.label("site_salt", col(Site.salt)),
        )
        .outerjoin(Client, col(Client.id) == Screening.client_id)
        .outerjoin(Site, col(Site.name) == Client.site)
        .outerjoin(Draw, col(Draw.id) == Screening.draw_id)
        .outerjoin(repeated, col(repeated.screening_id) == Screening.replaces_id)
        .options(*unread.deferred(Screening))
    )


def screening_rows(session: Session, unread: Unread, site: str | None = None) -> Iterator[Any]:
    """Each screening row's state, by (creating entry, client uid); ``site``: that
    site's only (audit/one_site.py)."""
    rows = screening_query(unread).order_by(col(Screening.created_seq))
    rows = of_site(rows, col(Client.site), site)
    return in_key_order(
        (
            (row[0].created_seq, row.uid),
            row.site,
            unread.compare(partial(_screening_state, row), row[0]),
        )
        for row in stream(session, rows)
    )


def _screening_state(row: Any) -> dict[str, Any]:
    screening: Screening = row[0]
    drawn = screening.draw_id is not None
    state = {
        "date": screening.day.isoformat(),
        "reason": screening.reason,
        "status": screening.status,
        "due_by": screening.due_by,
        "site": row.site,
        "observed": screening.observed_required,
        "note": private_digest(screening.salt, screening.note),
        "status_note": private_digest(screening.salt, screening.status_note),
        "excuse": screening.excuse_code,
        "approved_by": (
            _StaffName(screening.approved_by, row.site_salt) if screening.approved_by else None
        ),
        "auto": screening.status_auto,
        "draw": f"{row.draw_site} {row.draw_day}" if drawn else None,
        # A recollection names the result entry of the specimen it repeats; a link to a
        # screening with no result is named as such (the ledger never records one).
        "because": (
            (row.because or f"screening {screening.replaces_id}, which has no result")
            if screening.replaces_id is not None
            else None
        ),
        "latest": screening.ledger_seq,
        "reversed": screening.reversed_status,
        "reversal_approver": (
            _StaffName(screening.reversal_approver, row.site_salt)
            if screening.reversal_approver
            else None
        ),
    }
    if drawn and row.draw_day != screening.day:
        state["date"] = f"{screening.day} (its draw is for {row.draw_day})"
    return state


def result_query(unread: Unread) -> Any:
    """The result rows, each with its screening's entry and client, and the collection
    its entry states (what a result's state is made of)."""
    return (
        sa.select(
            col(Result.created_seq),
            col(Result.ledger_seq),
            sa.label("screening_seq", col(Screening.created_seq)),
            col(Client.uid),
            col(Client.site),
            unread.column(Result.salt),
            unread.column(Result.late_reason),
            col(Result.collected_at),
            col(Result.method),
            col(Result.specimen_type),
        )
        .outerjoin(Screening, col(Screening.id) == Result.screening_id)
        .outerjoin(Client, col(Client.id) == Screening.client_id)
    )


def result_rows(session: Session, unread: Unread, site: str | None = None) -> Iterator[Any]:
    """Each result row's state, by its creating entry: its screening, its latest version,
    and the collection as its entry states it."""
    results = result_query(unread).order_by(col(Result.created_seq))
    results = of_site(results, col(Client.site), site)
    return (
        (
            created,
            site,
            {
                "screening": (screening, uid),
                "latest": latest,
                "late": (
                    UNREAD
                    if unread.hides("results", "salt", "late_reason")
                    else private_digest(salt, late_reason)
                ),
                "collected_at": "a fraction of a second" if collected.microsecond else None,
                "collected, method, specimen": (
                    rfc3339(as_utc(collected)),
                    method,
                    specimen,
                ),
            },
        )
        for (
            created,
            latest,
            screening,
            uid,
            site,
            salt,
            late_reason,
            collected,
            method,
            specimen,
        ) in stream(session, results)
    )


# What the second process reads, in the order the merge takes them.
ROW_STREAMS: dict[str, Producer] = {
    "screenings": screening_rows,
    "results": result_rows,
    "versions": version_states,
}


def second_process(database: Database, session: Session, whole: bool) -> Any:
    """The process that reads the screening, result and version rows while the first
    walks the chain (audit/second.py), for a whole verify; a site's or an incremental
    verify reads fewer rows, in the first process."""
    if not whole:
        return nullcontext(HERE)
    return SecondProcess(database, session, ROW_STREAMS)
