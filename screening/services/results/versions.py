"""A result's versions: what each says, the digest its ledger entry holds, and the
versions and their analytes stored and read back.

A result is the collection (who, when, what specimen) plus versions of what it says:
the first as recorded, then one per amendment. Each version is a ledger entry holding a
salted digest of its content, never the content itself; `audit verify` recomputes it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.core.canonical import canonical_text, canonical_text_of_stored, private_digest
from screening.core.interpret import AnalyteOutcome
from screening.core.ledger import rfc3339
from screening.db.models import (
    AnalyteResult,
    Client,
    Result,
    ResultVersion,
    Screening,
    flushed_id,
    table_of,
)
from screening.db.row_ids import give_ids
from screening.errors import BadInput
from screening.services.plumbing.context import Context

CHUNK = 500  # values in one IN (...): well under SQLite's and PostgreSQL's limits
_ANALYTES = table_of(AnalyteResult)
_RESULTS = table_of(Result)
_VERSIONS = table_of(ResultVersion)


def collection_content(result: Result) -> dict[str, Any]:
    return {
        "specimen_type": result.specimen_type,
        "specimen_id": result.specimen_id,
        "collected_at": rfc3339(result.collected_at),
        "collector": result.collector,
        "observed": result.observed,
        "observed_reason": result.observed_reason,
        "temperature_ok": result.temperature_ok,
        "method": result.method,
        "panel": result.panel,
        "medications": json.loads(result.medications),
    }


def version_content(
    version: ResultVersion, analytes: list[AnalyteOutcome] | list[dict[str, Any]]
) -> dict[str, Any]:
    """What a version says; ``analytes`` as outcomes, or as their bodies (verify reads
    those straight from the rows)."""
    bodies = [a if isinstance(a, dict) else a.as_body() for a in analytes]
    content = {
        "reason": version.reason,
        "note": version.note,
        "lab_report_id": version.lab_report_id,
        "validity": version.validity,
        "validity_version": version.validity_version,
        "measures": json.loads(version.measures),
        "void": version.void,
        "analytes": sorted(bodies, key=lambda body: body["code"]),
    }
    if version.override_reason is not None:
        # Only when given, so that versions recorded before overrides existed keep
        # their digests.
        content["override_reason"] = version.override_reason
    if version.lab_status is not None or version.lab_message is not None:  # likewise
        content["lab_status"] = version.lab_status
        content["lab_message"] = version.lab_message
    return content


def content_digest(
    result: Result,
    version: ResultVersion,
    analytes: list[AnalyteOutcome] | list[dict[str, Any]],
    first: bool,
    stored: bool = False,
) -> str:
    """The digest a version's ledger entry holds; the first also covers the collection.
    ``stored``: the rows were read back from the database (verify), see
    ``canonical_text_of_stored``."""
    content = version_content(version, analytes)
    if first:
        content = {"collection": collection_content(result), **content}
    text = canonical_text_of_stored(content) if stored else canonical_text(content)
    return private_digest(result.salt, text) or ""


def store_versions(
    session: Session,
    stored: list[tuple[Result, ResultVersion, dict[str, AnalyteOutcome]]],
) -> None:
    """The versions (their results already flushed) and all their analytes, the analytes
    in one statement with no ORM object each."""
    for result, version, _ in stored:
        version.result_id = flushed_id(result)
    session.add_all([version for _, version, _ in stored])
    session.flush()
    _insert_analytes(session, [(flushed_id(version), analytes) for _, version, analytes in stored])


def insert_results(
    session: Session,
    stored: list[tuple[dict[str, Any], dict[str, Any], dict[str, AnalyteOutcome]]],
) -> None:
    """New results, their first versions and their analytes as plain rows (ids given,
    db/row_ids.py), in one statement of each: a day's specimens make no ORM object."""
    if not stored:
        return
    session.execute(sa.insert(_RESULTS), [result for result, _, _ in stored])
    session.execute(sa.insert(_VERSIONS), [version for _, version, _ in stored])
    _insert_analytes(session, [(version["id"], analytes) for _, version, analytes in stored])


def _insert_analytes(
    session: Session, versions: list[tuple[int, dict[str, AnalyteOutcome]]]
) -> None:
    rows = [
        {
            "version_id": version_id,
            "code": analyte.code,
            "outcome": analyte.outcome,
            "stage": analyte.stage,
            "level": None if analyte.level is None else str(analyte.level),
            "cutoff": None if analyte.cutoff is None else str(analyte.cutoff),
        }
        for version_id, analytes in versions
        for analyte in analytes.values()
    ]
    if rows:
        give_ids(session, _ANALYTES, rows)
        session.execute(sa.insert(_ANALYTES), rows)


def current_version(session: Session, result: Result) -> tuple[ResultVersion, list[AnalyteOutcome]]:
    version = session.exec(
        select(ResultVersion).where(ResultVersion.seq == result.ledger_seq)
    ).one()
    return version, analytes_of(session, version)


def current_versions(
    session: Session, results: list[Result]
) -> dict[int, tuple[ResultVersion, list[AnalyteOutcome]]]:
    """Each result's current version and its analytes, in one query of each per chunk."""
    by_seq = {result.ledger_seq: flushed_id(result) for result in results}
    found: dict[int, tuple[ResultVersion, list[AnalyteOutcome]]] = {}
    ordered = sorted(by_seq)
    for start in range(0, len(ordered), CHUNK):
        versions = session.exec(
            select(ResultVersion).where(col(ResultVersion.seq).in_(ordered[start : start + CHUNK]))
        ).all()
        analytes = analytes_by_version(session, [flushed_id(version) for version in versions])
        for version in versions:
            found[by_seq[version.seq]] = (version, analytes.get(flushed_id(version), []))
    return found


def analytes_of(session: Session, version: ResultVersion) -> list[AnalyteOutcome]:
    version_id = flushed_id(version)
    return analytes_by_version(session, [version_id]).get(version_id, [])


def _analyte_rows(session: Session, version_ids: list[int]) -> Any:
    return session.execute(
        sa.select(
            _ANALYTES.c.version_id,
            _ANALYTES.c.code,
            _ANALYTES.c.outcome,
            _ANALYTES.c.stage,
            _ANALYTES.c.level,
            _ANALYTES.c.cutoff,
        ).where(_ANALYTES.c.version_id.in_(version_ids))
    )


def analyte_bodies_by_version(
    session: Session, version_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """The analytes of many versions as the bodies their digest covers, from the stored
    text as it is (not parsed into numbers and back: a level edited in the database
    then changes the digest however it was written)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for version_id, code, outcome, stage, level, cutoff in _analyte_rows(session, version_ids):
        found.setdefault(version_id, []).append(
            {"code": code, "outcome": outcome, "stage": stage, "level": level, "cutoff": cutoff}
        )
    return found


def analytes_by_version(
    session: Session, version_ids: list[int]
) -> dict[int, list[AnalyteOutcome]]:
    """The analytes of many versions in one query, by version id."""
    found: dict[int, list[AnalyteOutcome]] = {}
    for version_id, code, outcome, stage, level, cutoff in _analyte_rows(session, version_ids):
        found.setdefault(version_id, []).append(
            AnalyteOutcome(
                code,
                outcome,
                stage,
                None if level is None else Decimal(level),
                None if cutoff is None else Decimal(cutoff),
            )
        )
    return found


MAX_RESULT = 2**31 - 1  # ids are 32-bit integers in PostgreSQL


def find_result(
    session: Session, ctx: Context, reference: int | str
) -> tuple[Result, Screening, Client]:
    """A result by its number (``results list``) or by its specimen id, the label staff
    hold in their hand (``SP-0193``): digits alone are a number, anything else a label."""
    text = str(reference).strip()
    result = None
    if text.isdigit():
        number = int(text)
        if 1 <= number <= MAX_RESULT:
            result = session.get(Result, number)
        what = f"result {text}"
    else:
        # A label is one label whatever its case (the folded index finds it).
        found = session.exec(
            select(Result).where(sa.func.lower(col(Result.specimen_id)) == text.lower())
        ).all()
        exact = [r for r in found if r.specimen_id == text]
        result = exact[0] if exact else (found[0] if len(found) == 1 else None)
        what = f"result with specimen id {text}"
    screening = session.get(Screening, result.screening_id) if result else None
    client = session.get(Client, screening.client_id) if screening else None
    if result is None or screening is None or client is None or client.site != ctx.site:
        raise BadInput(
            f"no {what}; give the result's number or its specimen id (see `screening results list`)"
        )
    return result, screening, client
