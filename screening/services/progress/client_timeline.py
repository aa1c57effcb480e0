"""``screening timeline CODE``: one client's header, calendar strip, screenings, events
and measures over a period, as the record stands now or stood at the end of a past day.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core import validate
from screening.core.measures import counted, measures, tally
from screening.core.selection import WEEKDAYS
from screening.core.timeline import Facts, ScreeningFact, strip
from screening.db.models import Client, Closure, Hold, LedgerRow, Result, Screening, table_of
from screening.errors import BadInput
from screening.services.access.viewing import viewing
from screening.services.plumbing.context import Context
from screening.services.progress.as_of import as_it_stood
from screening.services.progress.facts import screening_facts
from screening.services.progress.history import history
from screening.services.records.clients import find

STRIP_WEEKS = 8

_LEDGER = table_of(LedgerRow)


def meeting_days(ctx: Context, track: str) -> frozenset[int]:
    if ctx.settings.policy.days == "calendar" or track not in ctx.settings.tracks:
        return frozenset(range(7))
    return frozenset(WEEKDAYS.index(day) for day in ctx.settings.tracks[track].days)


def _range(ctx: Context, client: Client, start: str | None, end: str | None) -> tuple[date, date]:
    try:
        first = validate.parse_date(start, "--from") if start else None
        last = validate.parse_date(end, "--to") if end else ctx.today
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    first = first or max(
        client.admitted_on, last - timedelta(weeks=STRIP_WEEKS) + timedelta(days=1)
    )
    if first > last and start is None:
        raise BadInput(
            f"client {client.code} is admitted on {client.admitted_on}, after {last}: "
            "their timeline starts then"
        )
    if first > last:
        raise BadInput(f"--from {first} is after --to {last}")
    return first, last


def timeline(
    ctx: Context, code: str, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """``screening timeline CODE``: header, strip, events and measures for one client."""
    zone = ctx.settings.zone
    policy = ctx.settings.results.missed_counts_as
    with viewing(ctx, "timeline") as (session, shown):
        client = find(session, ctx.site, code)
        first, last = _range(ctx, client, start, end)
        shown.add(client.uid)
        # A past day shows the record as it stood at the end of that day, as `report team
        # --date` does: the same measures for the same client and day.
        as_of = as_it_stood(ctx, last)
        assert client.id is not None  # read from the database: it has its id
        screenings = {client.id: letter_facts(session, ctx, client, as_of)}
        events, stays = history(session, ctx, client, screenings[client.id], as_of)
        late = _late_and_reversed(session, ctx, client)
        facts = Facts(
            stays=stays or ((client.admitted_on, client.discharged_on),),
            meeting_days=meeting_days(ctx, client.track),
            screenings=tuple(screenings.get(client.id, [])),
            holds=tuple(
                (h.starts_on, held_to)
                for h in session.exec(select(Hold).where(Hold.client_id == client.id))
                if (held_to := h.last_day()) is not None
            ),
            closures=frozenset(
                session.exec(
                    select(col(Closure.day)).where(
                        Closure.site == ctx.site,
                        col(Closure.day) >= first,
                        col(Closure.day) <= last,
                        col(Closure.withdrawn_seq).is_(None),
                    )
                ).all()
            ),
            events=tuple(events),
        )
    rated = {s.id for s in counted(facts.screenings)}
    in_range = Facts(
        **{
            **facts.__dict__,
            "screenings": tuple(s for s in facts.screenings if first <= s.day <= last),
        }
    )
    return {
        "client": {
            "code": client.code,
            "name": client.name,
            "site": client.site,
            "phase": client.phase,
            "track": client.track,
            "status": client.status,
            "admitted_on": client.admitted_on.isoformat(),
            "discharged_on": client.discharged_on.isoformat() if client.discharged_on else None,
            "days_in_program": ((client.discharged_on or ctx.today) - client.admitted_on).days + 1,
            "medications": json.loads(client.medications),
        },
        "from": first.isoformat(),
        "to": last.isoformat(),
        "today": ctx.today.isoformat(),
        # A past --to: the record as it stood then (the end of that day, UTC); else null.
        "as_of": as_of.astimezone(UTC).isoformat().replace("+00:00", "Z") if as_of else None,
        # Runs and the last positive look back over the whole history, not only the
        # period shown: a run does not restart where the strip does.
        "measures": measures(facts.screenings, min(last, ctx.today), policy).as_dict(),
        "strip": [
            {"week_of": monday.isoformat(), "days": cells}
            for monday, cells in strip(facts, first, last)
        ],
        "screenings": [
            {
                **_screening_dict(s, tally(s, policy) if s.id in rated else None),
                **late.get(s.id, {}),
            }
            for s in sorted(in_range.screenings, key=lambda s: (s.day, s.id))
        ],
        "events": [
            {
                "at": e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "date": e.day.isoformat(),
                "text": e.text,
            }
            for e in facts.events
            if first <= e.day <= last
        ],
    }


def letter_facts(
    session: Session, ctx: Context, client: Client, as_of: datetime | None = None
) -> list[ScreeningFact]:
    """Every screening of one client, each as its result reads now (or as the record stood
    at ``as_of``): what the timeline shows and what a progress letter says."""
    assert client.id is not None  # read from the database: it has its id
    return screening_facts(
        session, ctx, select(Client.id).where(col(Client.id) == client.id), as_of
    ).get(client.id, [])


def _late_and_reversed(session: Session, ctx: Context, client: Client) -> dict[int, dict[str, Any]]:
    """Per screening: when a specimen entered late was entered and why, and the miss an
    amendment reversed (what it was, why, who approved)."""
    zone = ctx.settings.zone
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    for screening_id, reason, at in session.execute(
        sa.select(col(Result.screening_id), col(Result.late_reason), _LEDGER.c.at)
        .join(Screening, col(Screening.id) == Result.screening_id)
        .join(_LEDGER, _LEDGER.c.seq == Result.created_seq)
        .where(col(Screening.client_id) == client.id, col(Result.late_reason).is_not(None))
    ):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        found[screening_id]["entered_late"] = {
            "entered_at": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "reason": reason,
        }
    for s in session.exec(
        select(Screening).where(
            Screening.client_id == client.id,
            col(Screening.reversed_status).is_not(None),
        )
    ):
        assert s.id is not None  # read from the database: it has its id
        found[s.id]["reversed"] = {
            "status": s.reversed_status,
            "reason": s.status_note,
            "approved_by": s.reversal_approver,
        }
    return found


def _screening_dict(s: ScreeningFact, in_measures: str | None) -> dict[str, Any]:
    return {
        "id": s.id,
        "date": s.day.isoformat(),
        "reason": s.reason,
        "status": s.status,
        "reading": s.reading,
        "positives": list(s.positives),
        "confirmed": s.confirmed,
        "validity": s.validity,
        "counts_as": s.counts_as,
        # What it adds to the rate and the runs (core.measures.tally): negative, positive,
        # missed (kept apart by policy), or null (nothing, never negative; for cause).
        "in_measures": in_measures,
    }
