"""The HL7 v2 ORU^R01 reader (screening/core/hl7v2.py): public sample files, the byte
habits real feeds have, what an OBX value says, and the problems a user is shown."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import hl7  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.core.hl7v2 import (
    Hl7Problem,
    Message,
    Observation,
    ack,
    cutoff_of,
    looks_like_hl7,
    read_messages,
    read_value,
    same_unit,
)
from tests.hl7_messages import as_bytes, framed, oru

PUBLIC = Path(__file__).parent / "data" / "hl7-public"
THC = "18282-4^Cannabinoids [Presence] in Urine by Screen method^LN"
FENTANYL = "59673-4^Fentanyl [Presence] in Urine by Screen method^LN"


def _public(name: str) -> list[Message]:
    return read_messages((PUBLIC / name).read_bytes())


def _problem(data: bytes) -> str:
    with pytest.raises(Hl7Problem) as caught:
        read_messages(data)
    text = str(caught.value)
    assert "\n" not in text and text.startswith("line ")
    return text


def _obx(value_type: str, value: str, reference: str = "", units: str = "") -> Observation:
    text = oru(observations=(("1", value_type, THC, value, units, reference, "F"),))
    return read_messages(as_bytes(text))[0].orders[0].observations[0]


def _lines_off(message: Message) -> Message:
    orders = tuple(
        dataclasses.replace(
            order,
            line=0,
            observations=tuple(dataclasses.replace(o, line=0) for o in order.observations),
        )
        for order in message.orders
    )
    return dataclasses.replace(message, line=0, orders=orders)


# ---------------------------------------------------------------- public samples


def test_the_fhir_converter_lab_file_with_mixed_statuses_is_read() -> None:
    [message] = _public("fhir-converter_LAB-ORU-1_mixed_status.hl7")
    assert (message.message_type, message.control_id, message.version) == ("ORU^R01", "182", "2.5")
    assert message.application == "SomeSystem"
    assert [len(order.observations) for order in message.orders] == [5, 5]
    assert [order.specimen_ids for order in message.orders] == [("SpecimenID",)] * 2
    assert [order.filler for order in message.orders] == ["82503246", "890775544"]
    first = message.orders[0].observations
    assert [o.status for o in first] == ["I", "P", "I", "P", "F"]
    assert [read_value(o).kind for o in first] == ["empty", "number", "empty", "number", "number"]
    assert read_value(first[1]).number == Decimal("4.06")
    assert first[1].units.id == "tera.l-1"


def test_the_nist_cbc_message_is_read() -> None:
    [message] = _public("fhir-converter_NIST_LRI_2.0-NG_CBC_Typ_Message.hl7")
    assert (message.control_id, message.version) == ("NIST-LRI-NG-002.00", "2.5.1")
    assert message.facility.namespace == "NIST Lab Facility"
    assert message.receiving_facility == "NIST EHR Facility"
    [order] = message.orders
    assert (order.placer, order.filler, order.status) == ("ORD666555", "R-991133", "F")
    assert order.code.id == "57021-8" and order.collected_at == "20110103143428-0800"
    assert len(order.observations) == 28
    first = order.observations[0]
    assert first.units.show() == "10*6/uL^million per microliter^UCUM"
    assert first.reference == "4.3 to 6.2" and cutoff_of(first) is None
    coded = order.observations[20]  # 260415000^not detected^SCT
    assert read_value(coded).outcome == "negative"
    assert read_value(order.observations[25]).kind == "text"


def test_the_python_hl7_glucose_sample_with_cr_ends_is_read() -> None:
    [message] = _public("python-hl7_sample_hl7_glucose_v2.4.hl7")
    assert (message.control_id, message.version) == ("CNTRL-3456", "2.4")
    assert message.facility.namespace == "ELAB-3"
    [order] = message.orders
    glucose, second = order.observations
    value = read_value(glucose)
    assert (value.kind, value.comparator, value.number) == ("number", "", Decimal("182"))
    assert glucose.units.id == "mg/dl" and cutoff_of(glucose) is None  # '70_105' is a range
    with pytest.raises(Hl7Problem, match=r'^line 5, segment OBX 2: OBX-2 value type "FN"'):
        read_value(second)


# ---------------------------------------------------------------- byte habits

BASE = oru()


@pytest.mark.parametrize(
    "data",
    [
        as_bytes(BASE, ends="\r\n"),
        as_bytes(BASE, ends="\n"),
        as_bytes(BASE, bom=True),
        as_bytes(BASE, ends="\n", bom=True) + b"\n\n",
        framed(BASE),
        b"\xef\xbb\xbf" + framed(BASE.replace("\r", "\r\n")),
        BASE.replace("\r", "\n", 2).encode(),  # mixed ends
    ],
    ids=["crlf", "lf", "bom", "bom-lf-blank-lines", "mllp", "bom-mllp-crlf", "mixed"],
)
def test_the_same_message_reads_the_same_whatever_its_byte_habits(data: bytes) -> None:
    assert read_messages(data) == read_messages(as_bytes(BASE))


def test_a_message_in_fhs_and_bhs_wrappers_is_read_and_the_wrappers_counted_as_lines() -> None:
    text = "FHS|^~\\&|ACME LIS\rBHS|^~\\&|ACME LIS\r" + BASE + "BTS|1\rFTS|1\r"
    [message] = read_messages(as_bytes(text, ends="\r\n"))
    assert message.line == 3 and message.orders[0].observations[0].line == 7
    assert _lines_off(message) == _lines_off(read_messages(as_bytes(BASE))[0])


@pytest.mark.parametrize("joined", ["lf", "mllp"])
def test_two_messages_in_one_file_are_both_read(joined: str) -> None:
    second = oru(control_id="MSG0002", specimen="SP-0002", filler="ORD-0002")
    lf = as_bytes(BASE + second, ends="\n")
    data = lf if joined == "lf" else framed(BASE) + framed(second)
    first, other = read_messages(data)
    assert first == read_messages(as_bytes(BASE))[0]
    assert (other.line, other.control_id, other.orders[0].specimen_ids) == (
        7,
        "MSG0002",
        ("SP-0002",),
    )


def test_each_message_is_read_with_its_own_separators() -> None:
    # MSH-2 '$~\&': '$' separates components in this message only
    dollars = BASE.replace("^", "$").replace("MSG0001", "MSG0002")
    plain, other = read_messages(as_bytes(BASE + dollars))
    assert _lines_off(other) == _lines_off(dataclasses.replace(plain, control_id="MSG0002"))


def test_escaped_separators_in_a_value_are_decoded() -> None:
    observation = _obx("ST", "see note \\F\\ 2 \\S\\ 3 \\E\\")
    assert observation.value == ("see note | 2 ^ 3 \\",)


@pytest.mark.parametrize(
    "data",
    [as_bytes(BASE), framed(BASE), as_bytes(BASE, bom=True), b"\n  FHS|^~\\&|X\rBHS|^~\\&\r"],
)
def test_hl7_is_recognised_by_its_first_segment(data: bytes) -> None:
    assert looks_like_hl7(data)


@pytest.mark.parametrize("data", [b"", b"client,date,result\n", b"MSH,1", b"\xef\xbb\xbfPID|1"])
def test_other_files_are_not_taken_for_hl7(data: bytes) -> None:
    assert not looks_like_hl7(data)


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("LA6576-8^Positive^LN", "positive"),
        ("LA6577-6^Negative^LN", "negative"),
        ("LA11882-0^Detected^LN", "positive"),
        ("LA11883-8^Not detected^LN", "negative"),
        ("10828004^Positive^SCT", "positive"),
        ("260385009^Negative^SCT", "negative"),
        ("260373001^Detected^SCT", "positive"),
        ("POS^Presumptive Positive^L", "positive"),
        ("ND^None Detected^L", "negative"),
        ("INC^Inconclusive^L", None),
    ],
)
def test_a_coded_answer_gives_the_outcome(value: str, outcome: str | None) -> None:
    read = read_value(_obx("CWE", value))
    assert (read.kind, read.outcome, read.text) == ("coded", outcome, value)


def test_a_ce_value_is_read_as_coded() -> None:
    assert read_value(_obx("CE", "LA6577-6^Negative^LN")).outcome == "negative"


@pytest.mark.parametrize(
    ("value_type", "value", "comparator", "number"),
    [
        ("NM", "123.4", "", Decimal("123.4")),
        ("NM", "-0.5", "", Decimal("-0.5")),
        ("SN", "<^0.5", "<", Decimal("0.5")),
        ("SN", "^182", "", Decimal("182")),
        ("SN", ">^1000", ">", Decimal("1000")),
        ("SN", ">=^300", ">=", Decimal("300")),
        ("SN", "=^5", "", Decimal("5")),
    ],
)
def test_a_number_is_read_with_its_comparator(
    value_type: str, value: str, comparator: str, number: Decimal
) -> None:
    read = read_value(_obx(value_type, value, units="ng/mL"))
    assert (read.kind, read.comparator, read.number, read.text) == (
        "number",
        comparator,
        number,
        value,
    )


@pytest.mark.parametrize(
    ("value_type", "value", "problem"),
    [
        ("NM", "abc", 'line 5, segment OBX 1: OBX-5 value "abc" is not a number (value type NM)'),
        ("NM", "NaN", 'line 5, segment OBX 1: OBX-5 value "NaN" is not a number'),
        ("SN", "^10^-^20", 'OBX-5 value "^10^-^20" is a range or ratio, not a single value'),
        ("SN", "<>^3", 'OBX-5 comparator "<>" is not one of'),
        ("SN", "<^", 'OBX-5 value "<" has no number'),
        ("XX", "1", 'line 5, segment OBX 1: OBX-2 value type "XX" is not one of CWE, CE, NM'),
    ],
)
def test_a_value_that_is_not_what_its_type_says_is_refused(
    value_type: str, value: str, problem: str
) -> None:
    with pytest.raises(Hl7Problem) as caught:
        read_value(_obx(value_type, value))
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("Negative", "negative"),
        ("NOT DETECTED.", "negative"),
        ("Positive", "positive"),
        ("see note", None),
    ],
)
def test_a_text_value_gives_an_outcome_only_from_plain_words(
    value: str, outcome: str | None
) -> None:
    read = read_value(_obx("ST", value))
    assert (read.kind, read.outcome, read.text) == ("text", outcome, value)


def test_an_empty_value_is_empty_whatever_its_type() -> None:
    assert read_value(_obx("", "")).kind == "empty"
    assert read_value(_obx("NM", "")).kind == "empty"


@pytest.mark.parametrize(
    "reference", ["50", "<50", "< 50", "cutoff 50", "Cutoff: 50 ng/mL", "<50 ng/mL", "50.0"]
)
def test_the_lab_s_cutoff_is_read_from_obx_7(reference: str) -> None:
    assert cutoff_of(_obx("NM", "12", reference=reference)) == Decimal("50")


@pytest.mark.parametrize("reference", ["", "0-49", "4.3 to 6.2", "70_105", "negative", ">50"])
def test_a_range_or_words_in_obx_7_are_no_cutoff(reference: str) -> None:
    assert cutoff_of(_obx("NM", "12", reference=reference)) is None


@pytest.mark.parametrize(
    ("given", "expected", "same"),
    [
        ("ng/mL", "ng/mL", True),
        ("ng/ml", "ng/mL", True),
        ("NG / ML", "ng/mL", True),
        ("ug/L", "ng/mL", False),
        ("", "ng/mL", False),
        ("mg/dL", "g/dL", False),
    ],
)
def test_units_are_compared_never_converted(given: str, expected: str, same: bool) -> None:
    assert same_unit(given, expected) is same


def test_units_come_from_obx_6_in_either_form() -> None:
    assert _obx("NM", "75", units="ng/mL^nanogram per milliliter^UCUM").units.id == "ng/mL"
    assert _obx("NM", "75", units="ng/mL").units.show() == "ng/mL"


# ---------------------------------------------------------------- problems


def test_a_message_that_is_not_a_lab_result_is_refused() -> None:
    text = BASE.replace("ORU^R01^ORU_R01", "ADT^A01")
    assert _problem(as_bytes(text)) == (
        "line 1, segment MSH: message type ADT^A01 is not a lab result (ORU^R01)"
    )


def test_a_problem_in_a_later_message_names_its_line_and_nothing_is_read() -> None:
    data = as_bytes(BASE + oru(control_id="MSG0002").replace("ORU^R01", "ORM^O01"), ends="\n")
    assert _problem(data).startswith("line 7, segment MSH: message type ORM^O01")


@pytest.mark.parametrize("version", ["2.2", "2.6", ""])
def test_a_version_outside_2_3_to_2_5_1_is_refused(version: str) -> None:
    problem = _problem(as_bytes(oru(version=version)))
    assert problem.startswith("line 1, segment MSH: HL7 version ")
    assert "(2.3, 2.3.1, 2.4, 2.5, 2.5.1)" in problem


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5"])
def test_each_version_from_2_3_is_read(version: str) -> None:
    assert read_messages(as_bytes(oru(version=version)))[0].version == version


def test_an_observation_before_any_order_is_refused() -> None:
    text = "\r".join(s for s in BASE.split("\r") if not s.startswith("OBR"))
    assert _problem(as_bytes(text)).startswith("line 4, segment OBX 1: OBX before any OBR")


def test_an_empty_control_id_is_refused() -> None:
    assert _problem(as_bytes(oru(control_id=""))) == (
        "line 1, segment MSH: MSH-10 (message control id) is empty"
    )


def test_bytes_that_are_not_utf8_are_refused_with_their_line() -> None:
    data = as_bytes(BASE, ends="\r\n").replace(b"TEST^PATIENT", b"T\xc9ST^PATIENT")
    assert _problem(data) == (
        "line 2, segment PID: byte 0xC9 at column 28 is not UTF-8 text; save the file as UTF-8"
    )


def test_a_line_that_is_not_a_segment_is_refused() -> None:
    data = as_bytes(BASE.replace("ORC|", "orc|"), ends="\n")
    assert _problem(data).startswith("line 3: not a segment")


def test_a_segment_before_any_msh_is_refused() -> None:
    assert (
        _problem(b"PID|1||X\rMSH|^~\\&|A\r") == "line 1, segment PID: a PID segment before any MSH"
    )


def test_a_file_with_no_message_is_refused() -> None:
    assert _problem(b"\xef\xbb\xbf\r\n\r\n").startswith("line 1: no MSH segment")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400), st.integers(0, 8), st.sampled_from(list(b"|^~\\&\r\n\x0b\x1cM1<"))
        ),
        max_size=6,
    )
)
def test_a_damaged_file_is_read_or_refused_in_one_line_never_a_crash(
    edits: list[tuple[int, int, int]],
) -> None:
    data = bytearray(as_bytes(BASE, ends="\r\n"))
    for at, cut, byte in edits:
        data[at : at + cut] = bytes([byte])
    try:
        messages = read_messages(bytes(data))
        observations = [o for m in messages for order in m.orders for o in order.observations]
        for observation in observations:
            read_value(observation)
    except Hl7Problem as problem:
        assert "\n" not in str(problem) and str(problem).startswith("line ")


def test_specimens_and_their_observations_stay_with_their_order() -> None:
    assert read_messages(as_bytes(oru(specimen=None)))[0].orders[0].specimen_ids == ()
    creatinine = "OBX|1|NM|2161-8^Creatinine [Mass/volume] in Urine^LN||12|mg/dL|||||F"
    [order] = read_messages(as_bytes(BASE + creatinine))[0].orders
    assert order.specimen_ids == ("SP-0001",)
    assert [o.code.id for o in order.observations] == ["18282-4", "2161-8"]


def test_unknown_segments_are_skipped() -> None:
    text = BASE.replace("ORC|", "NTE|1||a note\rZXX|private\rPV1|1|O\rORC|")
    assert _lines_off(read_messages(as_bytes(text))[0]) == _lines_off(
        read_messages(as_bytes(BASE))[0]
    )


# ---------------------------------------------------------------- acknowledgement


@pytest.mark.parametrize("code", ["AA", "AE", "AR"])
def test_an_ack_answers_the_message_back_to_its_sender(code: str) -> None:
    message = read_messages(as_bytes(BASE))[0]
    data = ack(message, code, "result | for ^ review", "ACK0001", "20261201120500+0000")
    assert data.endswith(b"\r") and b"\n" not in data
    parsed = hl7.parse(data.decode("utf-8"))
    assert parsed["MSA.F1"] == code and parsed["MSA.F2"] == "MSG0001"
    assert parsed["MSA.F3"] == "result | for ^ review"
    assert str(parsed.segment("MSH")(9)) == "ACK^R01^ACK"
    assert (parsed["MSH.F3"], parsed["MSH.F4"], parsed["MSH.F5"]) == (
        "SCREENING",
        "TEST CLINIC",
        "ACME LIS",
    )
    assert str(parsed.segment("MSH")(6)) == "ACME TOX^05D1234567^CLIA"
    assert (parsed["MSH.F7"], parsed["MSH.F10"], parsed["MSH.F11"], parsed["MSH.F12"]) == (
        "20261201120500+0000",
        "ACK0001",
        "P",
        "2.5.1",
    )


def test_an_ack_code_other_than_aa_ae_ar_is_a_mistake() -> None:
    message = read_messages(as_bytes(BASE))[0]
    with pytest.raises(ValueError, match="CA"):
        ack(message, "CA", "", "ACK0001", "20261201120500+0000")
