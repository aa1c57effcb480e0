"""HL7 v2 ORU^R01 lab results (v2.3 to v2.5.1) read from a file's bytes, and the ACK for
each message.

Files arrive with byte habits that make parsers fail silently: a UTF-8 BOM, CR, CRLF or
LF segment ends (even mixed), blank lines, MLLP framing (0x0B ... 0x1C 0x0D) and FHS/BHS
batch wrappers. ``_segments`` undoes those here, then each message goes to the ``hl7``
package (python-hl7) with CR segment ends, which reads its separators from its own MSH.

"line N" in every problem is the Nth segment of the file, counting every segment (FHS,
BHS, BTS, FTS too) and no blank line: in a file with LF or CRLF ends and no blank lines
that is the line an editor shows; in a CR-only file it is the Nth segment.

Pure: no I/O, no clock (``ack`` takes its time as an argument).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hl7  # type: ignore[import-untyped]

from screening.core.hl7v2_values import (
    Coded,
    Hl7Problem,
    Observation,
    Value,
    cutoff_of,
    escape,
    moment,
    read_value,
    same_unit,
    unescape,
)

__all__ = [
    "Coded",
    "Facility",
    "Hl7Problem",
    "Message",
    "Observation",
    "Order",
    "Value",
    "ack",
    "cutoff_of",
    "looks_like_hl7",
    "moment",
    "read_messages",
    "read_value",
    "same_unit",
]

VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
ACK_CODES = ("AA", "AE", "AR")
_BOM = b"\xef\xbb\xbf"
_HEADERS = ("MSH", "FHS", "BHS")
_WRAPPERS = ("FHS", "BHS", "BTS", "FTS")
_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
# MLLP frame bytes (start 0x0B, end 0x1C) and a BOM repeated where files were joined.
_FRAME = "\x0b\x1c\ufeff"


@dataclass(frozen=True)
class Facility:  # MSH-4 (HD): namespace^universal_id^universal_id_type
    namespace: str
    universal_id: str
    id_type: str

    def show(self) -> str:
        return "^".join((self.namespace, self.universal_id, self.id_type)).rstrip("^")


@dataclass(frozen=True)
class Order:  # one OBR and what follows it up to the next OBR
    line: int
    placer: str  # OBR-2.1
    filler: str  # OBR-3.1
    obr20: str  # OBR-20.1 (filler field 1)
    specimen_ids: tuple[str, ...]  # SPM-2.1 of each SPM of this order
    code: Coded  # OBR-4
    collected_at: str  # OBR-7 raw TS
    status: str  # OBR-25 (upper)
    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class Message:
    line: int  # line of its MSH
    control_id: str  # MSH-10
    facility: Facility  # MSH-4
    application: str  # MSH-3.1
    message_type: str  # MSH-9 as 'ORU^R01'
    version: str  # MSH-12.1
    sent_at: str  # MSH-7 raw
    receiving_application: str  # MSH-5.1
    receiving_facility: str  # MSH-6.1
    orders: tuple[Order, ...]
    patient_ids: tuple[str, ...]  # PID-3.1 of each repetition


def looks_like_hl7(data: bytes) -> bool:
    """True when, after an optional BOM, whitespace and MLLP start byte, the bytes start
    with an MSH, FHS or BHS segment."""
    head = data.removeprefix(_BOM).lstrip().removeprefix(b"\x0b")
    return head[:4] in (b"MSH|", b"FHS|", b"BHS|")


# ---------------------------------------------------------------- bytes to segments


def _segments(data: bytes) -> list[tuple[int, str]]:
    """Each segment of the file with its line (see the module docstring), frame bytes and
    line ends taken off; spaces inside and at the end of a segment are the lab's."""
    found: list[tuple[int, str]] = []
    for raw in _LINE_ENDS.split(data.removeprefix(_BOM)):
        line = len(found) + 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            name = raw.lstrip(b"\x0b\x1c \t")[:3].decode("ascii", "replace")
            raise Hl7Problem(
                f"line {line}, segment {name}: byte 0x{raw[bad.start]:02X} at column "
                f"{bad.start + 1} is not UTF-8 text; save the file as UTF-8"
            ) from None
        text = text.lstrip(_FRAME + " \t").rstrip(_FRAME)
        if text.strip():
            found.append((line, text))
    return found


def _where(line: int, name: str, set_id: str = "") -> str:
    return f"line {line}, segment {name} {set_id}".rstrip()


def _messages(segments: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """The file's segments grouped by message; FHS/BHS/BTS/FTS wrappers end a message."""
    messages: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] | None = None
    separator = "|"
    for line, text in segments:
        name = text[:3]
        if not _NAME.fullmatch(name):
            # the line's text stays out of the message: it may be part of a name
            raise Hl7Problem(
                f"line {line}: not a segment (a segment starts with its name, three "
                "capital letters or digits, then the field separator)"
            )
        if name in _HEADERS:
            separator = text[3:4]
            if not separator or separator.isalnum() or separator.isspace():
                raise Hl7Problem(f"{_where(line, name)}: no field separator after {name}")
        elif text[3:] and text[3] != separator:
            raise Hl7Problem(
                f"{_where(line, name)}: the segment name is not followed by the field "
                f"separator {separator!r}"
            )
        if name == "MSH":
            current = [(line, text)]
            messages.append(current)
        elif name in _WRAPPERS:
            current = None
        elif current is None:
            raise Hl7Problem(f"{_where(line, name)}: a {name} segment before any MSH")
        else:
            current.append((line, text))
    if not messages:
        raise Hl7Problem("line 1: no MSH segment; the file holds no HL7 v2 message")
    return messages


# ---------------------------------------------------------------- fields


class _Segment:
    """One parsed segment: fields by HL7 number (MSH-n is MSH field n), unescaped."""

    def __init__(self, line: int, parsed: hl7.Segment) -> None:
        self.line = line
        self.parsed = parsed
        self.name = str(parsed[0])

    def repetitions(self, number: int) -> list[tuple[str, ...]]:
        if number >= len(self.parsed):
            return []
        field = self.parsed[number]
        if self.name in _HEADERS and number <= 2:
            return [(str(field),)]
        found: list[tuple[str, ...]] = []
        for repetition in field:
            parts = [repetition] if isinstance(repetition, str) else list(repetition)
            found.append(tuple(self._text(str(part)) for part in parts))
        return found

    def _text(self, raw: str) -> str:
        return unescape(raw, str(self.parsed.esc), str(self.parsed.separators))

    def components(self, number: int) -> tuple[str, ...]:
        """The first repetition's components, trailing empty ones dropped."""
        repetitions = self.repetitions(number)
        parts = list(repetitions[0]) if repetitions else []
        while parts and not parts[-1]:
            parts.pop()
        return tuple(parts)

    def first(self, number: int) -> str:
        parts = self.components(number)
        return parts[0] if parts else ""

    def coded(self, number: int) -> Coded:
        parts = (*self.components(number), "", "", "", "", "", "")
        return Coded(*parts[:6])

    def where(self) -> str:
        set_id = self.first(1) if self.name not in _HEADERS else ""
        return _where(self.line, self.name, set_id)


# ---------------------------------------------------------------- messages


def read_messages(data: bytes) -> list[Message]:
    """Every ORU^R01 message of the file, all or nothing: the first problem raises
    Hl7Problem naming its line and segment. Segments this reader has no use for (NTE,
    ORC, PV1, TQ1, Z segments...) are skipped."""
    return [_message(group) for group in _messages(_segments(data))]


def _parse(group: list[tuple[int, str]]) -> list[_Segment]:
    line = group[0][0]
    try:
        parsed = hl7.parse("\r".join(text for _, text in group))
    except Exception as bad:  # python-hl7's ParseException, or an IndexError on a bad MSH
        raise Hl7Problem(f"{_where(line, 'MSH')}: not readable as HL7 v2 ({bad})") from None
    if len(parsed) != len(group):
        raise Hl7Problem(f"{_where(line, 'MSH')}: segments lost while reading the message")
    return [_Segment(at, segment) for (at, _), segment in zip(group, parsed, strict=True)]


def _message(group: list[tuple[int, str]]) -> Message:
    segments = _parse(group)
    msh = segments[0]
    message_type = "^".join(msh.components(9)[:2])
    if message_type != "ORU^R01":
        raise Hl7Problem(
            f"{msh.where()}: message type {message_type or '(none)'} is not a lab result (ORU^R01)"
        )
    version = msh.first(12).strip()
    if version not in VERSIONS:
        raise Hl7Problem(
            f"{msh.where()}: HL7 version {version or '(none)'} is not one this reader takes "
            f"({', '.join(VERSIONS)})"
        )
    control_id = msh.first(10)
    if not control_id.strip():
        raise Hl7Problem(f"{msh.where()}: MSH-10 (message control id) is empty")
    facility = (*msh.components(4), "", "", "")
    patients: list[str] = []
    for segment in segments:
        if segment.name == "PID":
            patients += [parts[0] for parts in segment.repetitions(3) if parts and parts[0]]
    return Message(
        line=msh.line,
        control_id=control_id,
        facility=Facility(*facility[:3]),
        application=msh.first(3),
        message_type=message_type,
        version=version,
        sent_at=msh.first(7),
        receiving_application=msh.first(5),
        receiving_facility=msh.first(6),
        orders=_orders(segments[1:]),
        patient_ids=tuple(patients),
    )


def _orders(segments: list[_Segment]) -> tuple[Order, ...]:
    """OBR and what follows it: its OBXs and SPMs (an OBX after an SPM, a specimen's own
    observation in v2.5, stays with the order)."""
    orders: list[tuple[_Segment, list[Observation], list[str]]] = []
    for segment in segments:
        if segment.name == "OBR":
            orders.append((segment, [], []))
        elif segment.name in ("OBX", "SPM") and not orders:
            raise Hl7Problem(
                f"{segment.where()}: {segment.name} before any OBR (it must follow the "
                "order it belongs to)"
            )
        elif segment.name == "OBX":
            orders[-1][1].append(_observation(segment))
        elif segment.name == "SPM" and segment.first(2):
            orders[-1][2].append(segment.first(2))
    return tuple(
        Order(
            line=obr.line,
            placer=obr.first(2),
            filler=obr.first(3),
            obr20=obr.first(20),
            specimen_ids=tuple(specimens),
            code=obr.coded(4),
            collected_at=obr.first(7),
            status=obr.first(25).strip().upper(),
            observations=tuple(observations),
        )
        for obr, observations, specimens in orders
    )


def _observation(obx: _Segment) -> Observation:
    return Observation(
        line=obx.line,
        set_id=obx.first(1),
        value_type=obx.first(2).strip().upper(),
        code=obx.coded(3),
        value=obx.components(5),
        units=obx.coded(6),
        reference=obx.first(7),
        abnormal=obx.first(8),
        status=obx.first(11).strip().upper(),
        observed_at=obx.first(14),
    )


# ---------------------------------------------------------------- acknowledgement


def ack(message: Message, code: str, text: str, control_id: str, at: str) -> bytes:
    """An ACK^R01 for `message` (HL7 v2 original-mode acknowledgement): we send it back,
    so its sender and receiver are the message's swapped; `at` is the caller's clock as
    'YYYYMMDDHHMMSS+0000'."""
    if code not in ACK_CODES:
        raise ValueError(f"acknowledgement code {code!r} is not one of {', '.join(ACK_CODES)}")
    facility = message.facility
    sender = "^".join(
        escape(part) for part in (facility.namespace, facility.universal_id, facility.id_type)
    ).rstrip("^")
    msh = [
        "MSH",
        "^~\\&",
        escape(message.receiving_application),
        escape(message.receiving_facility),
        escape(message.application),
        sender,
        escape(at),
        "",
        "ACK^R01^ACK",
        escape(control_id),
        "P",
        escape(message.version),
    ]
    msa = ["MSA", code, escape(message.control_id), escape(text)]
    return ("|".join(msh) + "\r" + "|".join(msa) + "\r").encode("utf-8")
