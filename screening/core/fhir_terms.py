"""The codes a FHIR export speaks in: code systems, the 42 CFR Part 2 security labels
(HL7 DS4P), answers and interpretations, and the program's results in words. Each
external code is the one its system publishes (HL7 terminology, SNOMED CT, LOINC)."""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
PRIVACY_CONSENT = (
    "http://terminology.hl7.org/CodeSystem/consentscope",
    "patient-privacy",
    "Privacy Consent",
)
PATIENT_CONSENT = (LOINC, "59284-0", "Patient Consent")
RECIPIENT = (
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    "IRCP",
    "information recipient",
)
LAB_REPORT = ("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")
LABORATORY = (
    "http://terminology.hl7.org/CodeSystem/observation-category",
    "laboratory",
    "Laboratory",
)
LOCAL_ANALYTE = "urn:screening:analyte"  # the vocabulary's assay codes
LOCAL_PANEL = "urn:screening:panel"  # the config's panels
LOCAL_PURPOSE = "urn:screening:purpose"  # core/disclosure.PURPOSES
# The period one disclosure carries (an extension of the Consent it is made under: a
# Bundle has no extensions, and the provision's periods are the consent's own).
DISCLOSED = "urn:screening:disclosed-period"

SECURITY = (
    (CONFIDENTIALITY, "R", "restricted"),
    (ACT_CODE, "42CFRPart2", "42 CFR Part2"),
    (ACT_CODE, "ETH", "substance abuse information sensitivity"),
    (ACT_CODE, "NORDSCLCD", "no redisclosure without consent directive"),
)
URINE_PANEL = (LOINC, "69739-1", "Drugs of abuse panel - Urine by Screen method")
URINE = (SNOMED, "122575003", "Urine specimen")
ANSWERS = {
    "negative": (SNOMED, "260385009", "Negative"),
    "positive": (SNOMED, "10828004", "Positive"),
    "inconclusive": (SNOMED, "419984006", "Inconclusive"),
}
# v3 ObservationInterpretation: NEG/POS are the qualitative result codes (N is
# "normal", for a value within its reference range); A flags what needs attention.
NEG = (INTERPRETATION, "NEG", "Negative")
POS = (INTERPRETATION, "POS", "Positive")
INTERPRETATIONS = {
    "negative": (NEG,),
    "expected_positive": (POS,),
    "unexpected_positive": (POS, (INTERPRETATION, "A", "Abnormal")),
    "inconclusive": ((INTERPRETATION, "IND", "Indeterminate"),),
}
# v3 PurposeOfUse codes where one means the purpose; the rest keep the program's code.
PURPOSES = {
    "treatment": (ACT_CODE, "TREAT", "treatment"),
    "payment": (ACT_CODE, "HPAYMT", "healthcare payment"),
    "health_care_operations": (ACT_CODE, "HOPERAT", "healthcare operations"),
}
SUMMARIES = {
    "negative": "negative",
    "expected_positive": "positive only for what the client is prescribed",
    "unexpected_positive": "positive with no prescription to explain it",
    "unexpected_negative": "a prescribed medication was not found",
    "possible_tampering": "possible tampering",
    "inconclusive": "inconclusive",
    "pending": "awaiting the lab",
    "not_tested": "nothing tested",
}
MISSES = {
    "no_show": "the client did not come for the screening (no-show)",
    "refused": "the client refused to provide a specimen",
    "unable_to_provide": "the client was unable to provide a specimen",
}
