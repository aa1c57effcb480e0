"""The shipped vocabulary (screening/data/vocabulary.toml) and a config's extension of it."""

from __future__ import annotations

import pytest

from screening.config import build_vocabulary, shipped_vocabulary
from screening.core.vocabulary import Unknown, build

VOCAB, _ = build(shipped_vocabulary())


def test_the_shipped_vocabulary_builds_and_has_a_version():
    vocabulary, problems = build(shipped_vocabulary())
    assert problems == []
    assert vocabulary.version


def test_the_2025_hhs_panel_is_there():
    names = {a.name.split(" (")[0] for a in VOCAB.analytes.values()}
    for name in (
        "amphetamine", "methamphetamine", "codeine", "morphine", "hydrocodone",
        "hydromorphone", "oxycodone", "oxymorphone", "fentanyl", "buprenorphine",
        "methadone",
    ):  # fmt: skip
        assert name in names
    for code in ("AMP", "MAMP", "MDMA", "COC", "THC", "OPI", "6AM", "OXY", "FEN", "NORFEN",
                 "BUP", "NORBUP", "MTD", "EDDP", "BZO", "ETG", "ETS"):  # fmt: skip
        assert code in VOCAB.assays


@pytest.mark.parametrize(
    ("typed", "generic"),
    [
        ("Suboxone", "buprenorphine"),
        ("subutex", "buprenorphine"),
        ("ZUBSOLV", "buprenorphine"),
        ("Sublocade", "buprenorphine"),
        ("Butrans", "buprenorphine"),
        ("Methadose", "methadone"),
        ("Dolophine", "methadone"),
        ("Vivitrol", "naltrexone"),
        ("Adderall", "amphetamine"),
        ("Vyvanse", "lisdexamfetamine"),
        ("Xanax", "alprazolam"),
        ("OxyContin", "oxycodone"),
        ("Percocet", "oxycodone"),
        ("Tylenol #3", "codeine"),
        ("tylenol 3", "codeine"),
        ("Marinol", "dronabinol"),
        ("buprenorphine", "buprenorphine"),
    ],
)
def test_brand_names_and_synonyms(typed, generic):
    assert VOCAB.medication(typed) == generic


def test_unknown_medication_did_you_mean():
    found = VOCAB.resolve_medication("buprenorphin")
    assert isinstance(found, Unknown)
    assert "did you mean buprenorphine" in found.did_you_mean()
    assert "Suboxone (buprenorphine)" in VOCAB.resolve_medication("suboxon").did_you_mean()


def test_the_opiate_immunoassay_does_not_see_synthetic_opioids():
    for name in ("oxycodone", "fentanyl", "buprenorphine", "methadone"):
        assert VOCAB.explaining("OPI", [name]) == []
    assert VOCAB.explaining("OPI", ["codeine", "morphine"]) == ["codeine", "morphine"]
    assert VOCAB.explaining("OXY", ["oxycodone"]) == ["oxycodone"]


def test_assays_by_alias():
    assert VOCAB.assay("benzoylecgonine") == "COC"
    assert VOCAB.assay("bup") == "BUP"
    assert VOCAB.assay("6-MAM") == "6AM"
    assert VOCAB.assay("COCA") is None
    assert VOCAB.suggest_assay("COCA", ["COC", "THC", "OPI"]) == ("COC",)


def test_a_config_adds_a_medication_and_an_assay():
    raw = {
        "analytes": {"KRA": {"name": "mitragynine (kratom)"}},
        "assays": {"KRAT": {"name": "kratom", "detects": ["KRA"]}},
        "medications": {"kratom": {"produces": ["KRA"], "brands": ["Kratom leaf"]}},
    }
    vocabulary, problems = build_vocabulary(raw)
    assert problems == []
    assert vocabulary.medication("kratom leaf") == "kratom"
    assert vocabulary.explaining("KRAT", ["kratom"]) == ["kratom"]


def test_the_older_config_form_still_reads():
    raw = {"medications": {"buprenorphine": {"explains": ["BUP", "NORBUP"], "parent": "BUP",
                                             "metabolite": "NORBUP"}}}  # fmt: skip
    vocabulary, problems = build_vocabulary(raw)
    assert problems == []
    assert vocabulary.medications["buprenorphine"].metabolites == {"NORBUP"}
    assert vocabulary.medication("Suboxone") == "buprenorphine"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"medications": {"kratom": {}}}, "medications.kratom: say what it leaves"),
        ({"medications": {"kratom": {"produces": ["KRA"]}}}, "analyte 'KRA' is unknown"),
        ({"medications": {"Kratom": {"produces": ["BUP"]}}}, "generic name in lower-case"),
        (
            {"medications": {"x": {"produces": ["BUP"], "brands": ["Suboxone"]}}},
            "'Suboxone' already names",
        ),
        ({"medications": {"x": {"explains": ["BUPP"]}}}, "did you mean BUP"),
        ({"assays": {"KRAT": {"name": "kratom"}}}, "assays.KRAT.detects: missing"),
        ({"assays": {"COC": {"loinc": 14314}}}, "assays.COC.loinc: not a LOINC code"),
        (
            {"medications": {"x": {"produces": ["BUP"], "color": "red"}}},
            "medications.x.color: unknown setting",
        ),
    ],
)
def test_config_problems(raw, problem):
    vocabulary, problems = build_vocabulary(raw)
    assert vocabulary is None
    assert any(problem in text for text in problems), problems
