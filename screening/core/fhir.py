"""A client's screenings as a FHIR R4 Bundle (plain JSON: no FHIR library at run time):
the Patient, per collection a Specimen, a DiagnosticReport and an Observation per
analyte, per miss (when the consent shares misses) a cancelled DiagnosticReport, and
the Consent the disclosure is made under, carrying the 42 CFR 2.32 notice.

Every resource and the Bundle carry the 42 CFR Part 2 security labels (HL7 DS4P):
restricted, 42CFRPart2, ETH (substance use information) and NORDSCLCD (no redisclosure
without consent). Pure: the facts come in as plain data, the clock as ``made_at``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any

from screening.core.fhir_terms import (
    ABSENT,
    ANSWERS,
    DISCLOSED,
    INTERPRETATIONS,
    LAB_REPORT,
    LABORATORY,
    LOCAL_ANALYTE,
    LOCAL_PANEL,
    LOCAL_PURPOSE,
    LOINC,
    MISSES,
    PATIENT_CONSENT,
    PRIVACY_CONSENT,
    PURPOSES,
    RECIPIENT,
    SECURITY,
    SUMMARIES,
    UCUM,
    URINE,
    URINE_PANEL,
)


@dataclass(frozen=True)
class Subject:
    uid: str  # the client's random uid: resource ids derive from it
    code: str
    name: str | None
    site: str


@dataclass(frozen=True)
class Basis:
    consent: int
    recipient: str
    purpose: str
    first: date  # the period disclosed
    last: date
    notice: Mapping[str, str]  # "statement" (42 CFR 2.32(a)) and "scope" (2.32(b))
    made_at: datetime
    signed_on: date  # the consent's own terms: in force from its signing ...
    covers_from: date  # ... over information from this day on ...
    expires_on: date | None  # ... until this day (None: until the end of treatment)


@dataclass(frozen=True)
class Finding:
    """One analyte of a result, as core.interpret reads it."""

    code: str
    name: str
    outcome: str  # negative | positive | inconclusive | pending | not_tested
    reads: str  # negative | expected_positive | unexpected_positive | ...
    confirmed: bool
    level: Decimal | None
    cutoff: Decimal | None
    unit: str
    loinc: str | None
    explained_by: tuple[str, ...]
    words: str  # core.interpret.describe


@dataclass(frozen=True)
class Collection:
    screening: int
    result: int
    day: date
    collected_at: datetime  # aware, in the site's zone
    issued: datetime  # when what it says now was entered
    specimen: str
    specimen_id: str | None
    panel: str
    observed: bool
    validity: str
    summary: str
    flags: tuple[str, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Miss:
    screening: int
    day: date
    status: str  # core.measures.MISS_STATUSES
    panel: str
    specimen: str


def bundle(
    subject: Subject, basis: Basis, collections: list[Collection], misses: list[Miss]
) -> dict[str, Any]:
    """The Bundle (type collection: resources gathered for a recipient, with no
    document or transaction semantics); ids are UUIDs derived from the client's uid,
    so the same screening keeps its ids in every export and a receiver can match them."""
    ids = _Ids(subject.uid)
    patient = ids.url("patient")
    entries = [_entry(ids, "patient", _patient(subject))]
    entries.append(_entry(ids, f"consent/{basis.consent}", _consent(subject, basis, patient)))
    for collection in collections:
        entries += _collection(ids, subject, collection, patient)
    for miss in misses:
        entries.append(_entry(ids, f"screening/{miss.screening}", _missed(subject, miss, patient)))
    return {
        "resourceType": "Bundle",
        "id": ids.id(f"export/{basis.consent}/{_instant(basis.made_at)}"),
        "meta": _meta(),
        "type": "collection",
        "timestamp": _instant(basis.made_at),
        "entry": entries,
    }


class _Ids:
    def __init__(self, client_uid: str) -> None:
        self.namespace = uuid.UUID(client_uid)

    def id(self, name: str) -> str:
        return str(uuid.uuid5(self.namespace, name))

    def url(self, name: str) -> str:
        return f"urn:uuid:{self.id(name)}"


def _entry(ids: _Ids, name: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": ids.url(name), "resource": {**resource, "id": ids.id(name)}}


def _meta() -> dict[str, Any]:
    return {"security": [_coding(label) for label in SECURITY]}


def _coding(code: tuple[str, str, str]) -> dict[str, str]:
    system, value, display = code
    return {"system": system, "code": value, "display": display}


def _concept(*codes: tuple[str, str, str], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [_coding(code) for code in codes]}
    if text is not None:
        concept["text"] = text
    return concept


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _number(value: Decimal) -> int | float:
    """A FHIR decimal is a JSON number (a string would not validate)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _patient(subject: Subject) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": _meta(),
        "identifier": [{"system": f"urn:screening:{subject.site}:client", "value": subject.code}],
    }
    if subject.name:
        patient["name"] = [{"text": subject.name}]
    return patient


def _consent(subject: Subject, basis: Basis, patient: str) -> dict[str, Any]:
    """The consent the disclosure is made under. The 42 CFR 2.32 notice and the consent's
    scope must go with every disclosure; a Bundle has no narrative of its own, so they
    are this Consent's narrative, where a receiving system shows the consent to a reader
    (and its policyRule names 42 CFR Part 2 for software). The provision is the consent's
    own (in force from signing to expiry, over information from its first day); the
    period disclosed is in the narrative and the ``DISCLOSED`` extension."""
    statement, scope = basis.notice.get("statement", ""), basis.notice.get("scope", "")
    sent = f"This disclosure carries the screenings from {basis.first} to {basis.last}."
    div = "".join(f"<p>{escape(text)}</p>" for text in (statement, scope, sent) if text)
    valid = {"start": basis.signed_on, "end": basis.expires_on}
    disclosed = {"start": basis.first.isoformat(), "end": basis.last.isoformat()}
    purpose = PURPOSES.get(basis.purpose, (LOCAL_PURPOSE, basis.purpose, basis.purpose))
    return {
        "resourceType": "Consent",
        "meta": _meta(),
        "text": {
            "status": "additional",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{div}</div>',
        },
        "extension": [{"url": DISCLOSED, "valuePeriod": disclosed}],
        "identifier": [
            {"system": f"urn:screening:{subject.site}:consent", "value": str(basis.consent)}
        ],
        "status": "active",
        "scope": _concept(PRIVACY_CONSENT),
        "category": [_concept(PATIENT_CONSENT)],
        "patient": {"reference": patient},
        "dateTime": basis.signed_on.isoformat(),
        "policyRule": _concept(SECURITY[1], text="42 CFR Part 2"),
        "provision": {
            "type": "permit",
            "period": {k: v.isoformat() for k, v in valid.items() if v is not None},
            "dataPeriod": {"start": basis.covers_from.isoformat()},
            "actor": [
                {
                    "role": _concept(RECIPIENT),
                    "reference": {"display": basis.recipient},
                }
            ],
            "purpose": [_coding(purpose)],
        },
    }


def _panel_code(panel: str, specimen: str) -> dict[str, Any]:
    local = (LOCAL_PANEL, panel, f"drug screen, panel {panel}")
    codes = (URINE_PANEL, local) if specimen == "urine" else (local,)
    return _concept(*codes, text=f"drug screen ({specimen.replace('_', ' ')})")


def _collection(
    ids: _Ids, subject: Subject, collection: Collection, patient: str
) -> list[dict[str, Any]]:
    base = f"screening/{collection.screening}"
    specimen = ids.url(f"{base}/specimen")
    when, issued = _instant(collection.collected_at), _instant(collection.issued)
    # Open while an analyte is awaited, or the lab's report is only preliminary.
    pending = collection.summary == "pending" or any(
        f.outcome == "pending" for f in collection.findings
    )
    observations = [
        _entry(
            ids,
            f"{base}/analyte/{finding.code}",
            _observation(finding, collection, patient, specimen, when, issued, pending),
        )
        for finding in collection.findings
    ]
    report = {
        "resourceType": "DiagnosticReport",
        "meta": _meta(),
        "identifier": [
            {"system": f"urn:screening:{subject.site}:result", "value": str(collection.result)}
        ],
        "status": "preliminary" if pending else "final",
        "category": [_concept(LAB_REPORT)],
        "code": _panel_code(collection.panel, collection.specimen),
        "subject": {"reference": patient},
        "effectiveDateTime": when,
        "issued": issued,
        "specimen": [{"reference": specimen}],
        "result": [{"reference": entry["fullUrl"]} for entry in observations],
        "conclusion": conclusion(collection),
    }
    return [
        _entry(ids, f"{base}/specimen", _specimen(subject, collection, patient, when)),
        _entry(ids, base, report),
        *observations,
    ]


def _specimen(subject: Subject, collection: Collection, patient: str, when: str) -> dict[str, Any]:
    kind = collection.specimen.replace("_", " ")
    specimen: dict[str, Any] = {
        "resourceType": "Specimen",
        "meta": _meta(),
        "status": "available",
        "type": _concept(URINE) if collection.specimen == "urine" else {"text": kind},
        "subject": {"reference": patient},
        "collection": {"collectedDateTime": when},
    }
    if collection.specimen_id:
        specimen["accessionIdentifier"] = {
            "system": f"urn:screening:{subject.site}:specimen",
            "value": collection.specimen_id,
        }
    notes = ["collection directly observed"] if collection.observed else []
    if collection.validity != "valid":
        notes.append(f"specimen validity: {collection.validity}")
    if notes:
        specimen["note"] = [{"text": text} for text in notes]
    return specimen


def _observation(
    finding: Finding,
    collection: Collection,
    patient: str,
    specimen: str,
    when: str,
    issued: str,
    pending: bool,
) -> dict[str, Any]:
    local = (LOCAL_ANALYTE, finding.code, finding.name)
    # The LOINC codes are a urine screen's: a confirmation or another specimen keeps
    # the program's code alone rather than a code that says something else.
    loinc = finding.loinc if collection.specimen == "urine" and not finding.confirmed else None
    codes = ((LOINC, loinc, f"{finding.name}, urine screen"), local) if loinc else (local,)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": _meta(),
        "status": "preliminary" if pending else "final",
        "category": [_concept(LABORATORY)],
        "code": _concept(*codes, text=finding.name),
        "subject": {"reference": patient},
        "effectiveDateTime": when,
        "issued": issued,
        "specimen": {"reference": specimen},
        "method": {"text": "confirmation (laboratory)" if finding.confirmed else "screen"},
    }
    if finding.outcome == "pending":
        observation["status"] = "registered"
        observation["dataAbsentReason"] = _concept((ABSENT, "temp-unknown", "Temporarily Unknown"))
    elif finding.outcome == "not_tested":
        observation["status"] = "cancelled"
        observation["dataAbsentReason"] = _concept((ABSENT, "not-performed", "Not Performed"))
    else:
        observation["valueCodeableConcept"] = _concept(
            ANSWERS[finding.outcome], text=finding.outcome
        )
        observation["interpretation"] = [
            _concept(code) for code in INTERPRETATIONS.get(finding.reads, ())
        ]
    notes = [finding.words]
    if finding.reads == "expected_positive":
        notes.append(
            "expected positive: explained by the client's prescription ("
            + (", ".join(finding.explained_by) or "prescribed")
            + ")"
        )
    observation["note"] = [{"text": text} for text in notes]
    method = "confirmation" if finding.confirmed else "screen"
    cutoff = (
        {
            "high": _quantity(finding.cutoff, finding.unit),
            "text": f"{method} cutoff {finding.cutoff} {finding.unit}: "
            "at or above it reads positive",
        }
        if finding.cutoff is not None
        else None
    )
    if finding.level is not None:
        component: dict[str, Any] = {
            "code": _concept(local, text=f"{finding.name}, level"),
            "valueQuantity": _quantity(finding.level, finding.unit),
        }
        if cutoff:
            component["referenceRange"] = [cutoff]
        observation["component"] = [component]
    elif cutoff:
        observation["referenceRange"] = [cutoff]
    return observation


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": unit}


def conclusion(collection: Collection) -> str:
    """What the result says, in words: the reading, each positive, and every flag."""
    parts = [SUMMARIES.get(collection.summary, collection.summary.replace("_", " "))]
    parts += [f.words for f in collection.findings if f.reads.endswith("positive")]
    for flag in collection.flags:
        kind, _, rest = flag.partition(":")
        if kind == "unknown_medication":  # a note to staff, about the client's list
            continue
        parts.append(kind.replace("_", " ") + (f":{rest}" if rest else " specimen"))
    text = "; ".join(dict.fromkeys(parts))
    return text[0].upper() + text[1:]


def _missed(subject: Subject, miss: Miss, patient: str) -> dict[str, Any]:
    why = MISSES.get(miss.status, miss.status.replace("_", " "))
    return {
        "resourceType": "DiagnosticReport",
        "meta": _meta(),
        "identifier": [
            {"system": f"urn:screening:{subject.site}:screening", "value": str(miss.screening)}
        ],
        "status": "cancelled",
        "code": _panel_code(miss.panel, miss.specimen),
        "subject": {"reference": patient},
        "effectiveDateTime": miss.day.isoformat(),
        "conclusion": f"No specimen: {why}.",
    }
