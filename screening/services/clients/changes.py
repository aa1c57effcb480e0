"""Clients enrolled and changed: `clients add`, `update`, `hold`, `discharge` and
`readmit`, each one write with its ledger entry, and the lists `clients list` and `show`
read. The client rows every job looks up are in records/clients.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core import validate
from screening.core.canonical import canonical_text
from screening.db.models import Client, Hold, Screening, flushed_id
from screening.errors import BadInput
from screening.services.access.viewing import viewing
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter, new_salt
from screening.services.records.clients import (
    checked,
    client_state,
    find,
    hold_state,
    medication_problems,
    require_active,
    summary,
)
from screening.services.records.upkeep import writing


@dataclass(frozen=True)
class NewClient:
    code: str
    name: str | None
    track: str
    phase: str
    admitted_on: date
    medications: list[str]
    renamed: tuple[tuple[str, str], ...] = ()


class InvalidFields(BadInput):
    """One or more fields of an enrolment are unusable: ``problems`` is (field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems[0][1])
        self.problems = problems


def check_new(
    ctx: Context,
    code: str,
    track: str,
    phase: str,
    name: str | None,
    admitted: str | None,
    medications: list[str],
) -> NewClient:
    """Validate one enrolment's fields (no database access), reporting every bad one."""
    settings = ctx.settings
    checks = {
        "code": lambda: validate.client_code(code),
        "name": lambda: validate.free_text(name, "name", False),
        "track": lambda: validate.track(settings, track.strip()),
        "phase": lambda: validate.phase(settings, phase.strip()),
        "admitted_on": lambda: (
            validate.parse_date(admitted, "admission date")
            if admitted and admitted.strip()
            else ctx.today
        ),
        "medications": lambda: validate.medications(medications, settings.vocabulary),
    }
    values: dict[str, Any] = {}
    problems = []
    for field, check in checks.items():
        try:
            values[field] = check()
        except validate.Invalid as error:
            problems.append((field, str(error)))
    if problems:
        raise InvalidFields(problems)
    return NewClient(**values, renamed=tuple(validate.renamed(medications, settings.vocabulary)))


def enrol(session: Session, writer: LedgerWriter, ctx: Context, new: NewClient) -> Client:
    """Insert one client and its ledger entry (the caller holds the transaction)."""
    row = Client(
        uid=str(uuid.uuid4()),
        site=ctx.site,
        code=new.code,
        name=new.name,
        salt=new_salt(),
        track=new.track,
        phase=new.phase,
        status="active",
        admitted_on=new.admitted_on,
        medications=canonical_text(new.medications),
        ledger_seq=0,
    )
    entry = writer.append(ctx.site, "client", {"action": "enrol", "client": client_state(row)})
    row.ledger_seq = entry.seq
    session.add(row)
    return row


def add(
    ctx: Context,
    code: str,
    track: str,
    phase: str,
    name: str | None = None,
    admitted: str | None = None,
    medications: list[str] | None = None,
) -> dict[str, Any]:
    new = check_new(ctx, code, track, phase, name, admitted, medications or [])
    with writing(ctx) as (session, writer):
        if _exists(session, ctx.site, new.code):
            raise BadInput(f"client code {new.code!r} is already enrolled at site {ctx.site!r}")
        # Typed in any case, a code must name one client (codes are ASCII: lower() folds).
        # By the (site, lower(code)) index: asked for the code alone, SQLite's planner
        # read every code of the site from the unique (site, code) index instead.
        known = session.execute(
            sa.select(col(Client.code), col(Client.track)).where(
                col(Client.site) == ctx.site, sa.func.lower(Client.code) == new.code.lower()
            )
        ).first()
        if known is not None:
            raise BadInput(
                f"client code {new.code!r} differs only by case from {known[0]}, already "
                f"enrolled at site {ctx.site!r}; choose another code"
            )
        row = enrol(session, writer, ctx, new)
        session.flush()
        return {**summary(row), "renamed": list(new.renamed)}


def _exists(session: Session, site: str, code: str) -> bool:
    return (
        session.exec(select(Client.id).where(Client.site == site, Client.code == code)).first()
        is not None
    )


def codes(session: Session, site: str) -> set[str]:
    return set(session.exec(select(Client.code).where(Client.site == site)).all())


def listing(
    ctx: Context, status: str | None = None, track: str | None = None
) -> list[dict[str, Any]]:
    if status is not None and status not in ("active", "discharged"):
        raise BadInput(f"unknown status {status!r}; use active or discharged")
    if track is not None:
        track = checked(validate.track, ctx.settings, track)
    with viewing(ctx, "clients list") as (session, shown):
        query = select(Client).where(Client.site == ctx.site)
        if status:
            query = query.where(Client.status == status)
        if track:
            query = query.where(Client.track == track)
        vocabulary = ctx.settings.vocabulary
        rows = list(session.exec(query.order_by(Client.code)))
        shown.update(row.uid for row in rows)
        problems: dict[str, list[str]] = {}
        for problem in medication_problems(vocabulary, rows):
            problems.setdefault(problem["code"], []).append(problem["problem"])
        return [
            {**summary(row, vocabulary), "medication_problems": problems.get(row.code, [])}
            for row in rows
        ]


def show(ctx: Context, code: str) -> dict[str, Any]:
    from screening.services.clients.holds import hold_view

    with viewing(ctx, "clients show") as (session, shown):
        row = find(session, ctx.site, code)
        shown.add(row.uid)
        holds = session.exec(
            select(Hold).where(Hold.client_id == row.id).order_by(col(Hold.starts_on))
        ).all()
        return {
            **summary(row, ctx.settings.vocabulary),
            "medication_problems": [
                p["problem"] for p in medication_problems(ctx.settings.vocabulary, [row])
            ],
            "uid": row.uid,
            "discharge_reason": row.discharge_reason,
            "holds": [hold_view(h) for h in holds],
        }


def update(
    ctx: Context,
    code: str,
    phase: str | None = None,
    track: str | None = None,
    medications: list[str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    if phase is None and track is None and medications is None and name is None:
        raise BadInput("nothing to change; pass --phase, --track, --meds or --name")
    changes: dict[str, Any] = {}
    if phase is not None:
        changes["phase"] = checked(validate.phase, ctx.settings, phase)
    if track is not None:
        changes["track"] = checked(validate.track, ctx.settings, track)
    renamed: list[tuple[str, str]] = []
    if medications is not None:
        vocabulary = ctx.settings.vocabulary
        changes["medications"] = canonical_text(
            checked(validate.medications, medications, vocabulary)
        )
        renamed = validate.renamed(medications, vocabulary)
    if name is not None:
        changes["name"] = checked(validate.free_text, name, "name", False)
    with writing(ctx) as (session, writer):
        row = find(session, ctx.site, code)
        require_active(row)
        changed = sorted(field for field, value in changes.items() if getattr(row, field) != value)
        if not changed:
            raise BadInput(f"client {row.code} already has those values; nothing changed")
        for field in changed:
            setattr(row, field, changes[field])
        entry = writer.append(
            ctx.site,
            "client",
            {
                "action": "update",
                "changed": changed,
                "client": client_state(row),
            },
        )
        row.ledger_seq = entry.seq
        session.add(row)
        session.flush()
        return {**summary(row), "changed": changed, "renamed": renamed}


def hold(ctx: Context, code: str, start: str, end: str, reason: str) -> dict[str, Any]:
    starts_on = checked(validate.parse_date, start, "--from")
    ends_on = checked(validate.parse_date, end, "--to")
    text = checked(validate.free_text, reason, "--reason")
    if ends_on < starts_on:
        raise BadInput(
            f"the hold ends ({ends_on}) before it starts ({starts_on}); swap --from and --to"
        )
    with writing(ctx) as (session, writer):
        row = find(session, ctx.site, code)
        require_active(row)
        assert row.id is not None  # read from the database: it has its id
        record = Hold(
            client_id=row.id,
            starts_on=starts_on,
            ends_on=ends_on,
            reason=text,
            salt=new_salt(),
            ledger_seq=0,
        )
        entry = writer.append(ctx.site, "hold", {"action": "add", "hold": hold_state(record, row)})
        record.ledger_seq = entry.seq
        session.add(record)
        session.flush()
        from screening.services.records.screenings import excuse_for_hold

        # A hold entered after a day's draw excuses that day's screening (DESIGN §3).
        excused = excuse_for_hold(
            session,
            writer,
            ctx,
            row,
            starts_on,
            ends_on,
            text,
            entry.seq,
        )
        session.flush()
        return {
            "id": record.id,
            "code": row.code,
            "from": starts_on.isoformat(),
            "to": ends_on.isoformat(),
            "reason": text,
            "excused": [{"screening": s.id, "date": s.day.isoformat()} for s in excused],
        }


def discharge(
    ctx: Context, code: str, on: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    day = checked(validate.parse_date, on, "--on") if on else ctx.today
    text = checked(validate.free_text, reason, "--reason", False)
    if day > ctx.today:
        raise BadInput(f"--on {day} is in the future; record a discharge on or after the day")
    with writing(ctx) as (session, writer):
        row = find(session, ctx.site, code)
        require_active(row)
        if day < row.admitted_on:
            raise BadInput(
                f"--on {day} is before client {row.code} was admitted ({row.admitted_on})"
            )
        row.status, row.discharged_on, row.discharge_reason = "discharged", day, text
        entry = writer.append(
            ctx.site, "client", {"action": "discharge", "client": client_state(row)}
        )
        row.ledger_seq = entry.seq
        session.add(row)
        cancelled = _cancel_open_screenings(session, writer, ctx, row)
        session.flush()
        return {**summary(row), "cancelled": cancelled}


def _cancel_open_screenings(session: Session, writer: Any, ctx: Context, row: Client) -> list[int]:
    """A discharged client owes no specimen: screenings still open and not yet overdue
    are cancelled (a cancelled screening counts for nothing), so a client who completed
    the program does not end their record on a miss. One already past its deadline was
    missed before the discharge, and stays a miss."""
    from screening.services.records.screenings import set_status

    open_ones = session.exec(
        select(Screening)
        .where(
            Screening.client_id == row.id,
            Screening.status == "pending",
            Screening.due_by >= ctx.now,
        )
        .order_by(col(Screening.due_by), col(Screening.id))
    ).all()
    for screening in open_ones:
        set_status(writer, session, ctx, screening, row, "cancelled", note="client discharged")
    return [flushed_id(screening) for screening in open_ones]


def readmit(
    ctx: Context,
    code: str,
    on: str | None = None,
    phase: str | None = None,
    track: str | None = None,
) -> dict[str, Any]:
    """A discharged client comes back: the same uid and history, a new stay."""
    day = checked(validate.parse_date, on, "--on") if on else ctx.today
    if day > ctx.today:
        raise BadInput(f"--on {day} is in the future; record a re-admission on or after the day")
    new_phase = checked(validate.phase, ctx.settings, phase) if phase else None
    new_track = checked(validate.track, ctx.settings, track) if track else None
    with writing(ctx) as (session, writer):
        row = find(session, ctx.site, code)
        if row.status != "discharged":
            raise BadInput(f"client {row.code} is active; only a discharged client is re-admitted")
        assert row.discharged_on is not None  # a discharge records its day
        if day <= row.discharged_on:
            raise BadInput(
                f"--on {day} is not after the discharge on {row.discharged_on}; "
                "re-admit on a later day"
            )
        row.status, row.admitted_on = "active", day
        row.discharged_on = row.discharge_reason = None
        row.phase = new_phase or row.phase
        row.track = new_track or row.track
        entry = writer.append(
            ctx.site, "client", {"action": "readmit", "client": client_state(row)}
        )
        row.ledger_seq = entry.seq
        session.add(row)
        session.flush()
        return summary(row)
