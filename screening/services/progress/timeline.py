"""Gathering a client's progress for the timeline, and everyone's for the team report.

Reads only what it shows: one client's rows through indexed columns (client_id, the
ledger's uid), and for many clients a fixed handful of queries, never one per client.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from screening.core import validate
from screening.core.interpret import AnalyteOutcome, counts_as, read_result
from screening.core.measures import counted, measures, tally
from screening.core.selection import WEEKDAYS
from screening.core.timeline import Event, Facts, ScreeningFact, strip
from screening.db.models import (
    AnalyteResult,
    Client,
    Closure,
    Hold,
    LedgerRow,
    Result,
    ResultVersion,
    Screening,
    StaffName,
)
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.records.clients import find

_LEDGER = LedgerRow.__table__
STRIP_WEEKS = 8


def screening_facts(
    session: Session, ctx: Context, clients: Any, as_of: datetime | None = None
) -> dict[int, list[ScreeningFact]]:
    """Every screening of the clients selected by ``clients`` (a select of client ids),
    each with its current reading: four queries whatever the number of clients.

    ``as_of`` (an instant) reads the record as it stood then, with one query more: each
    result as its latest version entered by then says (later lab reports and amendments
    left out), a result entered later not there (its screening still pending), and a
    status set later back to pending (but a no-show the sweep wrote after a deadline that
    had passed by then). Screenings created later are left out.
    """
    screenings = session.exec(
        select(Screening).where(Screening.client_id.in_(clients))  # type: ignore[attr-defined]
    ).all()
    later: dict[int, tuple[datetime, datetime]] = {}
    if as_of is not None:
        created, changed = _LEDGER.alias("created"), _LEDGER.alias("changed")
        later = {
            screening_id: (made, set_at)
            for screening_id, made, set_at in session.execute(
                sa.select(Screening.id, created.c.at, changed.c.at)
                .join(created, created.c.seq == Screening.created_seq)
                .join(changed, changed.c.seq == Screening.ledger_seq)
                .where(
                    Screening.client_id.in_(clients),  # type: ignore[attr-defined]
                    sa.or_(created.c.at > as_of, changed.c.at > as_of),
                )
            )
        }
    in_force = _versions_in_force(clients, as_of)
    results = {
        r.screening_id: r
        for r in session.exec(
            select(Result)
            .join(Screening, Screening.id == Result.screening_id)
            .where(Screening.client_id.in_(clients))
        )
    }  # type: ignore[attr-defined]
    versions = {
        v.result_id: v
        for v in session.exec(
            select(ResultVersion).join(in_force, in_force.c.seq == ResultVersion.seq)
        )
    }
    analytes: dict[int, list[AnalyteOutcome]] = defaultdict(list)
    for row in session.exec(
        select(AnalyteResult)
        .join(ResultVersion, ResultVersion.id == AnalyteResult.version_id)
        .join(in_force, in_force.c.seq == ResultVersion.seq)
    ):
        analytes[row.version_id].append(
            AnalyteOutcome(
                row.code, row.outcome, row.stage, _decimal(row.level), _decimal(row.cutoff)
            )
        )
    status = {s.id: s.status for s in screenings}
    if as_of is not None:
        changes = _status_changes(session, [s for s in screenings if s.id in later])
        status.update(
            {
                s.id: _status_then(
                    s, later[s.id], as_of, changes.get((s.created_seq, s.client_id), [])
                )
                for s in screenings
                if s.id in later
            }
        )
        screenings = [s for s in screenings if status[s.id] is not None]
        results = {k: r for k, r in results.items() if r.id in versions}
    settings = ctx.settings
    facts: dict[int, list[ScreeningFact]] = defaultdict(list)
    for s in screenings:
        then = status[s.id]
        # A pending screening past its deadline reads "overdue" until a write sweeps it.
        shown = "overdue" if then == "pending" and s.due_by < (as_of or ctx.now) else then
        result = results.get(s.id)
        reading, positives, confirmed, validity, unexpected = None, (), False, None, ()
        if result is not None:
            version = versions[result.id]
            read = read_result(
                analytes[version.id],
                json.loads(result.medications),
                settings.vocabulary,
                version.validity,
                result.temperature_ok,
                version.void,
            )
            reading, positives = read.summary, tuple(read.positives)
            confirmed, validity = read.confirmed, version.validity
            unexpected = tuple(
                sorted(code for code, how in read.analytes.items() if how == "unexpected_positive")
            )
        facts[s.client_id].append(
            ScreeningFact(
                id=s.id,
                day=s.day,
                reason=s.reason,
                status=shown,  # type: ignore[arg-type]
                counts_as=counts_as(then, reading, settings.results.missed_counts_as, validity),
                reading=reading,
                positives=positives,
                confirmed=confirmed,
                validity=validity,
                excuse=s.excuse_code,
                unexpected=unexpected,
                replaces=s.replaces_id,
            )
        )
    return facts


def as_it_stood(ctx: Context, day: date) -> datetime | None:
    """The instant a report "as of ``day``" reads the record at: the end of that day in
    the site's zone, or None (now) for today and later."""
    if day >= ctx.today:
        return None
    # In UTC, as the ledger's times are stored: SQLite compares them as text, and a
    # local time there would shift the instant by the zone's offset.
    return datetime.combine(day + timedelta(days=1), time(), ctx.settings.zone).astimezone(UTC)


def _versions_in_force(clients: Any, as_of: datetime | None) -> Any:
    """(result_id, seq) of the version each result reads by: its current one, or with
    ``as_of`` the latest entered by then (none: the result was entered later)."""
    if as_of is None:
        return (
            sa.select(Result.id.label("result_id"), Result.ledger_seq.label("seq"))
            .join(Screening, Screening.id == Result.screening_id)
            .where(Screening.client_id.in_(clients))  # type: ignore[attr-defined]
            .subquery()
        )
    return (
        sa.select(ResultVersion.result_id, sa.func.max(ResultVersion.seq).label("seq"))
        .join(_LEDGER, _LEDGER.c.seq == ResultVersion.seq)
        .join(Result, Result.id == ResultVersion.result_id)
        .join(Screening, Screening.id == Result.screening_id)
        .where(Screening.client_id.in_(clients), _LEDGER.c.at <= as_of)  # type: ignore[attr-defined]
        .group_by(ResultVersion.result_id)
        .subquery()
    )


def _status_changes(
    session: Session, screenings: list[Screening]
) -> dict[tuple[int, int], list[tuple[datetime, str, bool]]]:
    """Each screening's changes of status as the ledger has them, in order: (when, the
    status it took, whether the sweep wrote it), by (creating entry, client id). One draw
    entry creates the screenings of every client it selects: the entry alone does not
    name a screening, its client's uid does too. Read only for the screenings changed
    after an as-of instant: a handful."""
    if not screenings:
        return {}
    uids = dict(
        session.execute(
            sa.select(Client.uid, Client.id).where(
                Client.id.in_({s.client_id for s in screenings})  # type: ignore[union-attr]
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


def _status_then(
    screening: Screening,
    later: tuple[datetime, datetime],
    as_of: datetime,
    changes: list[tuple[datetime, str, bool]],
) -> str | None:
    """The screening's status as the record stood at ``as_of``, from its changes in the
    ledger (see ``screening_facts``); None: it did not exist yet. A no-show the sweep
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


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


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
    with ctx.database.read() as session:
        client = find(session, ctx.site, code)
        first, last = _range(ctx, client, start, end)
        # A past day shows the record as it stood at the end of that day, as `report team
        # --date` does: the same measures for the same client and day.
        as_of = as_it_stood(ctx, last)
        screenings = screening_facts(
            session, ctx, select(Client.id).where(Client.id == client.id), as_of
        )
        events, stays = _history(session, ctx, client, screenings.get(client.id, []), as_of)
        late = _late_and_reversed(session, ctx, client)
        facts = Facts(
            stays=stays or ((client.admitted_on, client.discharged_on),),
            meeting_days=meeting_days(ctx, client.track),
            screenings=tuple(screenings.get(client.id, [])),  # type: ignore[arg-type]
            holds=tuple(
                (h.starts_on, h.last_day())  # type: ignore[misc]
                for h in session.exec(select(Hold).where(Hold.client_id == client.id))
                if h.last_day() is not None
            ),
            closures=frozenset(
                session.exec(
                    select(Closure.day).where(
                        Closure.site == ctx.site,
                        Closure.day >= first,
                        Closure.day <= last,
                        Closure.withdrawn_seq.is_(None),  # type: ignore[union-attr]
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


def _late_and_reversed(session: Session, ctx: Context, client: Client) -> dict[int, dict[str, Any]]:
    """Per screening: when a specimen entered late was entered and why, and the miss an
    amendment reversed (what it was, why, who approved)."""
    zone = ctx.settings.zone
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    for screening_id, reason, at in session.execute(
        sa.select(Result.screening_id, Result.late_reason, _LEDGER.c.at)
        .join(Screening, Screening.id == Result.screening_id)
        .join(_LEDGER, _LEDGER.c.seq == Result.created_seq)
        .where(Screening.client_id == client.id, Result.late_reason.is_not(None))  # type: ignore[union-attr]
    ):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        found[screening_id]["entered_late"] = {
            "entered_at": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "reason": reason,
        }
    for s in session.exec(
        select(Screening).where(
            Screening.client_id == client.id,
            Screening.reversed_status.is_not(None),  # type: ignore[union-attr]
        )
    ):
        found[s.id]["reversed"] = {  # type: ignore[index]
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


def _history(
    session: Session,
    ctx: Context,
    client: Client,
    screenings: list[ScreeningFact],
    as_of: datetime | None = None,
) -> tuple[list[Event], tuple[tuple[date, date | None], ...]]:
    """The client's history from the ledger, by its indexed uid column: the events in
    words, and each stay in the program (a re-admission starts another)."""
    zone = ctx.settings.zone
    by_id = {s.id: s for s in screenings}
    # The entry of each result's current version says how the result reads now.
    reads = {}
    result_day: dict[int, date] = {}
    in_force = _versions_in_force(select(Client.id).where(Client.id == client.id), as_of)
    for latest, screening_id, created in session.execute(
        sa.select(in_force.c.seq, Result.screening_id, Result.created_seq).join(
            Result, Result.id == in_force.c.result_id
        )
    ):
        fact = by_id[screening_id]
        result_day[created] = fact.day
        found = f" ({', '.join(fact.unexpected)}" + (", confirmed)" if fact.confirmed else ")")
        reads[latest] = (
            f": reads {(fact.reading or '').replace('_', ' ')}"
            + (found if fact.unexpected else "")
            + (f"; specimen {fact.validity}" if fact.validity not in (None, "valid") else "")
        )
    rows = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.at, _LEDGER.c.kind, _LEDGER.c.canonical)
        .where(
            _LEDGER.c.uid == client.uid,
            # As of a past day, only what had been entered by then.
            _LEDGER.c.at <= as_of if as_of is not None else sa.true(),
        )
        .order_by(_LEDGER.c.seq)
    ).all()
    drawn = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.at, Screening.reason, Screening.day)
        .join(Screening, Screening.created_seq == _LEDGER.c.seq)
        .where(
            Screening.client_id == client.id,
            _LEDGER.c.kind.in_(("draw", "draw_amend")),
            _LEDGER.c.at <= as_of if as_of is not None else sa.true(),
        )
    ).all()
    holds = {h.ledger_seq: h for h in session.exec(select(Hold).where(Hold.client_id == client.id))}
    rows_by_key = {
        (s.created_seq, client.uid): s
        for s in session.exec(select(Screening).where(Screening.client_id == client.id))
    }
    late_results = {
        created: (collected_at, reason)
        for created, collected_at, reason in session.execute(
            sa.select(Result.created_seq, Result.collected_at, Result.late_reason)
            .join(Screening, Screening.id == Result.screening_id)
            .where(Screening.client_id == client.id)
        )
    }
    events: list[tuple[int, Event]] = []

    def add(seq: int, at: datetime, text: str) -> None:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        events.append((seq, Event(at, at.astimezone(zone).date(), text)))

    for seq, at, reason, day in drawn:
        text = "selected at random" if reason == "random" else "selected: interval floor reached"
        entered = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone).date()
        if entered != day:  # `select --late DAY`: say which day the draw was for
            text += f" in the late draw for {day}"
        add(seq, at, text)
    previous: dict[str, Any] | None = None
    stays: list[tuple[date, date | None]] = []
    deadlines = {
        (created, client.uid): due
        for created, due in session.execute(
            sa.select(Screening.created_seq, Screening.due_by).where(
                Screening.client_id == client.id
            )
        )
    }
    # Approvers are in the ledger as digests; staff read their names.
    staff = dict(
        session.execute(
            sa.select(StaffName.digest, StaffName.name).where(StaffName.site == client.site)
        ).all()
    )
    for seq, at, kind, canonical in rows:
        body = json.loads(canonical)["body"]
        hold = holds.get(body["hold"].get("entry", seq)) if kind == "hold" else None
        row = (
            rows_by_key.get(tuple(body["screening"]))
            if kind == "screening" and (body["action"] != "create")
            else None
        )
        text = _event_text(kind, body, previous, hold, staff, row) + reads.get(seq, "")
        if kind == "client":
            previous = body["client"]
            if body["action"] in ("enrol", "readmit") or not stays:
                stays.append((date.fromisoformat(previous["admitted_on"]), None))
            discharged = previous["discharged_on"]
            stays[-1] = (stays[-1][0], date.fromisoformat(discharged) if discharged else None)
        if text and kind == "amendment" and body["result"] in result_day:
            text = text.replace("result amended", f"result of {result_day[body['result']]} amended")
        if text and kind == "screening" and body.get("auto"):
            # The sweep writes later; the miss happened at the deadline.
            at = deadlines.get(tuple(body["screening"]), at)
            if row is not None and row.status == "collected" and body["status"] == "no_show":
                # Settled since by a specimen collected in time and entered late: the
                # calendar shows the collection, and so does this line.
                text = "overdue at the deadline; the specimen collected in time was entered late"
        if text and kind == "result" and body.get("entered_late") and seq in late_results:
            # A late entry is shown when the specimen was collected, with when it was
            # entered and why: the calendar and this list tell one story.
            collected_at, reason = late_results[seq]
            entered = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone)
            text += f"; entered late on {entered:%Y-%m-%d %H:%M}: {reason}"
            at = collected_at
        if text:
            add(seq, at, text)
    return [e for _, e in sorted(events, key=lambda pair: (pair[1].at, pair[0]))], tuple(stays)


def _event_text(
    kind: str,
    body: dict[str, Any],
    previous: dict[str, Any] | None,
    hold: Hold | None,
    staff: dict[str, str] | None = None,
    row: Screening | None = None,
) -> str:
    if kind == "client":
        state = body["client"]
        if body["action"] == "enrol":
            return f"enrolled: phase {state['phase']}, track {state['track']}"
        if body["action"] == "discharge":
            return f"discharged on {state['discharged_on']}"
        if body["action"] == "readmit":
            return f"re-admitted on {state['admitted_on']}: phase {state['phase']}"
        changes = []
        for name in body.get("changed", []):
            if name in ("phase", "track") and previous is not None:
                changes.append(f"{name} {previous[name]} → {state[name]}")
            else:
                changes.append(f"{name} changed")
        return ", ".join(changes)
    if kind == "hold" and hold is not None:
        action = body.get("action", "add")
        if action == "end":
            return (
                f"hold {hold.starts_on} to {hold.ends_on} ended early, last day "
                f"{body['hold']['to']}: {hold.change_reason}"
            )
        if action == "withdraw":
            return f"hold {hold.starts_on} to {hold.ends_on} withdrawn: {hold.change_reason}"
        return f"hold {hold.starts_on} to {hold.ends_on}: {hold.reason}"
    if kind == "screening":
        if body["action"] == "create":
            return (
                "observed recollection ordered"
                if body["reason"] == "recollection"
                else "for-cause screening ordered"
            )
        status = body["status"].replace("_", " ")
        if body["action"] == "reverse":
            reason = row.status_note if row is not None else ""
            approver = row.reversal_approver if row is not None else ""
            return (
                f"{body['reversed'].replace('_', ' ')} reversed: {reason}, approved by {approver}"
            )
        if body["status"] == "excused" and body.get("excuse") == "hold":
            return f"excused: on hold ({row.status_note if row is not None else 'hold'})"
        if body["status"] == "excused":
            approver = body.get("approved_by") or (staff or {}).get(body.get("approver"), "?")
            return f"excused ({body['excuse']}, approved by {approver})"
        return f"{status} (at the deadline)" if body["auto"] else status
    if kind == "result":
        return (
            f"specimen collected ({body['specimen_type'].replace('_', ' ')}, "
            f"{body['method'].replace('_', ' ')})"
        )
    if kind == "amendment":
        return f"result amended: {body['reason'].replace('_', ' ')}"
    return ""
