"""The pool a draw is made from: the clients in the program on the day with their holds
and latest screenings, whether the clinic is closed, and the policy the ledger records.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.selection import Candidate, DrawPolicy
from screening.db.models import Client, Closure, Hold, Screening
from screening.errors import EnvironmentProblem
from screening.services.plumbing.ledger import latest_body


def recorded_policy(session: Session, site: str) -> tuple[dict[str, Any], DrawPolicy]:
    body = latest_body(session, site, "policy")
    if body is None:
        raise EnvironmentProblem(f"no policy is recorded for site {site!r}; run `screening init`")
    return body, DrawPolicy.from_body(body)


def candidates(
    session: Session, site: str, day: date, now: datetime | None = None
) -> tuple[list[Candidate], dict[str, Any]]:
    """Clients in the program on ``day``, with holds, their latest screening and their
    latest collection (a screening collected, or still open at ``now``: the interval
    floor's clock under ``interval_from = "collection"``). The clients come back by uid
    as plain rows (id, uid, track, phase, admitted_on), not ORM objects: a network's
    draw reads thousands."""
    columns = (Client.id, Client.uid, Client.track, Client.phase, Client.admitted_on)
    clients = session.execute(_in_program(site, day, *columns)).all()
    by_id = {client.id: client for client in clients}
    held = set(
        session.exec(
            select(Hold.client_id)
            .join(Client, col(Client.id) == Hold.client_id)
            .where(
                Client.site == site,
                Hold.starts_on <= day,
                sa.func.coalesce(Hold.ended_on, Hold.ends_on) >= day,
                col(Hold.withdrawn) == sa.false(),
            )
        ).all()
    )
    open_or_collected = sa.or_(
        col(Screening.status) == "collected",
        sa.and_(col(Screening.status) == "pending", col(Screening.due_by) > now)
        if now is not None
        else sa.false(),
    )
    # Only the screenings of clients in the program: not the site's whole history; the
    # latest screening and the latest collection in one pass over them.
    last: dict[int, date] = {}
    collected: dict[int, date] = {}
    for client_id, latest, latest_collected in session.execute(
        sa.select(
            col(Screening.client_id),
            sa.func.max(sa.case((col(Screening.status) != "cancelled", Screening.day))),
            sa.func.max(sa.case((open_or_collected, Screening.day))),
        )
        .where(col(Screening.client_id).in_(_in_program(site, day, Client.id)))
        .group_by(col(Screening.client_id))
    ):
        if latest is not None:
            last[client_id] = latest
        if latest_collected is not None:
            collected[client_id] = latest_collected
    result = []
    for c in by_id.values():
        result.append(
            Candidate(
                c.uid,
                c.track,
                c.phase,
                c.admitted_on,
                c.id in held,
                last.get(c.id),
                collected.get(c.id),
            )
        )
    return result, {c.uid: c for c in clients}


def _in_program(site: str, day: date, *columns: Any) -> Any:
    """The ``columns`` of the site's clients in the program on ``day``: not discharged, or
    discharged after it. Two parts, each read by the (site, discharged_on) index rather
    than every client the site ever enrolled (one query with OR is planned by that index
    only where the planner has statistics)."""
    return sa.union_all(
        *(
            sa.select(*(col(column) for column in columns)).where(
                col(Client.site) == site, col(Client.admitted_on) <= day, still
            )
            for still in (col(Client.discharged_on).is_(None), col(Client.discharged_on) > day)
        )
    )


def closed_on(session: Session, site: str, day: date) -> bool:
    return (
        session.exec(
            select(Closure.id).where(
                Closure.site == site,
                Closure.day == day,
                col(Closure.withdrawn_seq).is_(None),
            )
        ).first()
        is not None
    )
