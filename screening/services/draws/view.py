"""A day's draw as staff see it: who was selected, why, by when, and what is still
pending; on screen, in CSV and as delivered, in the columns of ``LIST_COLUMNS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.beacon import label_of
from screening.db.models import Client, Draw, DrawAmendment, LedgerRow, Screening, table_of
from screening.services.access.viewing import viewing
from screening.services.draws.pool import closed_on
from screening.services.plumbing.context import Context
from screening.services.records.screenings import shown_status

_LEDGER = table_of(LedgerRow)


# A day's list as staff see it, in this order: on screen, in CSV and as delivered.
LIST_COLUMNS = [
    ("code", "code"),
    ("name", "name"),
    ("track", "track"),
    ("phase", "phase"),
    ("why", "why selected"),
    ("collect_by", "collect by"),
]


@dataclass(frozen=True)
class DrawView:
    """A draw as staff see it: who, why, by when, and what is still pending."""

    site: str
    day: date
    drawn_at: datetime
    late: bool
    amendments: int
    closed: bool
    pool_size: int
    left_out: dict[str, int]
    rows: list[dict[str, Any]] = field(default_factory=list)
    # The beacon round that decided the draw ("drand-quicknet:657413"), "missing" for a
    # day drawn without the one its rule named, or None when no beacon governed the day.
    beacon: str | None = None
    created: bool = False  # made by this command, rather than shown again
    unchanged: bool = False  # an amendment asked for, with nothing in the pool to change

    def drawn_locally(self, zone: Any) -> str:
        return self.drawn_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    @property
    def pending(self) -> int:
        return sum(1 for row in self.rows if row["status"] == "pending")

    @property
    def overdue(self) -> int:
        """Pending past the deadline (the next write records them as no-shows)."""
        return sum(1 for row in self.rows if row["status"] == "overdue")


def find_draw(session: Session, site: str, day: date) -> Draw | None:
    return session.exec(select(Draw).where(Draw.site == site, Draw.day == day)).first()


def view(
    session: Session,
    ctx: Context,
    draw: Draw,
    everything_of_the_day: bool = False,
    shown: set[str] | None = None,
) -> DrawView:
    """The draw as staff see it; ``shown`` collects the uids of the clients it lists
    (for the access log: services/access/viewing.py)."""
    body = json.loads(
        session.execute(
            sa.select(_LEDGER.c.canonical).where(_LEDGER.c.seq == draw.ledger_seq)
        ).scalar_one()
    )["body"]
    left_out: dict[str, int] = {}
    for item in body["left_out"]:
        left_out[item["reason"]] = left_out.get(item["reason"], 0) + 1
    amendments = session.execute(
        sa.select(sa.func.count())
        .select_from(DrawAmendment)
        .where(col(DrawAmendment.draw_id) == draw.id)
    ).scalar_one()
    rows = []
    zone = ctx.settings.zone
    drawn = col(Screening.draw_id) == draw.id
    # `today` also lists the day's screenings nobody drew (for cause, an observed
    # recollection): staff working from it must not miss one. The draw's own list (what
    # `select` shows and delivers) stays the draw's.
    which = sa.or_(drawn, sa.and_(col(Screening.draw_id).is_(None), col(Screening.day) == draw.day))
    for screening, client in session.exec(
        select(Screening, Client)
        .join(Client, col(Client.id) == Screening.client_id)
        .where(which if everything_of_the_day else drawn, Client.site == draw.site)
        .order_by(col(Screening.draw_id).is_(None), Client.code, col(Screening.id))
    ).all():
        if shown is not None:
            shown.add(client.uid)
        due = screening.due_by.astimezone(zone)
        rows.append(
            {
                "code": client.code,
                "name": client.name,
                "track": client.track,
                "phase": client.phase,
                "why": screening.reason,
                "status": shown_status(screening, ctx.now),
                "collect_by": due.strftime("%H:%M")
                if due.date() == draw.day
                else due.strftime("%Y-%m-%d %H:%M"),
                "due_by": due.isoformat(),
            }
        )
    return DrawView(
        site=draw.site,
        day=draw.day,
        drawn_at=draw.drawn_at,
        late=draw.late_reason is not None,
        amendments=amendments,
        closed=closed_on(session, draw.site, draw.day),
        pool_size=len(body["pool"]),
        left_out=left_out,
        rows=rows,
        beacon=label_of(body),
    )


def today(ctx: Context) -> DrawView | None:
    """Today's list, recorded as read by whoever reads it (`today`, or the daily job
    that delivers it)."""
    with viewing(ctx, "today") as (session, shown):
        draw = find_draw(session, ctx.site, ctx.today)
        if draw is None:
            return None
        return view(session, ctx, draw, everything_of_the_day=True, shown=shown)


def awaiting(ctx: Context) -> str | None:
    """When today is not drawn yet and a beacon decides it, what `today` says of it."""
    from screening.services.draws.beacon import awaited

    with ctx.database.read() as session:
        return awaited(session, ctx.site, ctx.today, ctx.now)


def drawn(ctx: Context, day: date) -> bool:
    """Whether ``day`` has its draw (nothing of it read, so nothing recorded)."""
    with ctx.database.read() as session:
        return find_draw(session, ctx.site, day) is not None
