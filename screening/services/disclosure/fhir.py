"""`results export CODE --format fhir`: a client's screenings in a period as a FHIR R4
Bundle (core/fhir.py builds it), through the one disclosure gate: only under a consent in
force that shares results, misses only when it shares them too, the §2.32 notice inside.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from screening.core import fhir, validate
from screening.core.disclosure import MISSED, RESULTS, scope
from screening.core.interpret import describe
from screening.core.measures import MISS_STATUSES
from screening.db.models import LedgerRow, Result, Screening, flushed_id
from screening.errors import BadInput
from screening.services.disclosure.consents import terms_of
from screening.services.disclosure.gate import Ask, Authority, Delivery, disclose, program_name
from screening.services.plumbing.context import Context
from screening.services.records.clients import checked
from screening.services.results.versions import current_versions
from screening.services.results.views import reading

# A preview is marked on the Bundle, and the Bundle is wrapped in an object that is not a
# FHIR resource (no resourceType): a preview passed on anyway loads into no record system.
PREVIEW_TAG = {
    "system": "urn:screening:disclosure",
    "code": "preview",
    "display": "preview only: not disclosed, not to be sent",
}


def export_results(
    ctx: Context,
    code: str,
    recipient: str,
    consent: int | None,
    start: str | None,
    end: str | None,
    preview: bool,
    emit: Callable[[dict[str, Any]], Delivery],
) -> dict[str, Any]:
    """Disclose the client's results from ``start`` to ``end`` (default: what the
    consent covers, to today) to ``recipient`` as a FHIR Bundle, which ``emit`` writes
    inside the disclosure's transaction. Returns the gate's data (the Bundle under
    "bundle")."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if first is not None and last is not None and first > last:
        raise BadInput(f"--from {first} is after --to {last}")
    ask = Ask(
        code=code,
        recipient=recipient,
        consent=consent,
        purpose=None,
        needs=frozenset({RESULTS}),
        first=first,
        last=last,
        form="fhir",
        command="results export",
        preview=preview,
    )

    def build(session: Session, authority: Authority) -> dict[str, Any]:
        return fhir_data(session, ctx, authority)

    return disclose(ctx, ask, build, lambda data: emit(bundle_of(data)))


def bundle_of(data: dict[str, Any]) -> dict[str, Any]:
    """The Bundle to write: as built (the notice inside it); a preview tagged, and
    wrapped so that it is no FHIR resource at all."""
    bundle = data["bundle"]
    if not data.get("preview"):
        return dict(bundle)
    meta = bundle["meta"]
    tagged = {**bundle, "meta": {**meta, "tag": [*meta.get("tag", []), PREVIEW_TAG]}}
    return {"preview": PREVIEW_TAG["display"], "bundle": tagged}


def _day(text: str | None, option: str) -> date | None:
    return None if text is None else checked(validate.parse_date, text, option)


def fhir_data(session: Session, ctx: Context, authority: Authority) -> dict[str, Any]:
    """What the gate records and pins: the Bundle and what it carries (results, and
    misses when the consent shares them)."""
    client = authority.client
    shares_missed = MISSED in authority.shares
    screenings = session.exec(
        select(Screening)
        .where(
            Screening.client_id == client.id,
            Screening.day >= authority.first,
            Screening.day <= authority.last,
        )
        .order_by(col(Screening.day), col(Screening.id))
    ).all()
    results = {
        result.screening_id: result
        for result in session.exec(
            select(Result).where(col(Result.screening_id).in_([s.id for s in screenings]))
        )
    }
    versions = current_versions(session, list(results.values()))
    entered = dict(
        session.exec(
            select(LedgerRow.seq, LedgerRow.at).where(
                col(LedgerRow.seq).in_([r.ledger_seq for r in results.values()])
            )
        ).all()
    )
    zone = ctx.settings.zone
    collections: list[fhir.Collection] = []
    misses: list[fhir.Miss] = []
    for screening in screenings:
        result = results.get(flushed_id(screening))
        if result is not None:
            version, analytes = versions[flushed_id(result)]
            if version.void:  # recorded against the wrong client: not this client's
                continue
            read = reading(ctx, result, version, analytes)
            findings = tuple(
                fhir.Finding(
                    code=analyte.code,
                    name=ctx.settings.vocabulary.analyte_name(analyte.code),
                    outcome=analyte.outcome,
                    reads=how,
                    confirmed=analyte.stage == "confirmed",
                    level=analyte.level,
                    cutoff=analyte.cutoff,
                    unit=unit,
                    loinc=ctx.settings.vocabulary.loinc(analyte.code),
                    explained_by=explained,
                    words=describe(analyte, how, explained, unit),  # not the override: staff words
                )
                for analyte, how, explained, unit in read.details
            )
            collections.append(
                fhir.Collection(
                    screening=flushed_id(screening),
                    result=flushed_id(result),
                    day=screening.day,
                    collected_at=result.collected_at.astimezone(zone),
                    issued=entered[result.ledger_seq].astimezone(zone),
                    specimen=result.specimen_type,
                    specimen_id=result.specimen_id,
                    panel=result.panel,
                    observed=result.observed,
                    validity=version.validity,
                    summary=read.summary,
                    flags=read.flags,
                    findings=findings,
                )
            )
        elif shares_missed and screening.status in MISS_STATUSES:
            panel = ctx.settings.results.default_panel
            misses.append(
                fhir.Miss(
                    screening=flushed_id(screening),
                    day=screening.day,
                    status=screening.status,
                    panel=panel,
                    specimen=ctx.settings.panels[panel].specimen,
                )
            )
    basis = fhir.Basis(
        consent=flushed_id(authority.consent),
        recipient=authority.recipient,
        purpose=authority.purpose,
        first=authority.first,
        last=authority.last,
        # The scope names the client by code: the name goes in the Patient resource
        # alone, the one place a receiving system matches or strips identity.
        notice={
            "statement": authority.notice["statement"],
            "scope": scope(terms_of(authority.consent), program_name(ctx), client.code),
        },
        made_at=ctx.now.astimezone(zone),
        signed_on=authority.consent.signed_on,
        covers_from=authority.consent.covers_from,
        expires_on=authority.consent.expires_on,
    )
    subject = fhir.Subject(client.uid, client.code, client.name, ctx.site)
    return {
        "carries": sorted({RESULTS} | ({MISSED} if shares_missed else set())),
        "bundle": fhir.bundle(subject, basis, collections, misses),
    }


def bundle_text(bundle: dict[str, Any]) -> str:
    """The Bundle as a file holds it: JSON, indented, UTF-8."""
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
