"""A client's history in words, from the ledger by its indexed uid column: the events
the timeline lists, and each stay in the program.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.timeline import Event, ScreeningFact
from screening.core.wording import status_words
from screening.db.models import (
    Client,
    Hold,
    LedgerRow,
    Result,
    ResultVersion,
    Screening,
    StaffName,
    table_of,
)
from screening.services.plumbing.context import Context
from screening.services.progress.as_of import versions_in_force

_LEDGER = table_of(LedgerRow)


def history(
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
    in_force = versions_in_force(select(Client.id).where(Client.id == client.id), as_of)
    for latest, screening_id, created in session.execute(
        sa.select(in_force.c.seq, col(Result.screening_id), col(Result.created_seq)).join(
            Result, col(Result.id) == in_force.c.result_id
        )
    ):
        fact = by_id[screening_id]
        result_day[created] = fact.day
        found = f" ({', '.join(fact.unexpected)}" + (", confirmed)" if fact.confirmed else ")")
        reading = (fact.reading or "").replace("_", " ")
        reads[latest] = (
            # Pending: some analyte awaits the lab, or the lab's report is preliminary.
            f": reads {'awaiting the lab' if reading == 'pending' else reading}"
            + (found if fact.unexpected else "")
            + (f"; specimen {fact.validity}" if fact.validity not in (None, "valid") else "")
        )
    # How final each lab's HL7 report was (preliminary, final, corrected, ...).
    lab_said: dict[int, str] = {
        seq: status
        for seq, status in session.execute(
            sa.select(col(ResultVersion.seq), col(ResultVersion.lab_status))
            .join(Result, col(Result.id) == ResultVersion.result_id)
            .join(Screening, col(Screening.id) == Result.screening_id)
            .where(
                col(Screening.client_id) == client.id, col(ResultVersion.lab_status).is_not(None)
            )
        )
    }
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
        sa.select(_LEDGER.c.seq, _LEDGER.c.at, col(Screening.reason), col(Screening.day))
        .join(Screening, col(Screening.created_seq) == _LEDGER.c.seq)
        .where(
            col(Screening.client_id) == client.id,
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
            sa.select(col(Result.created_seq), col(Result.collected_at), col(Result.late_reason))
            .join(Screening, col(Screening.id) == Result.screening_id)
            .where(col(Screening.client_id) == client.id)
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
            sa.select(col(Screening.created_seq), col(Screening.due_by)).where(
                col(Screening.client_id) == client.id
            )
        )
    }
    # Approvers are in the ledger as digests; staff read their names.
    staff: dict[str, str] = dict(
        session.execute(
            sa.select(col(StaffName.digest), col(StaffName.name)).where(
                col(StaffName.site) == client.site
            )
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
            if seq in lab_said:  # a lab's HL7 report says how final it is
                text = text.replace(
                    f"amended: {body['reason'].replace('_', ' ')}",
                    f"amended: {body['reason'].replace('_', ' ')} "
                    f"({lab_said[seq].replace('_', ' ')})",
                    1,
                )
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
        status = status_words(body["status"])
        if body["action"] == "reverse":
            reason = row.status_note if row is not None else ""
            approver = row.reversal_approver if row is not None else ""
            return f"{status_words(body['reversed'])} reversed: {reason}, approved by {approver}"
        if body["status"] == "excused" and body.get("excuse") == "hold":
            return f"excused: on hold ({row.status_note if row is not None else 'hold'})"
        if body["status"] == "excused":
            approver = body.get("approved_by") or (staff or {}).get(body.get("approver", ""), "?")
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
