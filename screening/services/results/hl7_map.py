"""What a lab's HL7 observation means to us: which assay by which method (or which
validity measure), what it found, and under which report status.

A code is read by the lab's map (``[labs.NAME.codes]``) first, then by the default map:
the vocabulary's LOINC codes (a urine screen of each assay), the LOINC codes of the
validity measures, and a LOINC long name of the form "<substance> [<property>] in
<system> by Screen method" or "... by Confirmatory method", whose substance the
vocabulary knows by name. Nothing here reads or writes the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from screening.config import LabMap
from screening.core.hl7v2 import Hl7Problem, Observation, cutoff_of, read_value, same_unit

# OBX-11 / OBR-25 result status (HL7 table 0085) -> what a report with it does here.
STATUS = {
    "P": "preliminary",
    "R": "preliminary",  # entered, not verified
    "S": "preliminary",  # partial
    "F": "final",
    "U": "final",  # changed to final without retransmitting the value
    "C": "corrected",
    "X": "cannot_obtain",
    "N": "not_asked",
    "W": "withdrawn",  # posted against the wrong specimen or in error
    "D": "withdrawn",  # deletes the observation
    "I": "in_process",  # specimen in the lab, no result yet
    "O": "in_process",  # order detail only
}
LEVEL_LIMIT = Decimal(10) ** 9  # a level at or over this is a typing or interface error
# LOINC codes of the validity measures a toxicology lab reports beside the drugs.
MEASURE_LOINC = {
    "2161-8": "creatinine",  # Creatinine [Mass/volume] in Urine
    "2965-2": "specific_gravity",  # Specific gravity of Urine
    "5811-5": "specific_gravity",  # Specific gravity of Urine by Test strip
    "2756-5": "ph",  # pH of Urine
    "5803-2": "ph",  # pH of Urine by Test strip
}
MEASURE_UNITS = {"creatinine": ("mg/dL",), "specific_gravity": ("", "1"), "ph": ("", "[pH]", "pH")}
LONG_NAME = re.compile(
    r"^(?P<substance>.+?)\s*\[[^\]]*\]\s+in\s+(?P<system>.+?)\s+by\s+"
    r"(?P<method>screen|confirmatory)(?:\s+method)?\b",
    re.IGNORECASE,
)
# A LOINC system (what the specimen is) as a result's specimen type.
SYSTEMS = {
    "urine": "urine",
    "serum or plasma": "blood",
    "serum": "blood",
    "plasma": "blood",
    "blood": "blood",
    "oral fluid": "oral_fluid",
    "saliva": "oral_fluid",
    "hair": "hair",
    "sweat": "sweat",
    "exhaled gas": "breath",
    "breath": "breath",
}


@dataclass(frozen=True)
class Meaning:
    assay: str | None = None
    method: str | None = None  # screen | confirmation
    measure: str | None = None
    ignore: bool = False
    system: str | None = None  # the specimen type a LOINC code is for (None: any)


@dataclass
class Reading:
    """One observation as we record it: an assay's outcome (with its level and cutoff),
    or a validity measure's value."""

    line: int
    set_id: str
    status: str  # a value of STATUS
    assay: str | None = None
    method: str | None = None
    outcome: str | None = None  # positive | negative | inconclusive | not_tested | pending
    level: Decimal | None = None
    cutoff: Decimal | None = None
    measure: str | None = None
    value: Decimal | None = None
    system: str | None = None
    bound: tuple[str, Decimal] | None = None  # SN "<^5": read against a cutoff
    unit: str = ""
    said: str = ""  # the value as the lab wrote it, for the dry run
    problems: list[str] = field(default_factory=list)


def meaning_of(observation: Observation, lab: LabMap | None, vocabulary: Any) -> Meaning | None:
    code = observation.code
    if lab is not None:
        for key in (code.id, code.alt_id):
            if key and key in lab.codes:
                mapped = lab.codes[key]
                return Meaning(mapped.assay, mapped.method, mapped.measure, mapped.ignore)
    for key, system, text in (
        (code.id, code.system, code.text),
        (code.alt_id, code.alt_system, code.alt_text),
    ):
        if not key or system.upper() not in ("LN", "LOINC", ""):
            continue
        if key in MEASURE_LOINC:
            return Meaning(measure=MEASURE_LOINC[key])
        assay = _screened_by(vocabulary, key)
        if assay is not None:
            return Meaning(assay, "screen", system="urine")  # the vocabulary's: urine screens
        named = LONG_NAME.match(text.strip()) if system.upper() in ("LN", "LOINC") else None
        if named is not None:
            assay = vocabulary.assay(named["substance"])
            if assay is not None:
                method = "screen" if named["method"].lower() == "screen" else "confirmation"
                specimen = SYSTEMS.get(" ".join(named["system"].split()).casefold(), "other")
                return Meaning(assay, method, system=specimen)
    return None


def _screened_by(vocabulary: Any, loinc: str) -> str | None:
    for code in vocabulary.assays:
        if vocabulary.loinc(code) == loinc:
            return str(code)
    return None


def read(
    observation: Observation, order_status: str, meaning: Meaning, vocabulary: Any, where: str
) -> Reading:
    """The observation as we record it, with what is wrong with it (``problems``)."""
    letter = observation.status or order_status
    status = STATUS.get(letter)
    found = Reading(observation.line, observation.set_id, status or "", meaning.assay)
    found.method, found.measure, found.system = meaning.method, meaning.measure, meaning.system
    if not letter:
        found.problems.append(
            f"{where}: no result status (OBX-11, nor the order's OBR-25); the record never "
            "takes a report as final unless the lab says so"
        )
        return found
    if status is None:
        found.problems.append(
            f"{where}: result status {letter!r} (OBX-11) is not an HL7 result status "
            "(P, F, C, X, W, ...)"
        )
        return found
    if status in ("in_process", "not_asked", "cannot_obtain", "withdrawn"):
        found.outcome = {
            "in_process": None,
            "not_asked": "not_tested",
            "cannot_obtain": "inconclusive",
            "withdrawn": "pending",
        }[status]
        found.said = {"cannot_obtain": "cannot be obtained", "withdrawn": "withdrawn"}.get(
            status, ""
        )
        return found
    try:
        value = read_value(observation)
    except Hl7Problem as problem:
        found.problems.append(str(problem))
        return found
    found.said = value.text
    if value.kind == "empty" and letter == "U":
        return found  # made final without the value again: the value stands
    if value.kind == "empty":
        found.problems.append(
            f"{where}: no value (OBX-5) in a {status} report; the lab sends status X "
            "when a result cannot be obtained"
        )
        return found
    if meaning.measure is not None:
        _measure(found, observation, value, where)
        return found
    found.cutoff = cutoff_of(observation)  # the lab's, when OBX-7 gives one
    if value.kind in ("coded", "text"):
        if value.outcome is None:
            found.problems.append(
                f"{where}: value {value.text!r} says neither positive nor negative; "
                "send a coded answer (LA6576-8 positive, LA6577-6 negative) or a level"
            )
        found.outcome = value.outcome
        return found
    assert value.number is not None  # a number, plain or with a comparator
    if value.number < 0 or value.number >= LEVEL_LIMIT:
        found.problems.append(
            f"{where}: {value.text!r} is not a level (0 or more, under {LEVEL_LIMIT:,}); "
            "ask the lab for its report"
        )
        return found
    unit = found.unit = vocabulary.unit(meaning.assay)
    if not same_unit(observation.units.id, unit):
        given = observation.units.id or "none"
        found.problems.append(
            f"{where}: units {given!r} (OBX-6), but {meaning.assay} levels are read in {unit}; "
            "units are never converted: ask the lab for a report in "
            f"{unit}, or map the code"
        )
        return found
    if value.comparator in ("", "="):
        found.level = value.number
        return found
    found.said = f"{value.comparator}{value.number}"
    found.bound = (value.comparator, value.number)
    if found.cutoff is not None:  # else the panel's cutoff reads it (hl7_checks)
        unsettled = settle_bound(found, found.cutoff)
        if unsettled:
            found.problems.append(f"{where}: {unsettled}")
    return found


def settle_bound(found: Reading, cutoff: Decimal) -> str | None:
    """A bound's outcome against ``cutoff``: under it negative, at or over it positive;
    or what is wrong when the bound does not say which side of the cutoff the level is."""
    assert found.bound is not None
    comparator, number = found.bound
    if (comparator == "<" and number <= cutoff) or (comparator == "<=" and number < cutoff):
        found.outcome = "negative"
    elif comparator in (">", ">=") and number >= cutoff:
        found.outcome = "positive"
    else:
        return (
            f"{found.said} {found.unit} does not say whether the level is at or above the "
            f"cutoff {cutoff}; ask the lab for the level"
        )
    return None


def _measure(found: Reading, observation: Observation, value: Any, where: str) -> None:
    assert found.measure is not None
    units = MEASURE_UNITS[found.measure]
    if value.kind == "number" and not 0 <= value.number < LEVEL_LIMIT:
        found.problems.append(f"{where}: {value.text!r} is not a {found.measure} of 0 or more")
    elif value.kind != "number" or value.comparator not in ("", "="):
        found.problems.append(
            f"{where}: {found.measure} needs a number; the lab sent {value.text!r}"
        )
    elif not any(same_unit(observation.units.id, u) or observation.units.id == u for u in units):
        found.problems.append(
            f"{where}: units {observation.units.id!r} for {found.measure.replace('_', ' ')}; "
            f"it is read in {units[0] or 'no unit'} and never converted"
        )
    else:
        found.value = value.number
