"""What one HL7 v2 OBX says (an ``Observation``, as ``screening.core.hl7v2`` reads it):
its value (coded, numeric, structured numeric or text), the cutoff the lab wrote in
OBX-7, and whether its unit is the one an assay is read in; and HL7's escape sequences,
both ways.

Units are compared, never converted: a result in ug/L for an assay read in ng/mL is the
lab's to restate, not ours to multiply. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal


class Hl7Problem(ValueError):
    """A file that is not readable HL7 v2: str(e) is one line naming line and segment, e.g.
    'line 3, segment OBX 2: OBX-2 value type "XX" is not one of CWE, CE, NM, SN, ST, TX'"""


@dataclass(frozen=True)
class Coded:  # CE/CWE: id^text^system^alt_id^alt_text^alt_system
    id: str
    text: str
    system: str
    alt_id: str = ""
    alt_text: str = ""
    alt_system: str = ""

    def show(self) -> str:
        """As the lab sent it, e.g. '18282-4^Cannabinoids [Presence] in Urine...^LN'."""
        parts = (self.id, self.text, self.system, self.alt_id, self.alt_text, self.alt_system)
        return "^".join(parts).rstrip("^")


@dataclass(frozen=True)
class Observation:  # one OBX
    line: int
    set_id: str  # OBX-1
    value_type: str  # OBX-2 (upper)
    code: Coded  # OBX-3
    value: tuple[str, ...]  # OBX-5 components of the first repetition, unescaped
    units: Coded  # OBX-6
    reference: str  # OBX-7 raw text
    abnormal: str  # OBX-8
    status: str  # OBX-11 (upper)
    observed_at: str  # OBX-14 raw TS


@dataclass(frozen=True)
class Value:
    kind: str  # 'coded' | 'number' | 'text' | 'empty'
    outcome: str | None  # 'positive' | 'negative' | None
    number: Decimal | None  # for 'number'
    comparator: str  # '' | '<' | '>' | '<=' | '>=' (SN); '' for plain NM
    text: str  # the value as the lab wrote it, for messages


VALUE_TYPES = ("CWE", "CE", "NM", "SN", "ST", "TX")

# LOINC answer list LL2021-6 and kin (LA codes), and SNOMED CT qualifier values, as labs
# send them for a drug screen's qualitative result.
ANSWER_CODES = {
    "LA6576-8": "positive",
    "LA6577-6": "negative",
    "LA11882-0": "positive",  # Detected
    "LA11883-8": "negative",  # Not detected
    "10828004": "positive",  # SNOMED CT: Positive
    "260385009": "negative",  # SNOMED CT: Negative
    "260373001": "positive",  # SNOMED CT: Detected
    "260415000": "negative",  # SNOMED CT: Not detected
}

ANSWER_WORDS = {
    "positive": "positive",
    "detected": "positive",
    "presumptive positive": "positive",
    "negative": "negative",
    "not detected": "negative",
    "none detected": "negative",
}

# HL7 v2 NM: an optional sign, digits and an optional decimal point (no exponent, no NaN).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SN_COMPARATORS = {"": "", "=": "", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
# OBX-7 read as a cutoff: one number, perhaps after 'cutoff' or '<', perhaps with a unit.
_CUTOFF = re.compile(
    r"(?:cut-?off\s*[:=]?\s*)?(?:<\s*)?(\d+(?:\.\d+)?|\.\d+)(?:\s*[a-zµ%][\w%µ/.*{}\[\]]*)?",
    re.IGNORECASE,
)


def _where(observation: Observation) -> str:
    name = f"OBX {observation.set_id}" if observation.set_id else "OBX"
    return f"line {observation.line}, segment {name}"


def _written(parts: tuple[str, ...]) -> str:
    return "^".join(parts)


def outcome_of_words(text: str) -> str | None:
    """'Positive', 'NOT DETECTED', 'none detected.' -> positive/negative; else None."""
    words = " ".join(text.lower().split()).rstrip(".")
    return ANSWER_WORDS.get(words)


def read_value(observation: Observation) -> Value:
    """OBX-5 read by its OBX-2 value type; an empty OBX-5 is 'empty' whatever the type
    (HL7 lets OBX-2 go blank when no value is sent, as with a pending result)."""
    parts = observation.value
    text = _written(parts)
    if not any(parts):
        return Value("empty", None, None, "", "")
    kind = observation.value_type
    if kind in ("CWE", "CE"):
        return Value("coded", _coded_outcome(parts), None, "", text)
    if kind == "NM":
        return Value("number", None, _number(observation, parts[0].strip()), "", text)
    if kind == "SN":
        comparator, number = _structured(observation, parts)
        return Value("number", None, number, comparator, text)
    if kind in ("ST", "TX"):
        return Value("text", outcome_of_words(text), None, "", text)
    raise Hl7Problem(
        f'{_where(observation)}: OBX-2 value type "{kind}" is not one of ' + ", ".join(VALUE_TYPES)
    )


def _coded_outcome(parts: tuple[str, ...]) -> str | None:
    padded = (*parts, "", "", "", "", "", "")
    for code in (padded[0], padded[3]):
        if code.strip() in ANSWER_CODES:
            return ANSWER_CODES[code.strip()]
    for words in (padded[1], padded[4]):
        outcome = outcome_of_words(words)
        if outcome is not None:
            return outcome
    return None


def _number(observation: Observation, text: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise Hl7Problem(
            f'{_where(observation)}: OBX-5 value "{text}" is not a number '
            f"(value type {observation.value_type})"
        )
    return Decimal(text)


def _structured(observation: Observation, parts: tuple[str, ...]) -> tuple[str, Decimal]:
    """SN: comparator ^ number ^ separator/suffix ^ number; only a single value is read."""
    padded = (*parts, "", "", "", "")
    comparator, first, separator, second = (p.strip() for p in padded[:4])
    written = _written(parts)
    if separator or second:
        raise Hl7Problem(
            f'{_where(observation)}: OBX-5 value "{written}" is a range or ratio, '
            "not a single value (value type SN)"
        )
    if comparator not in _SN_COMPARATORS:
        raise Hl7Problem(
            f'{_where(observation)}: OBX-5 comparator "{comparator}" is not one of '
            "<, >, <=, >=, = (value type SN)"
        )
    if not first:
        raise Hl7Problem(
            f'{_where(observation)}: OBX-5 value "{written}" has no number (value type SN)'
        )
    return _SN_COMPARATORS[comparator], _number(observation, first)


def cutoff_of(observation: Observation) -> Decimal | None:
    """OBX-7 as the lab's cutoff: '50', '<50', '< 50', 'cutoff 50', 'Cutoff: 50 ng/mL',
    '<50 ng/mL' -> 50. A range ('0-49', '4.3 to 6.2', '70_105') or anything else -> None."""
    found = _CUTOFF.fullmatch(observation.reference.strip())
    return Decimal(found.group(1)) if found else None


def same_unit(given: str, expected: str) -> bool:
    """UCUM codes compared without conversion, ignoring case and spaces ('ng/ml' is
    'ng/mL'); no unit given is never the expected one."""
    given_code = "".join(given.split()).casefold()
    expected_code = "".join(expected.split()).casefold()
    return bool(given_code) and given_code == expected_code


def unescape(text: str, esc: str, separators: str) -> str:
    """HL7 escapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ and \\.br\\ decoded; any other
    sequence kept as written. Ours, not python-hl7's: that one logs what it cannot decode,
    field text and all, and a field can hold patient data."""
    if not esc or esc not in text:
        return text
    # python-hl7 keeps them as segment, field, repetition, component, subcomponent
    plain = {
        "F": separators[1],
        "R": separators[2],
        "S": separators[3],
        "T": separators[4],
        "E": esc,
        ".br": "\r",
    }
    out: list[str] = []
    rest = text
    while esc in rest:
        before, _, after = rest.partition(esc)
        sequence, closed, tail = after.partition(esc)
        out.append(before)
        if not closed:
            out.append(esc + after)
            rest = ""
            break
        if sequence in plain:
            out.append(plain[sequence])
        elif re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", sequence):
            out.append(bytes.fromhex(sequence[1:]).decode("utf-8", "replace"))
        else:
            out.append(esc + sequence + esc)
        rest = tail
    out.append(rest)
    return "".join(out)


def escape(text: str) -> str:
    """A value made safe for the ACK's standard separators |^~\\& (and no line break)."""
    for plain, escaped in (
        ("\\", "\\E\\"),
        ("|", "\\F\\"),
        ("^", "\\S\\"),
        ("~", "\\R\\"),
        ("&", "\\T\\"),
        ("\r\n", "\\.br\\"),
        ("\r", "\\.br\\"),
        ("\n", "\\.br\\"),
    ):
        text = text.replace(plain, escaped)
    return text


# HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.\d{1,4})?(?P<z>[+-]\d{4})?$"
)


def moment(text: str, zone: tzinfo) -> datetime | date:
    """An HL7 time stamp: a datetime (in its offset, else the clinic's zone) when it has
    the hour, else the date. Raises ValueError when it is not one."""
    found = _TS.match(text.strip())
    if found is None or found["d"] is None:
        raise ValueError(f"{text!r} is not an HL7 date and time (YYYYMMDDHHMM[SS][+ZZZZ])")
    try:
        day = date(int(found["y"]), int(found["mo"]), int(found["d"]))
        if found["h"] is None:
            return day
        time(int(found["h"]), int(found["mi"] or 0), int(found["s"] or 0))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time that exists") from None
    offset = found["z"]
    tz = zone
    if offset is not None:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return datetime(
        day.year,
        day.month,
        day.day,
        int(found["h"]),
        int(found["mi"] or 0),
        int(found["s"] or 0),
        tzinfo=tz,
    )
