"""Reading results back: lists, pending screenings, one result with its history."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from screening.core import validate
from screening.core.interpret import AnalyteOutcome, Reading, counts_as, read_result
from screening.db.models import Client, LedgerRow, Result, ResultVersion, Screening
from screening.errors import BadInput
from screening.services.access.viewing import viewing
from screening.services.plumbing.context import Context
from screening.services.records.clients import find
from screening.services.records.screenings import STATUSES, shown_status
from screening.services.results.versions import analytes_of, current_version, find_result


def reading(
    ctx: Context, result: Result, version: ResultVersion, analytes: list[AnalyteOutcome]
) -> Reading:
    return read_result(
        analytes,
        json.loads(result.medications),
        ctx.settings.vocabulary,
        version.validity,
        result.temperature_ok,
        version.void,
        version.override_reason,
        version.lab_status,
    )


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return validate.parse_date(text, what)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


def listing(
    ctx: Context,
    code: str | None = None,
    start: str | None = None,
    end: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Screenings with their current result and reading, oldest first."""
    first, last = _day(start, "--from"), _day(end, "--to")
    statuses = (*STATUSES, "overdue")
    if status is not None:
        try:
            status = validate.choice(status, statuses, "--status")
        except validate.Invalid as error:
            raise BadInput(str(error)) from None
    with viewing(ctx, "results list") as (session, shown):
        query = (
            select(Screening, Client)
            .join(Client, col(Client.id) == Screening.client_id)
            .where(Client.site == ctx.site)
        )
        if code is not None:
            query = query.where(Client.id == find(session, ctx.site, code).id)
        if first is not None:
            query = query.where(Screening.day >= first)
        if last is not None:
            query = query.where(Screening.day <= last)
        if status == "overdue":  # pending past the deadline, not swept yet
            query = query.where(Screening.status == "pending", Screening.due_by < ctx.now)
        elif status == "pending":
            query = query.where(Screening.status == "pending", Screening.due_by >= ctx.now)
        elif status is not None:
            query = query.where(Screening.status == status)
        rows = session.exec(
            query.order_by(col(Screening.day), col(Client.code), col(Screening.id))
        ).all()
        shown.update(client.uid for _, client in rows)
        return [_row(session, ctx, screening, client) for screening, client in rows]


def _row(session: Session, ctx: Context, screening: Screening, client: Client) -> dict[str, Any]:
    result = session.exec(select(Result).where(Result.screening_id == screening.id)).first()
    row: dict[str, Any] = {
        "screening": screening.id,
        "date": screening.day.isoformat(),
        "code": client.code,
        "reason": screening.reason,
        "status": shown_status(screening, ctx.now),
        "result": None,
        "reading": None,
        "positives": [],
        "flags": [],
        "says": [],
        "detail": "",
        "levels": "",
        "override_reason": None,
        "confirmed": None,
        "versions": 0,
        "excuse": screening.excuse_code,
        "approved_by": screening.approved_by,
    }
    if result is not None:
        version, analytes = current_version(session, result)
        read = reading(ctx, result, version, analytes)
        row.update(
            result=result.id,
            reading=read.summary,
            positives=read.positives,
            flags=list(read.flags),
            says=list(read.words),
            detail="; ".join(read.notable),
            levels=read.brief,
            override_reason=version.override_reason,
            confirmed=read.confirmed,
            validity=version.validity,
            versions=len(
                session.exec(
                    select(ResultVersion.id).where(ResultVersion.result_id == result.id)
                ).all()
            ),
        )
    row["counts_as"] = counts_as(
        screening.status,
        row["reading"],
        ctx.settings.results.missed_counts_as,
        row.get("validity"),
    )
    return row


def pending(ctx: Context) -> list[dict[str, Any]]:
    zone = ctx.settings.zone
    with viewing(ctx, "results pending") as (session, shown):
        rows = session.exec(
            select(Screening, Client)
            .join(Client, col(Client.id) == Screening.client_id)
            .where(Client.site == ctx.site, Screening.status == "pending")
            .order_by(col(Screening.due_by), col(Client.code))
        ).all()
        shown.update(c.uid for _, c in rows)
        return [
            {
                "screening": s.id,
                "date": s.day.isoformat(),
                "code": c.code,
                "name": c.name,
                "reason": s.reason,
                "status": shown_status(s, ctx.now),
                "observed": "yes" if s.observed_required else "",
                "due_by": s.due_by.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            }
            for s, c in rows
        ]


def show(ctx: Context, result_id: int | str) -> dict[str, Any]:
    """One result: the collection, what it says now, and every earlier version."""
    zone = ctx.settings.zone
    with viewing(ctx, "results show") as (session, shown):
        result, screening, client = find_result(session, ctx, result_id)
        shown.add(client.uid)
        versions = session.exec(
            select(ResultVersion)
            .where(ResultVersion.result_id == result.id)
            .order_by(col(ResultVersion.seq))
        ).all()
        history = []
        for version in versions:
            analytes = analytes_of(session, version)
            read = reading(ctx, result, version, analytes)
            history.append(
                {
                    "reason": version.reason,
                    "note": version.note,
                    "lab_report_id": version.lab_report_id,
                    "validity": version.validity,
                    "reading": read.summary,
                    "positives": read.positives,
                    "flags": list(read.flags),
                    "says": list(read.words),
                    "override_reason": version.override_reason,
                    "analytes": {
                        a.code: f"{a.outcome} ({a.stage})"
                        for a in sorted(analytes, key=lambda a: a.code)
                    },
                    "ledger_entry": version.seq,
                }
            )
        return {
            "result": result.id,
            "code": client.code,
            "screening": screening.id,
            "date": screening.day.isoformat(),
            "reason": screening.reason,
            "specimen": result.specimen_type,
            "specimen_id": result.specimen_id,
            "collected_at": result.collected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "collector": result.collector,
            "observed": result.observed,
            "method": result.method,
            "panel": result.panel,
            "medications": json.loads(result.medications),
            "vocabulary": ctx.settings.vocabulary.version,
            "entered_late": _entered_late(session, result, zone),
            "current": history[-1],
            "history": history[:-1],
        }


def _entered_late(session: Session, result: Result, zone: Any) -> dict[str, str] | None:
    """When a specimen entered after its deadline was entered (its entry's time), and why."""
    if result.late_reason is None:
        return None
    at = session.exec(select(LedgerRow.at).where(LedgerRow.seq == result.created_seq)).one()
    return {
        "entered_at": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "reason": result.late_reason,
    }
