"""Recording specimens collected for pending screenings: one, or a day's in one
transaction, all or none. Each becomes a result with its first version and a `result`
ledger entry; a specimen that needs an observed recollection creates it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.canonical import canonical_text, private_digest
from screening.core.interpret import AnalyteOutcome, needs_observed_recollection, read_result
from screening.core.ledger import rfc3339
from screening.db.locks import hold_append_lock
from screening.db.models import (
    Client,
    LedgerRow,
    Result,
    ResultVersion,
    Screening,
    flushed_id,
    table_of,
)
from screening.db.row_ids import next_id
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter, new_salt
from screening.services.records.clients import find
from screening.services.records.screenings import REVERSIBLE, create, first_open, key, pending_for
from screening.services.records.upkeep import writing
from screening.services.results.checks import (
    Checked,
    Collection,
    check_collection,
    check_collection_time,
    late_entry_reason,
    unstated_prescriptions,
)
from screening.services.results.findings import Findings
from screening.services.results.versions import CHUNK, content_digest, insert_results

_LEDGER = table_of(LedgerRow)
_RESULTS = table_of(Result)
_VERSIONS = table_of(ResultVersion)


def record(ctx: Context, code: str, findings: Findings, **details: Any) -> dict[str, Any]:
    """``results record``: a specimen collected for the client's pending screening."""
    return record_many(ctx, [Collection(code, findings, **details)])[0]


def record_many(ctx: Context, collections: Sequence[Collection]) -> list[dict[str, Any]]:
    """Specimens collected for pending screenings, in one transaction: all or none.

    The lookups are made once for all of them (clients, open screenings, selection
    times, specimen ids already used), so a day's specimens cost one query of each kind,
    not one of each per specimen."""
    checked = [check_collection(ctx, collection) for collection in collections]
    with writing(ctx) as (session, writer):
        clients = _clients_by_code(session, ctx.site, {c.given.code for c in checked})
        candidates = _open_screenings(session, [flushed_id(client) for client in clients.values()])
        selected_at = _entry_times(
            session, [s.created_seq for found in candidates.values() for s in found]
        )
        used = _used_specimen_ids(session, [c.specimen_id for c in checked if c.specimen_id])
        stored: list[tuple[dict[str, Any], dict[str, Any], dict[str, AnalyteOutcome]]] = []
        answers: list[dict[str, Any]] = []
        for item in checked:
            given = item.given
            client = clients.get(given.code)
            if client is None:  # typed in another case, or not there (find says which)
                client = clients[given.code] = find(session, ctx.site, given.code)
                if flushed_id(client) not in candidates:
                    candidates.update(_open_screenings(session, [flushed_id(client)]))
            open_ones = candidates.setdefault(flushed_id(client), [])
            if given.screening_id is not None:
                screening = pending_for(
                    session,
                    ctx,
                    client,
                    given.screening_id,
                    collected_at=item.moment,
                    observed=given.observed,
                )
            else:
                screening = first_open(
                    client, open_ones, item.moment, given.observed, ctx.settings.zone
                )
            if screening in open_ones:
                open_ones.remove(screening)
            if screening.created_seq not in selected_at:  # created in this transaction
                selected_at.update(_entry_times(session, [screening.created_seq]))
            check_collection_time(ctx, screening, item.moment, selected_at[screening.created_seq])
            if item.defaulted and not given.sent_to_lab:
                unstated_prescriptions(ctx, client, item)
            late = late_entry_reason(ctx, screening, client, item)
            if screening.observed_required and not given.observed:
                raise BadInput(
                    f"screening {screening.id} must be collected under direct "
                    "observation; add --observed"
                )
            if item.specimen_id and item.specimen_id.lower() in used:
                raise BadInput(
                    f"specimen id {item.specimen_id} is already recorded (labels are the "
                    "same whatever their case); check the label"
                )
            if item.specimen_id:
                used.add(item.specimen_id.lower())
            result, version, entry = _collect(ctx, session, writer, item, screening, client, late)
            stored.append((result, version, item.analytes))
            screening.status = "collected"
            screening.status_auto = False
            screening.ledger_seq = entry.seq
            session.add(screening)
            recollect = needs_observed_recollection(
                item.validity,
                item.measures,
                item.analytes.values(),
                given.temperature_ok,
                ctx.settings.validity,
            )
            recollection = None
            if recollect:
                recollection = create(
                    writer,
                    session,
                    ctx,
                    client,
                    "recollection",
                    note=recollect,
                    observed=True,
                    because=entry.seq,
                    replaces=screening,
                )
                session.flush()  # its id, should a later specimen in the batch be for it
                open_ones.append(recollection)
            answers.append(
                {
                    "code": client.code,
                    "result": result["id"],
                    "screening": screening,
                    "validity": item.validity,
                    "recollection": recollection,
                    "recollection_reason": recollect,
                    "panel": item.panel,
                    "defaulted": [] if given.sent_to_lab else item.defaulted,
                    "awaiting": item.defaulted if given.sent_to_lab else [],
                    "not_tested": [
                        code for code, a in item.analytes.items() if a.outcome == "not_tested"
                    ],
                    "override": given.findings.override_reason,
                    "reads": _stated(ctx, client, item),
                }
            )
        session.flush()
        insert_results(session, stored)
        for answer in answers:
            answer["screening"] = answer["screening"].id
            if answer["recollection"] is not None:
                answer["recollection"] = answer["recollection"].id
        return answers


def _stated(ctx: Context, client: Client, item: Checked) -> dict[str, Any]:
    """How the specimen reads, and each analyte staff stated (not the panel's default) in
    words, for `record` to say back: a level decides its outcome, and the person who
    typed it should see which."""
    read = read_result(
        item.analytes.values(),
        json.loads(client.medications),
        ctx.settings.vocabulary,
        item.validity,
        item.given.temperature_ok,
    )
    quiet = set(item.defaulted) | {
        code for code, a in item.analytes.items() if a.outcome in ("pending", "not_tested")
    }
    words = [
        word
        for (analyte, _, _, _), word in zip(read.details, read.words, strict=True)
        if analyte.code not in quiet
    ]
    return {"summary": read.summary, "analytes": words, "flags": list(read.flags)}


def _collect(
    ctx: Context,
    session: Session,
    writer: LedgerWriter,
    item: Checked,
    screening: Screening,
    client: Client,
    late_reason: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The result's row, its first version's and its ``result`` entry: plain rows, which
    ``insert_results`` stores together (a day's specimens make no ORM object each)."""
    given = item.given
    result: dict[str, Any] = {
        "id": next_id(session, _RESULTS),
        "screening_id": flushed_id(screening),
        "specimen_type": item.specimen,
        "specimen_id": item.specimen_id,
        "collected_at": item.moment,
        "collector": item.collector,
        "observed": given.observed,
        "observed_reason": item.observed_reason,
        "temperature_ok": given.temperature_ok,
        "method": item.method,
        "panel": item.panel,
        "medications": client.medications,
        "salt": new_salt(),
        "late_reason": late_reason,
        "created_seq": 0,
        "ledger_seq": 0,
    }
    version: dict[str, Any] = {
        "id": next_id(session, _VERSIONS),
        "result_id": result["id"],
        "seq": 0,
        "reason": "recorded",
        "validity": item.validity,
        "validity_version": ctx.settings.validity.version,
        "measures": canonical_text(item.measures.as_body()),
        "void": False,
        "override_reason": item.given.findings.override_reason,
        "note": None,
        "lab_report_id": None,
        "lab_status": None,
        "lab_message": None,
    }
    # content_digest reads attributes: the rows in the ORM objects' place.
    content = content_digest(
        cast(Result, SimpleNamespace(**result)),
        cast(ResultVersion, SimpleNamespace(**version)),
        list(item.analytes.values()),
        first=True,
    )
    body: dict[str, Any] = {
        "action": "record",
        "screening": key(screening, client),
        "uid": client.uid,
        "specimen_type": item.specimen,
        "method": item.method,
        "collected_at": rfc3339(item.moment),
        "content": content,
    }
    if late_reason is not None:
        # Entered after the deadline: the entry's own time is the entry time.
        body["entered_late"] = True
        body["late_reason"] = private_digest(result["salt"], late_reason)
    entry = writer.append(ctx.site, "result", body)
    result["created_seq"] = result["ledger_seq"] = version["seq"] = entry.seq
    return result, version, entry


def _clients_by_code(session: Session, site: str, codes: set[str]) -> dict[str, Client]:
    found: dict[str, Client] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), CHUNK):
        for client in session.exec(
            select(Client).where(
                Client.site == site,
                col(Client.code).in_(ordered[start : start + CHUNK]),
            )
        ):
            found[client.code] = client
    return found


def _open_screenings(session: Session, client_ids: list[int]) -> dict[int, list[Screening]]:
    """The clients' pending screenings and misses (a collection may settle the sweep's
    no-show; a miss staff recorded is named, to be reversed), each client's by deadline."""
    found: dict[int, list[Screening]] = {}
    ordered = sorted(client_ids)
    wanted = {"pending", *REVERSIBLE}
    for start in range(0, len(ordered), CHUNK):
        # By the clients' index, the status checked here: given the status in the query,
        # SQLite's planner read every pending screening and every miss of all time.
        ids = [
            screening_id
            for screening_id, status in session.execute(
                sa.select(col(Screening.id), col(Screening.status)).where(
                    col(Screening.client_id).in_(ordered[start : start + CHUNK])
                )
            )
            if status in wanted
        ]
        for part in range(0, len(ids), CHUNK):
            for screening in session.exec(
                select(Screening)
                .where(col(Screening.id).in_(ids[part : part + CHUNK]))
                .order_by(col(Screening.due_by), col(Screening.id))
            ):
                found.setdefault(screening.client_id, []).append(screening)
    for screenings in found.values():  # by deadline across the chunks of ids
        screenings.sort(key=lambda screening: (screening.due_by, screening.id or 0))
    return found


def _entry_times(session: Session, seqs: list[int]) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    ordered = sorted(set(seqs))
    for start in range(0, len(ordered), CHUNK):
        for seq, at in session.execute(
            sa.select(_LEDGER.c.seq, _LEDGER.c.at).where(
                _LEDGER.c.seq.in_(ordered[start : start + CHUNK])
            )
        ):
            found[seq] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return found


def _used_specimen_ids(session: Session, specimen_ids: list[str]) -> set[str]:
    """The labels already recorded, case-folded: a label is one label whatever its case
    (a lab may send it back upper-cased, and must not find another client's). Labels are
    one across a network's sites: read under the append lock, which another site's
    write holds until its labels are committed (db/locks.py)."""
    hold_append_lock(session)
    used: set[str] = set()
    ordered = sorted({text.lower() for text in specimen_ids})
    folded = sa.func.lower(col(Result.specimen_id))
    for start in range(0, len(ordered), CHUNK):
        used.update(session.exec(select(folded).where(folded.in_(ordered[start : start + CHUNK]))))
    return used
