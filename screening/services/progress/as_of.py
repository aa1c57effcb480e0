"""The record as it stood at a past instant: the instant a report "as of" a day reads
at, the version each result read by then, and each screening's status then, rebuilt
from the ledger's changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.db.models import Client, LedgerRow, Result, ResultVersion, Screening, table_of
from screening.services.plumbing.context import Context

_LEDGER = table_of(LedgerRow)


def as_it_stood(ctx: Context, day: date) -> datetime | None:
    """The instant a report "as of ``day``" reads the record at: the end of that day in
    the site's zone, or None (now) for today and later."""
    if day >= ctx.today:
        return None
    # In UTC, as the ledger's times are stored: SQLite compares them as text, and a
    # local time there would shift the instant by the zone's offset.
    return datetime.combine(day + timedelta(days=1), time(), ctx.settings.zone).astimezone(UTC)


def versions_in_force(clients: Any, as_of: datetime | None) -> sa.Subquery:
    """(result_id, seq) of the version each result reads by: its current one, or with
    ``as_of`` the latest entered by then (none: the result was entered later)."""
    if as_of is None:
        return (
            sa.select(col(Result.id).label("result_id"), col(Result.ledger_seq).label("seq"))
            .join(Screening, col(Screening.id) == Result.screening_id)
            .where(col(Screening.client_id).in_(clients))
            .subquery()
        )
    return (
        sa.select(col(ResultVersion.result_id), sa.func.max(ResultVersion.seq).label("seq"))
        .join(_LEDGER, _LEDGER.c.seq == ResultVersion.seq)
        .join(Result, col(Result.id) == ResultVersion.result_id)
        .join(Screening, col(Screening.id) == Result.screening_id)
        .where(col(Screening.client_id).in_(clients), _LEDGER.c.at <= as_of)
        .group_by(col(ResultVersion.result_id))
        .subquery()
    )


def status_changes(
    session: Session, screenings: list[Screening]
) -> dict[tuple[int, int], list[tuple[datetime, str, bool]]]:
    """Each screening's changes of status as the ledger has them, in order: (when, the
    status it took, whether the sweep wrote it), by (creating entry, client id). One draw
    entry creates the screenings of every client it selects: the entry alone does not
    name a screening, its client's uid does too. Read only for the screenings changed
    after an as-of instant: a handful."""
    if not screenings:
        return {}
    uids: dict[str, int] = dict(
        session.execute(
            sa.select(col(Client.uid), col(Client.id)).where(
                col(Client.id).in_({s.client_id for s in screenings})
            )
        ).all()
    )
    wanted = {(s.created_seq, s.client_id) for s in screenings}
    found: dict[tuple[int, int], list[tuple[datetime, str, bool]]] = defaultdict(list)
    for at, kind, canonical in session.execute(
        sa.select(_LEDGER.c.at, _LEDGER.c.kind, _LEDGER.c.canonical)
        .where(
            _LEDGER.c.uid.in_(list(uids)),
            _LEDGER.c.kind.in_(("screening", "result")),
            _LEDGER.c.seq > min(seq for seq, _ in wanted),
        )
        .order_by(_LEDGER.c.seq)
    ):
        body = json.loads(canonical)["body"]
        ref = body.get("screening")
        if not ref or body.get("action") == "create":
            continue
        key = (ref[0], uids.get(ref[1]))
        if key not in wanted:
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if kind == "result":
            found[key].append((at, "collected", False))
        elif body["action"] == "reverse":
            found[key].append((at, "excused", False))
        else:
            found[key].append((at, body["status"], bool(body.get("auto"))))
    return found


def status_then(
    screening: Screening,
    later: tuple[datetime, datetime],
    as_of: datetime,
    changes: list[tuple[datetime, str, bool]],
) -> str | None:
    """The screening's status as the record stood at ``as_of``, from its changes in the
    ledger (see ``facts.screening_facts``); None: it did not exist yet. A no-show the sweep
    wrote later counts from its deadline, when the miss happened."""
    created_at, _ = later
    if created_at > as_of:
        return None
    before = [status for at, status, _ in changes if at <= as_of]
    if before:
        return before[-1]
    swept = any(auto and status == "no_show" for _, status, auto in changes)
    if swept and screening.due_by <= as_of:
        return "no_show"
    return "pending"  # a screening leaves pending once ("no second bite")
