"""A screening's facts as the timeline and the team report read them: its status, and
its result as its version in force reads, now or as the record stood at a past instant.

Four queries for any number of clients (a handful more as of a past instant), never one
per client.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.interpret import AnalyteOutcome, counts_as, read_result
from screening.core.timeline import ScreeningFact
from screening.db.models import AnalyteResult, LedgerRow, Result, ResultVersion, Screening, table_of
from screening.services.plumbing.context import Context
from screening.services.progress.as_of import status_changes, status_then, versions_in_force

_LEDGER = table_of(LedgerRow)


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
    screenings = session.exec(select(Screening).where(col(Screening.client_id).in_(clients))).all()
    later: dict[int | None, tuple[datetime, datetime]] = {}
    if as_of is not None:
        created, changed = _LEDGER.alias("created"), _LEDGER.alias("changed")
        later = {
            screening_id: (made, set_at)
            for screening_id, made, set_at in session.execute(
                sa.select(col(Screening.id), created.c.at, changed.c.at)
                .join(created, created.c.seq == Screening.created_seq)
                .join(changed, changed.c.seq == Screening.ledger_seq)
                .where(
                    col(Screening.client_id).in_(clients),
                    sa.or_(created.c.at > as_of, changed.c.at > as_of),
                )
            )
        }
    in_force = versions_in_force(clients, as_of)
    results = {
        r.screening_id: r
        for r in session.exec(
            select(Result)
            .join(Screening, col(Screening.id) == Result.screening_id)
            .where(col(Screening.client_id).in_(clients))
        )
    }
    versions = {
        v.result_id: v
        for v in session.exec(
            select(ResultVersion).join(in_force, in_force.c.seq == ResultVersion.seq)
        )
    }
    analytes: dict[int, list[AnalyteOutcome]] = defaultdict(list)
    for row in session.exec(
        select(AnalyteResult)
        .join(ResultVersion, col(ResultVersion.id) == AnalyteResult.version_id)
        .join(in_force, in_force.c.seq == ResultVersion.seq)
    ):
        analytes[row.version_id].append(
            AnalyteOutcome(
                row.code, row.outcome, row.stage, _decimal(row.level), _decimal(row.cutoff)
            )
        )
    # Keyed by the screenings' ids, typed ``int | None`` by SQLModel for rows not yet
    # added: these were read from the database.
    status: dict[int | None, str | None] = {s.id: s.status for s in screenings}
    if as_of is not None:
        changes = status_changes(session, [s for s in screenings if s.id in later])
        status.update(
            {
                s.id: status_then(
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
        assert s.id is not None  # read from the database: it has its id
        then = status[s.id]
        assert then is not None  # screenings created later were left out above
        # A pending screening past its deadline reads "overdue" until a write sweeps it.
        shown = "overdue" if then == "pending" and s.due_by < (as_of or ctx.now) else then
        result = results.get(s.id)
        reading: str | None = None
        positives: tuple[str, ...] = ()
        confirmed, validity = False, None
        unexpected: tuple[str, ...] = ()
        if result is not None:
            assert result.id is not None
            version = versions[result.id]
            assert version.id is not None
            read = read_result(
                analytes[version.id],
                json.loads(result.medications),
                settings.vocabulary,
                version.validity,
                result.temperature_ok,
                version.void,
                lab_status=version.lab_status,
            )
            reading, positives = read.summary, tuple(read.positives)
            confirmed, validity = read.confirmed, version.validity
            # A result still pending names no unexpected positive: a lab's preliminary
            # report counts for nothing until its final one.
            unexpected = tuple(
                sorted(code for code, how in read.analytes.items() if how == "unexpected_positive")
                if read.summary != "pending"
                else ()
            )
        facts[s.client_id].append(
            ScreeningFact(
                id=s.id,
                day=s.day,
                reason=s.reason,
                status=shown,
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


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
