"""Specimen validity, recollection and result reading (screening.core.interpret).

Validity thresholds: 49 CFR 40.88 (dilute, substituted) and the HHS Mandatory Guidelines,
urine, 3.8 (adulterated, invalid); observed recollection: 40.197(b)(1), 40.65(b), 40.159.
Boundaries are tested on both sides with the thresholds of config.example.toml.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import screening
from screening.config import ValiditySettings, load
from screening.core.interpret import (
    AnalyteOutcome,
    Measures,
    counts_as,
    judge_validity,
    needs_observed_recollection,
    read_result,
)

EXAMPLE = Path(screening.__file__).parent / "data" / "config.example.toml"
SETTINGS = load(EXAMPLE)
LIMITS = SETTINGS.validity
MEDS = SETTINGS.vocabulary
D = Decimal


def measures(creatinine=None, sg=None, ph=None, oxidant=None) -> Measures:
    def num(value):
        return None if value is None else D(value)

    return Measures(num(creatinine), num(sg), num(ph), oxidant)


def neg(code: str, stage: str = "presumptive") -> AnalyteOutcome:
    return AnalyteOutcome(code, "negative", stage)


def pos(code: str, stage: str = "presumptive") -> AnalyteOutcome:
    return AnalyteOutcome(code, "positive", stage)


def panel(positive=(), pending=(), inconclusive=(), negative=("COC", "THC", "OPI")):
    """Analyte outcomes: the given positives/pending/inconclusive, the rest negative."""
    named = set(positive) | set(pending) | set(inconclusive)
    return (
        [pos(c) for c in positive]
        + [AnalyteOutcome(c, "pending") for c in pending]
        + [AnalyteOutcome(c, "inconclusive") for c in inconclusive]
        + [neg(c) for c in negative if c not in named]
    )


# --------------------------------------------------------------------------- config


def test_example_config_thresholds_are_the_federal_ones():
    assert ValiditySettings() == LIMITS
    assert LIMITS.dilute_creatinine_below == D("20")
    assert LIMITS.dilute_sg_below == D("1.0030")
    assert LIMITS.substituted_creatinine_below == D("2")
    assert LIMITS.substituted_sg_at_most == D("1.0010")
    assert LIMITS.substituted_sg_at_least == D("1.0200")
    assert LIMITS.adulterated_ph_below == D("4")
    assert LIMITS.adulterated_ph_at_least == D("11")
    assert LIMITS.invalid_ph_below == D("4.5")
    assert LIMITS.invalid_ph_at_least == D("9")
    assert LIMITS.recollect_dilute_creatinine_at_most == D("5")


def test_example_config_buprenorphine_has_parent_and_metabolite():
    buprenorphine = MEDS.medications["buprenorphine"]
    assert buprenorphine.produces == {"BUP", "NORBUP"}
    assert (buprenorphine.parent, buprenorphine.metabolites) == ("BUP", {"NORBUP"})


# ------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("creatinine", "sg", "expected"),
    [
        # dilute: creatinine >= 2 and < 20 with SG > 1.0010 and < 1.0030 (40.88(a))
        ("10", "1.0020", "dilute"),
        ("2", "1.0020", "dilute"),  # creatinine lower bound, inclusive
        ("2.00", "1.0020", "dilute"),
        ("19.99", "1.0020", "dilute"),  # creatinine upper bound, exclusive
        ("20", "1.0020", "valid"),
        ("20.01", "1.0020", "valid"),
        ("10", "1.0011", "dilute"),  # SG lower bound, exclusive
        ("10", "1.0029", "dilute"),  # SG upper bound, exclusive
        ("10", "1.0030", "valid"),
        ("10", "1.0031", "valid"),
        ("2", "1.0011", "dilute"),  # both lower corners
        ("19.99", "1.0029", "dilute"),  # both upper corners
        ("20", "1.0029", "valid"),
        ("19.99", "1.0030", "valid"),
        # substituted: creatinine < 2 with SG <= 1.0010 or >= 1.0200 (40.88(b))
        ("1.99", "1.0010", "substituted"),
        ("1.99", "1.0009", "substituted"),
        ("0", "1.0000", "substituted"),
        ("1.99", "1.0200", "substituted"),
        ("1.99", "1.0250", "substituted"),
        ("2", "1.0200", "valid"),  # creatinine 2 is not "< 2"
        # invalid: creatinine < 2 with SG > 1.0010 and < 1.0200 (HHS MG 3.8(a))
        ("1.99", "1.0011", "invalid"),
        ("1.99", "1.0020", "invalid"),
        ("1.99", "1.0199", "invalid"),
        ("0.5", "1.0100", "invalid"),
        # ordinary specimens
        ("100", "1.0150", "valid"),
        ("20", "1.0200", "valid"),
        ("2", "1.0030", "valid"),
    ],
)
def test_creatinine_and_specific_gravity(creatinine, sg, expected):
    assert judge_validity(measures(creatinine, sg), LIMITS) == expected


@pytest.mark.parametrize(
    ("ph", "expected"),
    [
        # adulterated: pH < 4 or >= 11 (40.96 / HHS MG)
        ("3.99", "adulterated"),
        ("2", "adulterated"),
        ("11", "adulterated"),
        ("11.00", "adulterated"),
        ("12.5", "adulterated"),
        # invalid: pH >= 4 and < 4.5, or >= 9 and < 11 (HHS MG 3.8(b))
        ("4", "invalid"),
        ("4.0", "invalid"),
        ("4.49", "invalid"),
        ("9", "invalid"),
        ("9.5", "invalid"),
        ("10.99", "invalid"),
        # valid: 4.5 up to (not including) 9
        ("4.5", "valid"),
        ("6", "valid"),
        ("8.99", "valid"),
    ],
)
def test_ph(ph, expected):
    assert judge_validity(measures("100", "1.0150", ph), LIMITS) == expected


@pytest.mark.parametrize("ph", ["3.99", "11"])
def test_ph_alone_adulterated(ph):
    assert judge_validity(measures(ph=ph), LIMITS) == "adulterated"


@pytest.mark.parametrize("ph", ["4", "4.49", "9", "10.99"])
def test_ph_alone_invalid(ph):
    assert judge_validity(measures(ph=ph), LIMITS) == "invalid"


@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (measures(oxidant=True), "adulterated"),
        (measures("100", "1.0150", "6", True), "adulterated"),
        (measures("100", "1.0150", "6", False), "valid"),
        (measures(oxidant=False), "valid"),
        # adulteration outranks substitution, invalidity and dilution
        (measures("1.99", "1.0010", oxidant=True), "adulterated"),
        (measures("1.99", "1.0010", "3.99"), "adulterated"),
        (measures("1.99", "1.0010", "11"), "adulterated"),
        (measures("10", "1.0020", oxidant=True), "adulterated"),
        (measures("10", "1.0020", "11"), "adulterated"),
        # substitution outranks an invalid pH
        (measures("1.99", "1.0200", "4.2"), "substituted"),
        # an invalid pH outranks dilution
        (measures("10", "1.0020", "4"), "invalid"),
        (measures("10", "1.0020", "9"), "invalid"),
        (measures("10", "1.0020", "4.5"), "dilute"),
        (measures("10", "1.0020", "8.99"), "dilute"),
    ],
)
def test_validity_precedence(m, expected):
    assert judge_validity(m, LIMITS) == expected


@pytest.mark.parametrize(
    "m",
    [
        Measures(),
        measures(creatinine="10"),  # dilute creatinine, no SG
        measures(sg="1.0020"),  # dilute SG, no creatinine
        measures(sg="1.0010"),  # substituted SG, no creatinine
        measures(sg="1.0200"),
        measures(ph="6"),
        measures(ph="4.5"),
    ],
)
def test_missing_measures_are_valid(m):
    assert judge_validity(m, LIMITS) == "valid"


def test_validity_follows_configured_thresholds():
    stricter = ValiditySettings(dilute_creatinine_below="30", invalid_ph_at_least="8")
    assert judge_validity(measures("25", "1.0020"), stricter) == "dilute"
    assert judge_validity(measures("25", "1.0020"), LIMITS) == "valid"
    assert judge_validity(measures(ph="8.5"), stricter) == "invalid"
    assert judge_validity(measures(ph="8.5"), LIMITS) == "valid"


@pytest.mark.parametrize(
    ("creatinine", "sg"), [("2", "1.0010"), ("10", "1.0010"), ("19.99", "1.0009")]
)
def test_gravity_at_most_1_0010_is_never_dilute(creatinine, sg):
    # 49 CFR 40.88(a): dilute needs SG *above* 1.0010
    assert judge_validity(measures(creatinine, sg), LIMITS) != "dilute"


@pytest.mark.parametrize(
    ("creatinine", "sg"), [("2", "1.0010"), ("10", "1.0010"), ("50", "1.0005")]
)
def test_creatinine_normal_with_substituted_gravity_is_invalid(creatinine, sg):
    assert judge_validity(measures(creatinine, sg), LIMITS) == "invalid"


@pytest.mark.parametrize("creatinine", ["1.99", "0.5"])
def test_low_creatinine_without_gravity_is_not_invalid(creatinine):
    assert judge_validity(measures(creatinine=creatinine), LIMITS) == "valid"


def test_measures_round_trip_through_body():
    m = measures("4.5", "1.0020", "6.10", True)
    body = m.as_body()
    assert body == {
        "creatinine": "4.5",
        "specific_gravity": "1.0020",
        "ph": "6.10",
        "oxidant": True,
    }
    assert Measures.from_body(body) == m
    assert Measures.from_body({}) == Measures()
    assert Measures().empty
    assert not m.empty


# ------------------------------------------------------------- observed recollection


def recollect(creatinine, analytes=None, temperature_ok=None, sg="1.0020"):
    m = measures(creatinine, sg)
    validity = judge_validity(m, LIMITS)
    analytes = panel() if analytes is None else analytes
    return validity, needs_observed_recollection(validity, m, analytes, temperature_ok, LIMITS)


@pytest.mark.parametrize("creatinine", ["2", "2.0", "3", "4.99", "5", "5.0"])
def test_dilute_negative_with_creatinine_2_to_5_is_recollected_observed(creatinine):
    validity, reason = recollect(creatinine)
    assert validity == "dilute"
    assert reason is not None
    assert "dilute" in reason
    assert creatinine in reason


@pytest.mark.parametrize("creatinine", ["5.01", "5.1", "10", "19.99"])
def test_dilute_negative_above_5_is_not_recollected(creatinine):
    validity, reason = recollect(creatinine)
    assert validity == "dilute"
    assert reason is None


@pytest.mark.parametrize("positive", [["COC"], ["THC", "OPI"], ["ETG"]])
def test_dilute_positive_is_not_recollected(positive):
    validity, reason = recollect("3", panel(positive=positive))
    assert validity == "dilute"
    assert reason is None


@pytest.mark.parametrize(
    "analytes", [panel(pending=["COC"]), panel(inconclusive=["THC"])], ids=["pending", "inconc"]
)
def test_dilute_not_yet_negative_is_not_recollected(analytes):
    assert recollect("3", analytes) == ("dilute", None)


@pytest.mark.parametrize(
    ("creatinine", "sg"),
    [("3", "1.0030"), ("3", "1.0150"), ("1.99", "1.0010"), ("25", "1.0020")],
)
def test_not_dilute_is_not_recollected_for_creatinine(creatinine, sg):
    validity, reason = recollect(creatinine, sg=sg)
    assert validity != "dilute"
    assert reason is None


def test_an_invalid_specimen_is_recollected_under_observation():
    # 40.159: invalid without a medical explanation -> observed recollection.
    assert recollect("1.99", sg="1.0100") == ("invalid", "invalid specimen")


@pytest.mark.parametrize(
    ("creatinine", "sg", "analytes"),
    [
        ("100", "1.0150", panel()),
        ("100", "1.0150", panel(positive=["COC"])),
        ("3", "1.0020", panel()),
        ("10", "1.0020", panel(positive=["THC"])),
        (None, None, panel()),
    ],
)
def test_temperature_out_of_range_is_recollected_observed(creatinine, sg, analytes):
    _, reason = recollect(creatinine, analytes, temperature_ok=False, sg=sg)
    assert reason is not None
    assert "temperature" in reason


@pytest.mark.parametrize("temperature_ok", [True, None])
def test_temperature_in_range_or_unknown_is_not_recollected(temperature_ok):
    assert recollect("100", temperature_ok=temperature_ok, sg="1.0150") == ("valid", None)


def test_recollection_follows_configured_creatinine_limit():
    m = measures("7", "1.0020")
    wider = ValiditySettings(recollect_dilute_creatinine_at_most="8")
    assert needs_observed_recollection("dilute", m, panel(), None, wider) is not None
    assert needs_observed_recollection("dilute", m, panel(), None, LIMITS) is None


# ---------------------------------------------------------------------- read_result


def read(analytes, medications=(), validity="valid", temperature_ok=None, void=False):
    return read_result(analytes, list(medications), MEDS, validity, temperature_ok, void)


def has_flag(reading, prefix: str) -> bool:
    return any(flag.startswith(prefix) for flag in reading.flags)


@pytest.mark.parametrize("medications", [(), ("methadone",), ("oxycodone",)])
def test_all_negative(medications):
    r = read(panel(negative=("COC", "THC", "OPI", "BUP", "NORBUP")), medications)
    assert r.summary == "negative"
    assert r.flags == ()
    assert r.positives == []
    assert r.confirmed is False
    assert set(r.analytes.values()) == {"negative"}


@pytest.mark.parametrize(
    ("positive", "medications"),
    [
        (["COC"], ()),
        (["THC"], ("buprenorphine",)),
        (["BUP", "NORBUP"], ()),  # buprenorphine without a prescription
        (["MTD", "EDDP"], ("buprenorphine",)),  # the wrong medication
        (["OXY"], ("unknown-drug",)),  # a name not in the vocabulary explains nothing
        (["OPI"], ("oxycodone",)),  # an opiate immunoassay does not see oxycodone
        (["OPI"], ("fentanyl", "buprenorphine", "methadone")),
        (["AMP"], ("alprazolam",)),
    ],
)
def test_unexpected_positive(positive, medications):
    r = read(panel(positive=positive), medications)
    assert r.summary == "unexpected_positive"
    for code in positive:
        assert r.analytes[code] == "unexpected_positive"
    assert r.positives == sorted(positive)
    assert not has_flag(r, "possible_tampering")


@pytest.mark.parametrize(
    ("positive", "medications"),
    [
        (["BUP", "NORBUP"], ("buprenorphine",)),
        (["MTD", "EDDP"], ("methadone",)),
        (["FEN", "NORFEN"], ("fentanyl",)),
        (["OXY"], ("oxycodone",)),
        (["BZO"], ("alprazolam",)),
        (["BUP", "NORBUP", "MTD", "EDDP"], ("buprenorphine", "methadone")),
    ],
)
def test_expected_positive(positive, medications):
    r = read(panel(positive=positive), medications)
    assert r.summary == "expected_positive"
    assert all(r.analytes[code] == "expected_positive" for code in positive)
    assert r.positives == sorted(positive)
    assert r.flags == ()


def test_expected_and_unexpected_positive_together():
    r = read(panel(positive=["BUP", "NORBUP", "COC"]), ("buprenorphine",))
    assert r.summary == "unexpected_positive"
    assert r.analytes == {
        "BUP": "expected_positive",
        "NORBUP": "expected_positive",
        "COC": "unexpected_positive",
        "THC": "negative",
        "OPI": "negative",
    }


@pytest.mark.parametrize(
    ("medication", "negatives"),
    [
        ("buprenorphine", ("BUP", "NORBUP", "COC")),
        ("methadone", ("MTD", "EDDP", "COC")),
        ("oxycodone", ("OXY", "COC")),
        ("fentanyl", ("FEN", "NORFEN")),
    ],
)
def test_unexpected_negative(medication, negatives):
    r = read(panel(negative=negatives), (medication,))
    assert r.summary == "unexpected_negative"
    flags = [f for f in r.flags if f.startswith("unexpected_negative")]
    assert len(flags) == 1
    assert medication in flags[0]
    assert "possible diversion" in flags[0]


@pytest.mark.parametrize(
    "analytes",
    [
        [neg("BUP"), AnalyteOutcome("NORBUP", "pending")],  # not all tested yet
        [neg("BUP"), AnalyteOutcome("NORBUP", "inconclusive")],
        [neg("NORBUP"), pos("BUP")],  # found (tampering is another flag)
        [neg("COC")],  # buprenorphine not tested at all
    ],
)
def test_no_unexpected_negative_unless_every_tested_analyte_is_negative(analytes):
    r = read(analytes, ("buprenorphine",))
    assert not has_flag(r, "unexpected_negative")


def test_unexpected_negative_outranked_by_unexpected_positive():
    r = read(panel(positive=["COC"], negative=("BUP", "NORBUP")), ("buprenorphine",))
    assert has_flag(r, "unexpected_negative")
    assert r.summary == "unexpected_positive"


@pytest.mark.parametrize(
    ("medication", "parent", "metabolite"),
    [
        ("buprenorphine", "BUP", "NORBUP"),
        ("methadone", "MTD", "EDDP"),
        ("fentanyl", "FEN", "NORFEN"),
    ],
)
def test_parent_without_metabolite_is_possible_tampering(medication, parent, metabolite):
    r = read([pos(parent), neg(metabolite), neg("COC")], (medication,))
    assert r.summary == "possible_tampering"
    flags = [f for f in r.flags if f.startswith("possible_tampering")]
    assert len(flags) == 1
    assert parent in flags[0] and metabolite in flags[0]


@pytest.mark.parametrize(
    "analytes",
    [
        [pos("BUP"), pos("NORBUP")],
        [neg("BUP"), pos("NORBUP")],  # metabolite without the parent is not "added"
        [pos("BUP"), AnalyteOutcome("NORBUP", "pending")],
        [pos("BUP")],  # metabolite not tested
    ],
)
def test_no_parent_metabolite_tampering_flag(analytes):
    r = read(analytes, ("buprenorphine",))
    assert not has_flag(r, "possible_tampering")


def test_parent_without_metabolite_only_flagged_for_the_prescribed_medication():
    r = read([pos("BUP"), neg("NORBUP")], ())
    assert not has_flag(r, "possible_tampering")
    assert r.summary == "unexpected_positive"


@pytest.mark.parametrize("validity", ["adulterated", "substituted", "invalid"])
def test_bad_specimen_is_possible_tampering(validity):
    r = read(panel(), validity=validity)
    assert r.summary == "possible_tampering"
    assert f"possible_tampering: specimen {validity}" in r.flags


@pytest.mark.parametrize("validity", ["valid", "dilute"])
def test_good_specimen_is_not_tampering(validity):
    r = read(panel(), validity=validity)
    assert not has_flag(r, "possible_tampering")
    assert r.summary == "negative"


@pytest.mark.parametrize("temperature_ok", [False])
def test_temperature_out_of_range_is_possible_tampering(temperature_ok):
    r = read(panel(), temperature_ok=temperature_ok)
    assert r.summary == "possible_tampering"
    assert "possible_tampering: temperature out of range" in r.flags


@pytest.mark.parametrize("temperature_ok", [True, None])
def test_temperature_in_range_or_unknown_is_not_tampering(temperature_ok):
    r = read(panel(), temperature_ok=temperature_ok)
    assert r.summary == "negative"
    assert r.flags == ()


@pytest.mark.parametrize(
    ("analytes", "medications", "validity", "temperature_ok"),
    [
        (panel(positive=["COC"]), (), "adulterated", None),
        (panel(positive=["COC"]), (), "substituted", None),
        (panel(positive=["COC"]), (), "invalid", None),
        (panel(positive=["COC"]), (), "valid", False),
        ([pos("BUP"), neg("NORBUP"), pos("COC")], ("buprenorphine",), "valid", None),
        (panel(positive=["COC"], negative=("BUP", "NORBUP")), ("buprenorphine",), "invalid", None),
    ],
)
def test_possible_tampering_outranks_unexpected_positive(
    analytes, medications, validity, temperature_ok
):
    r = read(analytes, medications, validity, temperature_ok)
    assert "unexpected_positive" in r.analytes.values()
    assert r.summary == "possible_tampering"


def test_every_tampering_reason_is_flagged():
    r = read([pos("BUP"), neg("NORBUP")], ("buprenorphine",), "invalid", False)
    assert [f for f in r.flags if f.startswith("possible_tampering")] == [
        "possible_tampering: specimen invalid",
        "possible_tampering: temperature out of range",
        "possible_tampering: BUP positive without its metabolite NORBUP "
        "(drug added to the specimen?)",
    ]


@pytest.mark.parametrize(
    ("positive", "medications"),
    [
        (["ETG"], ()),
        (["ETG"], ("methadone",)),
        (["ETG", "BUP", "NORBUP"], ("buprenorphine",)),  # the other positives are expected
    ],
)
def test_etg_alone_may_be_incidental(positive, medications):
    r = read(panel(positive=positive), medications)
    assert has_flag(r, "incidental_exposure_possible")
    assert r.summary == "unexpected_positive"


@pytest.mark.parametrize(
    ("positive", "medications"),
    [
        (["ETG", "COC"], ()),
        (["ETG", "THC"], ("buprenorphine",)),
        (["ETG", "BUP", "NORBUP"], ()),  # buprenorphine not prescribed: unexpected too
        (["COC"], ()),  # no EtG at all
        ([], ()),
    ],
)
def test_no_incidental_flag_unless_etg_is_the_only_unexpected_positive(positive, medications):
    r = read(panel(positive=positive), medications)
    assert not has_flag(r, "incidental_exposure_possible")


@pytest.mark.parametrize(
    ("stages", "confirmed"),
    [
        (("confirmed",), True),
        (("confirmed", "confirmed"), True),
        (("presumptive",), False),
        (("confirmed", "presumptive"), False),
        (("presumptive", "confirmed"), False),
        (("presumptive", "presumptive"), False),
    ],
)
def test_confirmed_only_when_every_positive_is_confirmed(stages, confirmed):
    codes = ["COC", "THC"][: len(stages)]
    analytes = [pos(code, stage) for code, stage in zip(codes, stages, strict=True)]
    r = read(analytes + [neg("OPI", "presumptive")])
    assert r.confirmed is confirmed


@pytest.mark.parametrize(("bup_stage", "confirmed"), [("confirmed", True), ("presumptive", False)])
def test_confirmed_counts_expected_positives(bup_stage, confirmed):
    analytes = [pos("BUP", bup_stage), pos("NORBUP", "confirmed"), pos("COC", "confirmed")]
    assert read(analytes, ("buprenorphine",)).confirmed is confirmed


def test_negatives_do_not_make_a_result_confirmed():
    r = read([neg("COC", "confirmed"), neg("THC", "confirmed")])
    assert r.confirmed is False
    r = read([pos("COC", "confirmed"), neg("THC", "presumptive")])
    assert r.confirmed is True


@pytest.mark.parametrize(
    ("analytes", "validity", "temperature_ok"),
    [
        (panel(), "valid", None),
        (panel(positive=["COC"]), "adulterated", False),
        ([], "valid", None),
    ],
)
def test_void(analytes, validity, temperature_ok):
    r = read(analytes, ("buprenorphine",), validity, temperature_ok, void=True)
    assert r.summary == "void"
    assert r.analytes == {}
    assert r.confirmed is False
    assert r.positives == []
    assert len(r.flags) == 1 and r.flags[0].startswith("void")


@pytest.mark.parametrize(
    ("pending", "inconclusive", "positive", "medications", "summary"),
    [
        (["COC"], [], [], (), "pending"),
        (["COC", "THC", "OPI"], [], [], (), "pending"),
        (["COC"], ["THC"], [], (), "inconclusive"),
        ([], ["THC"], [], (), "inconclusive"),
        (["COC"], [], ["THC"], (), "unexpected_positive"),
        (["COC"], [], ["BUP", "NORBUP"], ("buprenorphine",), "pending"),
        ([], ["COC"], ["BUP", "NORBUP"], ("buprenorphine",), "inconclusive"),
    ],
)
def test_pending_and_inconclusive(pending, inconclusive, positive, medications, summary):
    analytes = panel(positive=positive, pending=pending, inconclusive=inconclusive)
    r = read(analytes, medications)
    assert r.summary == summary
    for code in pending:
        assert r.analytes[code] == "pending"
    for code in inconclusive:
        assert r.analytes[code] == "inconclusive"


@pytest.mark.parametrize(
    ("positive", "summary"), [([], "negative"), (["COC"], "unexpected_positive")]
)
def test_dilute_specimen_is_flagged(positive, summary):
    r = read(panel(positive=positive), validity="dilute")
    assert "dilute" in r.flags
    assert r.summary == summary
    assert not has_flag(r, "possible_tampering")


@pytest.mark.parametrize("validity", ["valid", "adulterated", "substituted", "invalid"])
def test_only_dilute_is_flagged_dilute(validity):
    assert "dilute" not in read(panel(), validity=validity).flags


# ------------------------------------------------------------------------- counts_as


@pytest.mark.parametrize(
    ("status", "summary", "policy", "expected"),
    [
        ("no_show", None, "positive", "positive"),
        ("no_show", None, "missed", "missed"),
        ("refused", None, "positive", "positive"),
        ("refused", None, "missed", "missed"),
        # 49 CFR 40.191(b): adulterated or substituted counts as a refusal ...
        ("collected", "possible_tampering/substituted", "positive", "positive"),
        ("collected", "possible_tampering/adulterated", "missed", "missed"),
        # ... an invalid specimen is recollected instead, and reads as possible tampering.
        ("collected", "possible_tampering/invalid", "positive", "possible_tampering"),
        ("collected", "possible_tampering/valid", "missed", "possible_tampering"),
        ("collected", "negative", "positive", "negative"),
        ("collected", "negative", "missed", "negative"),
        ("collected", "unexpected_positive", "missed", "unexpected_positive"),
        ("collected", "expected_positive", "positive", "expected_positive"),
        ("collected", "unexpected_negative", "positive", "unexpected_negative"),
        ("collected", "pending", "positive", "pending"),
        ("collected", None, "positive", "collected"),
        ("excused", None, "positive", "excused"),
        ("excused", None, "missed", "excused"),
        ("pending", None, "positive", "pending"),
        ("cancelled", None, "positive", "cancelled"),
    ],
)
def test_counts_as(status, summary, policy, expected):
    summary, _, validity = (summary or "").partition("/")
    assert counts_as(status, summary or None, policy, validity or None) == expected


def test_counts_as_reads_a_real_tampered_result():
    r = read(panel(), validity="substituted")
    assert counts_as("collected", r.summary, "positive", "substituted") == "positive"
    assert counts_as("collected", r.summary, "missed", "substituted") == "missed"
    r = read(panel())
    assert counts_as("collected", r.summary, "positive", "valid") == "negative"


# ------------------------------------------------------------- readings by assay


def test_a_brand_name_stored_before_the_vocabulary_reads_as_its_generic_name():
    r = read(panel(positive=["BUP", "NORBUP"]), ("suboxone",))
    assert r.summary == "expected_positive"
    assert r.flags == ()


def test_an_unknown_stored_name_is_flagged_for_staff():
    r = read(panel(), ("unknown-drug",))
    assert r.summary == "negative"
    assert any(f.startswith("unknown_medication: 'unknown-drug'") for f in r.flags)


@pytest.mark.parametrize(
    ("positive", "medications", "reads"),
    [
        (["OXY"], ("oxycodone",), "expected_positive"),
        (["OPI"], ("codeine",), "expected_positive"),
        (["OPI"], ("hydrocodone",), "expected_positive"),  # cross-reacts: explains
        (["AMP"], ("lisdexamfetamine",), "expected_positive"),
        (["THC"], ("dronabinol",), "expected_positive"),
        (["THC"], ("nabilone",), "unexpected_positive"),
    ],
)
def test_expected_per_assay(positive, medications, reads):
    r = read(panel(positive=positive, negative=("COC", "OPI", "OXY", "AMP", "THC")), medications)
    assert all(r.analytes[code] == reads for code in positive)


def test_an_assay_that_may_not_see_a_medication_does_not_call_its_absence_diversion():
    # Benzodiazepine immunoassays detect clonazepam poorly.
    r = read(panel(negative=("BZO", "COC")), ("clonazepam",))
    assert not has_flag(r, "unexpected_negative")
    r = read(panel(negative=("BZO", "COC")), ("alprazolam",))
    assert has_flag(r, "unexpected_negative: alprazolam")


def test_not_tested_is_neither_negative_nor_diversion():
    analytes = [AnalyteOutcome("BUP", "not_tested"), AnalyteOutcome("NORBUP", "not_tested")]
    r = read(analytes + [neg("COC")], ("buprenorphine",))
    assert r.summary == "negative"
    assert r.analytes["BUP"] == "not_tested"
    assert not has_flag(r, "unexpected_negative")
    assert read(analytes).summary == "not_tested"


def test_levels_and_cutoffs_in_words():
    coc = AnalyteOutcome("COC", "positive", "presumptive", D("900"), D("150"))
    bup = AnalyteOutcome("BUP", "positive", "confirmed", D("42"), D("5"))
    mamp = AnalyteOutcome("MAMP", "positive", "presumptive", D("80"), D("500"))
    r = read_result([coc, bup, mamp], ["buprenorphine"], MEDS, "valid", override="cup read it")
    assert r.words == (
        "BUP 42 ng/mL, confirmation cutoff 5: positive (expected: buprenorphine), confirmed",
        "COC 900 ng/mL, screen cutoff 150: positive (unexpected: no prescription explains it)",
        "MAMP 80 ng/mL, screen cutoff 500: positive (unexpected: no prescription explains it)"
        " - stated against its level (override: cup read it)",
    )
