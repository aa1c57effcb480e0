"""Amending what a result says: a new version with its reason, never an overwrite.

The reasons are a lab's report or confirmation, a corrected report, a data-entry error,
or the wrong client (which voids the result). An amendment that shows a specimen needs
an observed recollection creates it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlmodel import Session

from screening.core import validate
from screening.core.canonical import canonical_text
from screening.core.interpret import (
    AnalyteOutcome,
    Measures,
    contradicts_level,
    needs_observed_recollection,
)
from screening.db.models import Client, Result, ResultVersion, Screening, flushed_id
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter
from screening.services.records.screenings import create, set_status
from screening.services.records.upkeep import writing
from screening.services.results.findings import (
    Findings,
    analytes_given,
    override_given,
    validity_given,
)
from screening.services.results.versions import (
    content_digest,
    current_version,
    find_result,
    store_versions,
)

AMEND_REASONS = (
    "lab_report",
    "lab_confirmation",
    "corrected_report",
    "data_entry_error",
    "wrong_client",
)


class Unchanged(BadInput):
    """An amendment that would change nothing in the result."""


def amend(
    ctx: Context,
    result_id: int | str,
    reason: str,
    findings: Findings,
    note: str | None = None,
    lab_report_id: str | None = None,
) -> dict[str, Any]:
    """``results amend``: a new version of what a result says, with its reason."""
    try:
        reason = validate.choice(reason, AMEND_REASONS, "--reason")
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    if reason == "lab_confirmation":  # a lab's confirmation is confirmed by definition
        findings = replace(findings, confirmed=True)
    try:
        text = validate.free_text(
            note, "--note", reason in ("corrected_report", "data_entry_error", "wrong_client")
        )
    except validate.Invalid as error:
        raise BadInput(f"{error} (an amendment for {reason} says what was wrong)") from None
    with writing(ctx) as (session, writer):
        result, screening, client = find_result(session, ctx, result_id)
        version, _ = apply_amendment(
            session, writer, ctx, result, reason, findings, text, lab_report_id
        )
        if reason == "wrong_client":
            set_status(
                writer,
                session,
                ctx,
                screening,
                client,
                "inconclusive",
                note="result recorded against the wrong client",
                auto=True,
            )
        session.flush()
        return {
            "result": result.id,
            "code": client.code,
            "reason": reason,
            "validity": version.validity,
        }


def apply_amendment(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    result: Result,
    reason: str,
    findings: Findings,
    note: str | None,
    lab_report_id: str | None,
    *,
    now: tuple[ResultVersion, list[AnalyteOutcome]] | None = None,
    later: list[tuple[Result, ResultVersion, dict[str, AnalyteOutcome]]] | None = None,
    lab: tuple[str, str] | None = None,
) -> tuple[ResultVersion, list[AnalyteOutcome]]:
    """Append one version (and its ``amendment`` entry); refuse one that changes nothing
    (raising Unchanged). Returns the new version and its analytes.

    Many amendments in one transaction (a lab's file) pass the result's current version
    as ``now`` rather than have it read, and a list ``later`` that collects the new
    versions, to be stored together by ``store_versions``. A lab's HL7 report passes
    ``lab``: its report status and the digest of its message and order."""
    before, current = now if now is not None else current_version(session, result)
    if before.void:
        raise BadInput(f"result {result.id} was voided (wrong client); it cannot change again")
    findings.override_reason = override_given(findings)
    # An analyte added to the panel after the result was recorded was not tested then.
    read = analytes_given(findings, ctx, result.panel, {a.code: a for a in current}, "not_tested")
    analytes = read.by_code
    override = findings.override_reason
    if override is None and any(contradicts_level(a) for a in analytes.values()):
        override = before.override_reason  # an earlier override still stands
    validity, measures = validity_given(
        findings, ctx, (before.validity, Measures.from_body(json.loads(before.measures)))
    )
    version = ResultVersion(
        result_id=flushed_id(result),
        seq=0,
        reason=reason,
        note=note,
        lab_report_id=lab_report_id,
        validity=validity,
        validity_version=(
            ctx.settings.validity.version
            if findings.touches_measures()
            else before.validity_version
        ),
        measures=canonical_text(measures.as_body()),
        void=reason == "wrong_client",
        override_reason=override,
        # A lab's preliminary report stays preliminary through staff's amendments: only
        # the lab's final report settles it.
        lab_status=lab[0]
        if lab
        else (before.lab_status if before.lab_status == "preliminary" else None),
        lab_message=lab[1] if lab else None,
    )
    unchanged = (
        sorted(analytes.values(), key=lambda a: a.code) == sorted(current, key=lambda a: a.code)
        and validity == before.validity
        and version.measures == before.measures
        and version.lab_status in (None, before.lab_status)
    )
    if unchanged and not version.void:
        raise Unchanged(
            f"the amendment changes nothing in result {result.id}; name the "
            "analytes or measures that differ"
        )
    screening = session.get_one(Screening, result.screening_id)
    client = session.get_one(Client, screening.client_id)
    entry = writer.append(
        ctx.site,
        "amendment",
        {
            "result": result.created_seq,
            "uid": client.uid,
            "reason": reason,
            "content": content_digest(result, version, list(analytes.values()), first=False),
        },
    )
    version.seq = result.ledger_seq = entry.seq
    session.add(result)
    if later is None:
        store_versions(session, [(result, version, analytes)])
    else:
        later.append((result, version, analytes))
    limits = ctx.settings.validity
    was = needs_observed_recollection(
        before.validity,
        Measures.from_body(json.loads(before.measures)),
        current,
        result.temperature_ok,
        limits,
    )
    recollect = needs_observed_recollection(
        validity, measures, analytes.values(), result.temperature_ok, limits
    )
    if recollect and not was and not version.void:
        # A lab's report can be the first to show a dilute negative (49 CFR 40.197(b)(1)).
        create(
            writer,
            session,
            ctx,
            client,
            "recollection",
            note=recollect,
            observed=True,
            because=result.created_seq,
            replaces=screening,
        )
    return version, list(analytes.values())
