"""The team report (one row per active client) and the daily reconciliation.

Both read the whole site in a fixed number of queries: the team report's count does not
grow with the number of clients.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from screening.core import validate
from screening.core.beacon import label_of
from screening.core.measures import counted, is_miss, measures
from screening.core.timeline import ScreeningFact
from screening.core.wording import plural, status_words
from screening.db.models import (
    AnalyteResult,
    Client,
    Draw,
    LedgerRow,
    Result,
    ResultVersion,
    Screening,
    table_of,
)
from screening.errors import BadInput
from screening.services.access.viewing import viewing
from screening.services.draws import NoDraw, why_no_draw
from screening.services.plumbing.context import Context
from screening.services.progress.as_of import as_it_stood
from screening.services.progress.facts import screening_facts
from screening.services.records.screenings import shown_status

_LEDGER = table_of(LedgerRow)

SORTS = ("code", "phase", "run", "misses", "last", "flags")
QUIET_DAYS = 30


def _day(text: str | None, what: str, default: date) -> date:
    try:
        return validate.parse_date(text, what) if text else default
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


def team(
    ctx: Context, as_of: str | None = None, sort: str = "code", quiet_days: int = QUIET_DAYS
) -> list[dict[str, Any]]:
    """``report team``: for each active client, where they stand and what needs a look.

    ``as_of`` looks back from an earlier day: the record as it stood at the end of that
    day (services.progress.facts.screening_facts: results as their versions then said, entries
    made later left out), and a screening is overdue if its deadline had passed by then.
    The timeline to the same day reads the same record: the same measures.
    """
    try:
        sort = validate.choice(sort, SORTS, "--sort")
    except validate.Invalid as problem:
        raise BadInput(str(problem)) from None
    day = _day(as_of, "--date", ctx.today)
    active = select(Client.id).where(
        Client.site == ctx.site, Client.status == "active", Client.admitted_on <= day
    )
    with viewing(ctx, "report team") as (session, shown):
        clients = session.exec(
            select(Client).where(
                Client.site == ctx.site, Client.status == "active", Client.admitted_on <= day
            )
        ).all()
        shown.update(client.uid for client in clients)
        instant = as_it_stood(ctx, day)
        facts = screening_facts(session, ctx, active, instant)
        late_days: dict[int, list[date]] = defaultdict(list)
        entered = _LEDGER
        for client_id, late_day in session.execute(
            sa.select(col(Screening.client_id), col(Screening.day))
            .join(Result, col(Result.screening_id) == Screening.id)
            .join(entered, entered.c.seq == Result.created_seq)
            .where(
                col(Screening.client_id).in_(active),
                col(Result.late_reason).is_not(None),
                col(Screening.day) <= day,
                # As of a past day, only the late entries made by then.
                entered.c.at <= instant if instant is not None else sa.true(),
            )
        ):
            late_days[client_id].append(late_day)
        # Overdue as the record stood (the facts are read as of the day): a screening
        # still pending past its deadline then, not one the sweep had made a miss.
        overdue = {
            client_id
            for client_id, screened in facts.items()
            if any(s.status == "overdue" and s.day <= day for s in screened)
        }
    rows = []
    for client in clients:
        assert client.id is not None  # read from the database: it has its id
        row = _row(
            client,
            [s for s in facts.get(client.id, []) if s.day <= day],
            day,
            client.id in overdue,
            quiet_days,
            ctx.settings.results.missed_counts_as,
        )
        rows.append(_with_late_entries(row, late_days.get(client.id, []), day))
    keys = {
        "code": lambda r: r["code"],
        "phase": lambda r: (r["phase"], r["code"]),
        "run": lambda r: (r["negative_run"], r["code"]),
        "misses": lambda r: (-r["misses_30_days"], -r["misses_7_days"], r["code"]),
        "last": lambda r: (r["last_screen"] or "", r["code"]),
        # Most flags first; among equals, more recent misses first.
        "flags": lambda r: (-len(r["flags"]), -r["misses_7_days"], -r["misses_30_days"], r["code"]),
    }
    return sorted(rows, key=keys[sort])


def _row(
    client: Client,
    screenings: list[ScreeningFact],
    day: date,
    overdue: bool,
    quiet_days: int,
    policy: str,
) -> dict[str, Any]:
    # The same measures as the client's timeline to the same day (core/measures.py).
    m = measures(screenings, day, policy)
    done = [s for s in counted(screenings) if s.status != "pending"]
    last = done[-1] if done else None
    week = day - timedelta(days=6)
    month = day - timedelta(days=29)
    collected = sorted(
        (s for s in screenings if s.status == "collected" and not s.void),
        key=lambda s: (s.day, s.id),
    )
    flags = []
    if any(s.unexpected and s.day >= week for s in collected):
        flags.append("unexpected positive in 7 days")
    if m.misses_last_30_days:
        flags.append(miss_flag(m.misses_last_30_days, m.misses_last_7_days))
    if any(s.reading == "possible_tampering" and s.day >= month for s in collected):
        flags.append("possible tampering")
    if collected and collected[-1].reading == "unexpected_negative":
        flags.append("unexpected negative")
    if overdue:
        flags.append("overdue")
    since = collected[-1].day if collected else client.admitted_on
    if (day - since).days >= quiet_days:
        flags.append(f"no screen in {(day - since).days} days")
    return {
        "code": client.code,
        "name": client.name,
        "phase": client.phase,
        "track": client.track,
        "last_screen": last.day.isoformat() if last else None,
        "last_result": (last.reading or last.status) if last else None,
        "negative_run": m.current_negative_run,
        "negative_rate": m.negative_rate,
        "misses_7_days": m.misses_last_7_days,
        "misses_30_days": m.misses_last_30_days,
        "misses_in_rate": m.misses_in_rate,
        "days_since_unexpected_positive": m.days_since_unexpected_positive,
        "positives_30_days": sum(1 for s in collected if s.unexpected and s.day >= month),
        "flags": flags,
    }


def miss_flag(last_30: int, last_7: int) -> str:
    """The team report's flag for misses: any miss in the last 30 days (today included),
    with how many of them in the last 7."""
    words = f"missed {plural(last_30, 'screening')} in the last 30 days"
    return words + (f" ({last_7} in the last 7)" if last_7 else "")


def _with_late_entries(row: dict[str, Any], days: list[date], day: date) -> dict[str, Any]:
    """Specimens entered after their deadline in the last 30 days: counted, and flagged
    so the team sees that the record was completed late."""
    month = day - timedelta(days=29)
    recent = sum(1 for d in days if d >= month)
    row["entered_late_30_days"] = recent
    if recent:
        row["flags"].append(f"entered late: {recent}")
    return row


def reconcile(
    ctx: Context, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    """``report reconcile``: per day, what was drawn and what became of it."""
    last = _day(end, "--to", ctx.today)
    first = _day(start, "--from", last - timedelta(days=13))
    if first > last:
        raise BadInput(f"--from {first} is after --to {last}")
    with viewing(ctx, "report reconcile") as (session, shown):
        draws = {
            d.day: d
            for d in session.exec(
                select(Draw).where(Draw.site == ctx.site, Draw.day >= first, Draw.day <= last)
            )
        }
        rows = session.exec(
            select(Screening)
            .join(Client, col(Client.id) == Screening.client_id)
            .where(Client.site == ctx.site, Screening.day >= first, Screening.day <= last)
        ).all()
        # No code or name is shown, but a day's counts and excusals (a hold's reason, who
        # approved) are about the clients screened that day: recorded as read.
        shown.update(
            session.exec(
                select(Client.uid)
                .join(Screening, col(Screening.client_id) == Client.id)
                .where(Client.site == ctx.site, Screening.day >= first, Screening.day <= last)
                .distinct()
            ).all()
        )
        in_range = sa.and_(
            col(Client.site) == ctx.site, col(Screening.day) >= first, col(Screening.day) <= last
        )
        # Collected but still waiting for the lab: some analyte has no outcome yet.
        awaiting = set(
            session.exec(
                _specimens(select(Result.screening_id))
                .join(AnalyteResult, AnalyteResult.version_id == ResultVersion.id)
                .where(in_range, AnalyteResult.outcome == "pending")
            ).all()
        ) | set(  # and a lab's report that is only preliminary (docs/labs.md)
            session.exec(
                _specimens(select(Result.screening_id)).where(
                    in_range, ResultVersion.lab_status == "preliminary"
                )
            ).all()
        )
        # Each specimen's validity as its current version says (an adulterated or
        # substituted specimen is a refusal, a miss: core.measures.is_miss, as in the
        # timeline and the team report), and whether it was entered late.
        # By screening id, looked up with Screening.id (typed int | None by SQLModel).
        validity: dict[int | None, str] = {}
        late: set[int] = set()
        for screening_id, judged, late_reason in session.execute(
            _specimens(
                sa.select(
                    col(Result.screening_id), col(ResultVersion.validity), col(Result.late_reason)
                )
            ).where(in_range)
        ):
            validity[screening_id] = judged
            if late_reason is not None:
                late.add(screening_id)
        beacons = _beacons(session, draws.values())
    by_day: dict[date, list[Screening]] = defaultdict(list)
    for screening in rows:
        by_day[screening.day].append(screening)
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    off = why_no_draw(ctx, every_day)
    report = []
    for day in every_day:
        found = by_day.get(day, [])
        drawn = [s for s in found if s.draw_id is not None]
        statuses: defaultdict[str, int] = defaultdict(int)
        for s in found:
            statuses[shown_status(s, ctx.now)] += 1
        draw, no_draw = _draw_words(day, draws.get(day), off.get(day), ctx.today)
        if beacons.get(day) == "missing":  # flagged wherever the day is accounted for
            draw += ", no beacon"
        report.append(
            {
                "date": day.isoformat(),
                "draw": draw,
                "no_draw": no_draw,
                # The public beacon round that decided the draw ("drand-quicknet:R"),
                # "missing" for a day drawn without the one its policy named, or None.
                "beacon": beacons.get(day),
                "selected": len(drawn),
                "other": len(found) - len(drawn),
                "collected": statuses["collected"],
                "resulted": sum(
                    1 for s in found if s.status == "collected" and s.id not in awaiting
                ),
                "missed": sum(1 for s in found if is_miss(s.status, validity.get(s.id))),
                "entered_late": sum(1 for s in found if s.id in late),
                "excused": statuses["excused"],
                # Excusals, and misses reversed by an amendment (whatever became of them).
                "excusals": sorted(
                    _excusal(s)
                    for s in found
                    if s.status == "excused" or s.reversed_status is not None
                ),
                "reversed": sorted(
                    f"{status_words(s.reversed_status)} reversed ({s.reversal_approver})"
                    for s in found
                    if s.reversed_status is not None
                ),
                "cancelled": statuses["cancelled"],
                "pending": statuses["pending"],
                "overdue": statuses["overdue"],
            }
        )
    return report


def _beacons(session: Any, draws: Any) -> dict[date, str | None]:
    """Each draw's beacon, as its draw entry says (docs/ledger-format.md)."""
    by_seq = {draw.created_seq: draw.day for draw in draws}
    found: dict[date, str | None] = {}
    for seq, canonical in session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.canonical).where(_LEDGER.c.seq.in_(list(by_seq)))
    ):
        found[by_seq[seq]] = label_of(json.loads(canonical)["body"])
    return found


def _draw_words(
    day: date, draw: Draw | None, off: NoDraw | None, today: date
) -> tuple[str, str | None]:
    """What the day's "draw" column says, and for tools why there is none: ``missed`` (a
    meeting day nobody drew: the one that needs attention), ``closed``, ``no_meeting``,
    ``before_start`` or ``not_yet`` (today before its draw)."""
    if off is not None and off.kind == "closed":
        return off.words.removeprefix("clinic "), off.kind
    # Short words, so that the column stays readable at 80 characters; schedule next
    # gives the reasons in full.
    # A day nobody meets reads the same whether or not the daily job recorded its empty
    # draw.
    short = {"no_meeting": "no meetings", "before_start": "before opening"}
    if off is not None:
        return short.get(off.kind, off.words), off.kind
    if draw is not None:
        return ("late draw" if draw.late_reason else "drawn"), None
    if day >= today:
        return "not drawn yet", "not_yet"
    return "no draw (missed)", "missed"


def _specimens(statement: Any) -> Any:
    """``statement`` over results, joined to their current version, screening and client."""
    return (
        statement.join(ResultVersion, ResultVersion.seq == Result.ledger_seq)
        .join(Screening, Screening.id == Result.screening_id)
        .join(Client, Client.id == Screening.client_id)
    )


def _excusal(screening: Screening) -> str:
    """An excusal as the reconciliation lists it: its code and who approved it, or the
    hold's reason for one a hold made, or the miss an amendment reversed."""
    if screening.excuse_code == "hold":
        return f"hold ({screening.status_note})"
    if screening.reversed_status is not None:
        was = status_words(screening.reversed_status)
        return f"{was} reversed ({screening.reversal_approver})"
    return f"{screening.excuse_code} ({screening.approved_by})"
