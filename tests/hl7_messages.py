"""Synthetic HL7 v2 ORU^R01 messages for tests: a urine drug screen from a made-up lab
(no real names), with the LOINC codes of screening/data/vocabulary.toml."""

from __future__ import annotations

THC_POSITIVE = (
    "1",
    "CWE",
    "18282-4^Cannabinoids [Presence] in Urine by Screen method^LN",
    "LA6576-8^Positive^LN",
    "",
    "50",
    "F",
)


def oru(
    *,
    control_id: str = "MSG0001",
    facility: str = "ACME TOX^05D1234567^CLIA",
    version: str = "2.5.1",
    specimen: str | None = "SP-0001",
    filler: str = "ORD-0001",
    collected: str = "20261201093000-0500",
    status: str = "F",
    observations: tuple[tuple[str, str, str, str, str, str, str], ...] = (THC_POSITIVE,),
) -> str:
    """One message, CR segment ends: MSH, PID, ORC, OBR, an OBX per tuple (set_id,
    value_type, code, value, units, reference, status) and an SPM (none when specimen
    is None)."""
    segments = [
        f"MSH|^~\\&|ACME LIS|{facility}|SCREENING|TEST CLINIC|20261201120000-0500||"
        f"ORU^R01^ORU_R01|{control_id}|P|{version}",
        "PID|1||PT-0001^^^ACME^MR||TEST^PATIENT||19800101|U",
        f"ORC|RE|PLC-0001|{filler}",
        f"OBR|1|PLC-0001|{filler}|69739-1^Drugs of abuse panel - Urine by Screen method^LN"
        f"|||{collected}|||||||||||||||20261201110000-0500|||{status}",
    ]
    for set_id, value_type, code, value, units, reference, obx_status in observations:
        segments.append(
            f"OBX|{set_id}|{value_type}|{code}||{value}|{units}|{reference}||||"
            f"{obx_status}|||{collected}"
        )
    if specimen is not None:
        segments.append(f"SPM|1|{specimen}||122575003^Urine specimen^SCT")
    return "\r".join(segments) + "\r"


def framed(text: str) -> bytes:
    """One message in an MLLP frame (0x0B ... 0x1C 0x0D)."""
    return b"\x0b" + text.encode("utf-8") + b"\x1c\r"


def as_bytes(text: str, *, ends: str = "\r", bom: bool = False) -> bytes:
    """The message's bytes with its CR segment ends as `ends`, after a UTF-8 BOM if asked."""
    data = text.replace("\r", ends).encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data
