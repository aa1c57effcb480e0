"""`results export --format fhir`: a month of one client's screenings as a FHIR R4 Bundle
that fhir.resources (a test-only dependency) accepts, labelled for 42 CFR Part 2 on every
resource, sent only under a consent that shares results, and recorded unless a preview.

FHIR R4B is R4 for every resource used here (Bundle, Patient, Consent, Specimen,
DiagnosticReport, Observation); fhir.resources ships R4B, not R4.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from freezegun import freeze_time

from screening.core.disclosure import STATEMENT_1
from screening.core.fhir import Basis, Collection, Finding, Subject, bundle
from tests.conftest import Clinic, Inits

CODE, NAME = "C-7", "Robin Example"
CLINIC = "Eastside Primary Care"
PART_2 = {"R", "42CFRPart2", "ETH", "NORDSCLCD"}
URINE_PANEL = 16  # analytes in the example config's urine panel
EXPORT = ["results", "export", CODE, "--recipient", CLINIC, "--format", "fhir"]
MONTH = ["--from", "2026-11-02", "--to", "2026-11-30"]


def _add_consent(clinic: Clinic, recipient: str, shares: str) -> None:
    """A signed consent, as `consent add` records it (its command is another change's)."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.disclosure import add_consent
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.now(UTC)  # the test's frozen clock
    ctx = Context(
        settings,
        Database(resolve_url(clinic.url, clinic.folder)),
        Actor("staff1"),
        now,
        now.astimezone(settings.zone).date(),
    )
    try:
        add_consent(ctx, CODE, type="named", recipient=recipient, recipient_class=None,
                    purpose="treatment", detail=None, shares=shares,
                    expires="end-of-treatment", signed="2026-11-02", signed_by="client",
                    how_to_revoke="in writing to the program director", revocable_from=None,
                    covers_from=None)  # fmt: skip
    finally:
        ctx.database.dispose()


def _screening(clinic: Clinic, day: str, *record: str) -> None:
    with freeze_time(f"{day}T15:00:00Z"):
        clinic.ok("results", "for-cause", CODE, "--reason", "monthly check")
        clinic.ok(*record)


@pytest.fixture
def client(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """A client on buprenorphine, admitted on 2026-11-02."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_fhir: client", _client)
    return clinic


def _client(clinic: Clinic) -> None:
    with freeze_time("2026-11-02T14:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        clinic.ok("clients", "add", CODE, "--track", "morning", "--phase", "1", "--name", NAME,
                  "--admitted", "2026-11-02", "--meds", "Suboxone")  # fmt: skip


@pytest.fixture
def month(client: Clinic) -> Clinic:
    """November: a clean screen, a confirmed unexpected cocaine positive, a dilute one and
    a no-show (the screens find the client's buprenorphine, as expected)."""
    clinic = client
    record = ["results", "record", CODE, "--positive", "BUP,NORBUP"]
    _screening(clinic, "2026-11-03", *record, "--specimen-id", "SP-1")
    _screening(clinic, "2026-11-10", *record, "--positive", "COC", "--level", "COC=900",
               "--confirmed")  # fmt: skip
    _screening(clinic, "2026-11-17", *record, "--creatinine", "15", "--sg", "1.002")
    _screening(clinic, "2026-11-24", "results", "no-show", CODE)
    with freeze_time("2026-12-01T15:00:00Z"):
        _add_consent(clinic, CLINIC, "results,missed")
    return clinic


def _resources(parsed: Bundle, kind: str) -> list:
    return [e.resource for e in parsed.entry if e.resource.get_resource_type() == kind]


def _codes(concept) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(c.system, c.code) for c in concept.coding or []}


def test_a_month_leaves_as_a_valid_labelled_bundle_and_is_recorded(month: Clinic) -> None:
    with freeze_time("2026-12-01T16:00:00Z"):
        preview = month.ok(*EXPORT, *MONTH, "--preview")
        assert "nothing was disclosed" in preview.stderr
        assert month.sql("SELECT count(*) FROM disclosures") == [(0,)]
        # Wrapped: no resourceType, so no record system takes a preview for a Bundle.
        shown = json.loads(preview.stdout)
        assert "resourceType" not in shown and shown["preview"].startswith("preview only")
        assert shown["bundle"]["meta"]["tag"][0]["code"] == "preview"
        sent = month.ok(*EXPORT, *MONTH, "--out", "c7.json")
    assert sent.stdout == "" and "recorded" in sent.stderr
    out = month.folder / "c7.json"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert month.sql("SELECT form, what FROM disclosures") == [("fhir", '["missed", "results"]')]
    data = json.loads(out.read_text())
    parsed = Bundle.model_validate(data)  # FHIR's rules, not ours
    assert parsed.type == "collection" and "tag" not in data["meta"]

    kinds = [e.resource.get_resource_type() for e in parsed.entry]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "Patient": 1, "Consent": 1, "Specimen": 3, "DiagnosticReport": 4,
        "Observation": 3 * URINE_PANEL,
    }  # fmt: skip
    # Part 2's labels on the Bundle and every resource in it
    for labelled in [data, *(e["resource"] for e in data["entry"])]:
        assert {label["code"] for label in labelled["meta"]["security"]} == PART_2

    reports = _resources(parsed, "DiagnosticReport")
    assert [r.status for r in reports] == ["final", "final", "final", "cancelled"]
    assert ("http://loinc.org", "69739-1") in _codes(reports[0].code)
    assert "no-show" in reports[3].conclusion and not reports[3].result
    assert "dilute" in reports[2].conclusion
    assert "unexpected" in reports[1].conclusion.lower()

    observations = {
        (o.effectiveDateTime.date().isoformat(), o.code.text.split(" ")[0]): o
        for o in _resources(parsed, "Observation")
    }
    cocaine = observations[("2026-11-10", "cocaine")]
    assert {c.code for i in cocaine.interpretation for c in i.coding} == {"POS", "A"}
    assert cocaine.component[0].valueQuantity.value == 900
    # a screen's LOINC code is not sent for a lab's confirmation
    assert ("http://loinc.org", "14314-9") not in _codes(cocaine.code)
    clean = observations[("2026-11-03", "cocaine")]
    assert ("http://loinc.org", "14314-9") in _codes(clean.code)
    assert [c.code for i in clean.interpretation for c in i.coding] == ["NEG"]
    assert _codes(clean.valueCodeableConcept) == {("http://snomed.info/sct", "260385009")}
    bup = observations[("2026-11-03", "buprenorphine")]
    assert [c.code for i in bup.interpretation for c in i.coding] == ["POS"]
    assert any("expected positive" in note.text for note in bup.note)

    [consent] = _resources(parsed, "Consent")
    assert escape(STATEMENT_1) in consent.text.div  # the §2.32 notice goes with it
    assert consent.provision.actor[0].reference.display == CLINIC
    # in force from its signing until the end of treatment (no end); the month is the Bundle's
    assert str(consent.provision.period.start) == "2026-11-02" and not consent.provision.period.end
    assert str(consent.extension[0].valuePeriod.end) == "2026-11-30"
    # the client's name in the Patient resource and nowhere else
    for entry in data["entry"]:
        named = NAME in json.dumps(entry["resource"])
        assert named == (entry["resource"]["resourceType"] == "Patient")
    [patient] = _resources(parsed, "Patient")
    assert patient.identifier[0].value == CODE


def test_a_consent_that_does_not_share_results_is_refused(client: Clinic) -> None:
    with freeze_time("2026-12-01T15:30:00Z"):
        _add_consent(client, "Sam Parent", "attendance")
        refused = client.run(*EXPORT[:4], "Sam Parent", "--format", "fhir")
    assert refused.exit_code == 4
    assert "does not cover screening results" in refused.stderr
    assert "Nothing was disclosed" in refused.stderr and refused.stdout == ""
    assert client.sql("SELECT count(*) FROM disclosures") == [(0,)]


def test_a_result_awaited_or_not_tested_is_said_so_and_still_valid() -> None:
    """No database: what a lab has yet to report, and a specimen that is not urine."""
    moment = datetime(2026, 11, 3, 15, tzinfo=UTC)
    awaited = Finding("THC", "cannabinoids", "pending", "pending", False, None, None, "ng/mL",
                      "18282-4", (), "THC: awaiting the lab")  # fmt: skip
    skipped = Finding("FEN", "fentanyl", "not_tested", "not_tested", False, None, None,
                      "ng/mL", "59673-4", (), "FEN: not tested")  # fmt: skip
    oral = Collection(1, 1, date(2026, 11, 3), moment, moment, "oral_fluid", None,
                      "oral_fluid", False, "valid", "pending", (), (awaited, skipped))  # fmt: skip
    subject = Subject("0b8a4f8e-8d0c-4e8a-9d57-2f6f3b1f0c11", CODE, None, "main")
    basis = Basis(1, CLINIC, "treatment", date(2026, 11, 1), date(2026, 11, 30),
                  {"statement": "notice", "scope": "scope"}, moment, date(2026, 10, 20),
                  date(2026, 10, 1), date(2027, 4, 30))  # fmt: skip
    data = bundle(subject, basis, [oral], [])
    parsed = Bundle.model_validate(data)
    [report] = _resources(parsed, "DiagnosticReport")
    assert report.status == "preliminary"
    assert _codes(report.code) == {("urn:screening:panel", "oral_fluid")}  # no urine LOINC
    statuses = {o.code.text: (o.status, o.dataAbsentReason.coding[0].code)
                for o in _resources(parsed, "Observation")}  # fmt: skip
    assert statuses == {
        "cannabinoids": ("registered", "temp-unknown"),
        "fentanyl": ("cancelled", "not-performed"),
    }
    assert bundle(subject, basis, [oral], []) == data  # the same ids every time
    # The provision is the consent's own; the period disclosed is this Bundle's.
    [consent] = _resources(parsed, "Consent")
    period = consent.provision.period
    assert (str(period.start), str(period.end)) == ("2026-10-20", "2027-04-30")
    assert str(consent.provision.dataPeriod.start) == "2026-10-01"
    [sent] = consent.extension
    assert (str(sent.valuePeriod.start), str(sent.valuePeriod.end)) == ("2026-11-01", "2026-11-30")
    assert "screenings from 2026-11-01 to 2026-11-30" in consent.text.div


def test_a_preliminary_lab_report_leaves_as_preliminary() -> None:
    """A lab's preliminary report (issue 19) reads as pending though every analyte has an
    outcome: the report and its observations say preliminary, never final."""
    moment = datetime(2026, 11, 3, 15, tzinfo=UTC)
    found = Finding("THC", "cannabinoids", "positive", "unexpected_positive", False, None,
                    None, "ng/mL", "18282-4", (), "THC: positive")  # fmt: skip
    urine = Collection(1, 1, date(2026, 11, 3), moment, moment, "urine", "SP-1", "urine",
                       False, "valid", "pending", ("preliminary: ...",), (found,))  # fmt: skip
    subject = Subject("0b8a4f8e-8d0c-4e8a-9d57-2f6f3b1f0c11", CODE, None, "main")
    basis = Basis(1, CLINIC, "treatment", date(2026, 11, 1), date(2026, 11, 30),
                  {"statement": "notice", "scope": "scope"}, moment, date(2026, 10, 20),
                  date(2026, 10, 1), date(2027, 4, 30))  # fmt: skip
    parsed = Bundle.model_validate(bundle(subject, basis, [urine], []))
    [report] = _resources(parsed, "DiagnosticReport")
    [observation] = _resources(parsed, "Observation")
    assert (report.status, observation.status) == ("preliminary", "preliminary")
