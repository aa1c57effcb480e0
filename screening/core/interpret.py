"""What a specimen says: validity from its measures, and each analyte read against the
client's prescriptions at collection time, per assay, with the vocabulary
(core.vocabulary). Pure; thresholds and the vocabulary are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from screening.core.measures import is_miss
from screening.core.vocabulary import Vocabulary

VALIDITIES = ("valid", "dilute", "adulterated", "substituted", "invalid")
# The reading of a whole result, worst first: the first that applies is the summary.
SEVERITY = (
    "possible_tampering",
    "unexpected_positive",
    "unexpected_negative",
    "inconclusive",
    "pending",
    "expected_positive",
    "negative",
    "not_tested",
)


@dataclass(frozen=True)
class Measures:
    """Specimen validity measures; any may be missing (e.g. a point-of-care cup)."""

    creatinine: Decimal | None = None  # mg/dL
    specific_gravity: Decimal | None = None
    ph: Decimal | None = None
    oxidant: bool | None = None  # an oxidizing adulterant detected

    def as_body(self) -> dict[str, Any]:
        return {
            "creatinine": _text(self.creatinine),
            "specific_gravity": _text(self.specific_gravity),
            "ph": _text(self.ph),
            "oxidant": self.oxidant,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Measures:
        return cls(
            _number(body.get("creatinine")),
            _number(body.get("specific_gravity")),
            _number(body.get("ph")),
            body.get("oxidant"),
        )

    @property
    def empty(self) -> bool:
        return self == Measures()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def judge_validity(measures: Measures, limits: Any) -> str:
    """49 CFR 40.88 and the HHS Mandatory Guidelines (urine, 3.8), with the configured
    thresholds (``limits``: ValiditySettings).

    Order matters: adulteration and substitution outrank invalid, invalid outranks dilute.
    """
    creatinine, gravity, ph = measures.creatinine, measures.specific_gravity, measures.ph
    if measures.oxidant:
        return "adulterated"
    if ph is not None and (
        ph < limits.adulterated_ph_below or ph >= limits.adulterated_ph_at_least
    ):
        return "adulterated"
    if creatinine is not None and gravity is not None:
        # Both are needed: one alone can neither prove a substitution nor a mismatch.
        low_creatinine = creatinine < limits.substituted_creatinine_below
        extreme_gravity = (
            gravity <= limits.substituted_sg_at_most or gravity >= limits.substituted_sg_at_least
        )
        if low_creatinine and extreme_gravity:
            return "substituted"  # 49 CFR 40.88(b)
        if low_creatinine or gravity <= limits.substituted_sg_at_most:
            # HHS Mandatory Guidelines (urine) 3.8: creatinine and specific gravity that
            # contradict each other make the specimen invalid.
            return "invalid"
    if ph is not None and (ph < limits.invalid_ph_below or ph >= limits.invalid_ph_at_least):
        return "invalid"
    if (
        creatinine is not None
        and gravity is not None
        and creatinine < limits.dilute_creatinine_below
        and limits.substituted_sg_at_most < gravity < limits.dilute_sg_below
    ):
        return "dilute"
    return "valid"


@dataclass(frozen=True)
class AnalyteOutcome:
    code: str
    outcome: str  # negative | positive | inconclusive | pending | not_tested
    stage: str = "presumptive"  # presumptive | confirmed
    level: Decimal | None = None
    cutoff: Decimal | None = None

    def as_body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "outcome": self.outcome,
            "stage": self.stage,
            "level": _text(self.level),
            "cutoff": _text(self.cutoff),
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> AnalyteOutcome:
        return cls(
            body["code"],
            body["outcome"],
            body["stage"],
            _number(body.get("level")),
            _number(body.get("cutoff")),
        )


@dataclass(frozen=True)
class Reading:
    """A result read against the prescriptions: per analyte, the summary, and flags."""

    analytes: dict[str, str]
    summary: str
    confirmed: bool  # every positive is confirmed by a lab
    flags: tuple[str, ...] = field(default=())
    # Per analyte (by code): the outcome, how it reads, the medications that explain it
    # and its unit; put in words only when asked (progress reads thousands of results).
    details: tuple[tuple[AnalyteOutcome, str, tuple[str, ...], str], ...] = field(default=())
    override: str | None = None

    @property
    def positives(self) -> list[str]:
        return sorted(code for code, how in self.analytes.items() if how.endswith("positive"))

    @property
    def words(self) -> tuple[str, ...]:
        """Per analyte, in words: its level, the cutoff it was read against, how it reads."""
        return tuple(
            describe(analyte, how, explained, unit, self.override)
            for analyte, how, explained, unit in self.details
        )

    @property
    def notable(self) -> tuple[str, ...]:
        """For a list: each level or positive in words, the rest grouped by how it reads."""
        groups: dict[str, list[str]] = {}
        found: tuple[str, ...] = ()
        for (analyte, how, _, _), word in zip(self.details, self.words, strict=True):
            if analyte.level is None and how in ("negative", "pending", "not_tested"):
                groups.setdefault(how, []).append(analyte.code)
            else:
                found += (word,)
        for how, label in GROUPS:
            if how in groups:
                found += (f"{label}: {', '.join(groups[how])}",)
        return found

    @property
    def brief(self) -> str:
        """For a table row: what was found (each positive, with its level and cutoff when
        measured), levels that read negative, and what was not tested or is awaited
        (every analyte in words is `results show`)."""

        def level(analyte: AnalyteOutcome, unit: str) -> str:
            if analyte.level is None:
                return analyte.code
            cutoff = f", cutoff {analyte.cutoff}" if analyte.cutoff is not None else ""
            stated = " (override: against its level)" if contradicts_level(analyte) else ""
            return f"{analyte.code} {analyte.level} {unit}{cutoff}{stated}"

        parts = [level(a, unit) for a, how, _, unit in self.details if how.endswith("positive")]
        parts += [
            f"{level(a, unit)}: negative"
            for a, how, _, unit in self.details
            if how == "negative" and a.level is not None
        ]
        for how, label in GROUPS[1:]:
            codes = [a.code for a, read, _, _ in self.details if read == how]
            if codes:
                parts.append(f"{label}: {', '.join(codes)}")
        return "; ".join(parts)


GROUPS = (("negative", "negative"), ("pending", "awaiting the lab"), ("not_tested", "not tested"))


OUTCOMES = ("negative", "positive", "inconclusive", "pending", "not_tested")
READS_TESTED = ("negative", "positive")


def outcome_of_level(level: Decimal, cutoff: Decimal) -> str:
    """A level at or above the cutoff is positive, below it negative (HHS Mandatory
    Guidelines: a specimen is positive when its concentration meets or exceeds the
    cutoff)."""
    return "positive" if level >= cutoff else "negative"


def contradicts_level(analyte: AnalyteOutcome) -> bool:
    """A positive or negative stated against its own level and cutoff."""
    if analyte.level is None or analyte.cutoff is None or analyte.outcome not in READS_TESTED:
        return False
    return outcome_of_level(analyte.level, analyte.cutoff) != analyte.outcome


def describe(
    analyte: AnalyteOutcome,
    how: str,
    explained_by: Iterable[str] = (),
    unit: str = "ng/mL",
    override: str | None = None,
) -> str:
    """One analyte in words, e.g. "COC 900 ng/mL, screen cutoff 150: positive
    (unexpected: no prescription explains it)"."""
    method = "confirmation" if analyte.stage == "confirmed" else "screen"
    text = analyte.code
    if analyte.level is not None:
        text += f" {analyte.level} {unit}"
    if analyte.cutoff is not None:
        text += ("," if analyte.level is not None else "") + f" {method} cutoff {analyte.cutoff}"
        if analyte.level is None:
            text += f" {unit}"
    words = {
        "negative": "negative",
        "expected_positive": "positive (expected: "
        + (", ".join(explained_by) or "prescribed")
        + ")",
        "unexpected_positive": "positive (unexpected: no prescription explains it)",
        "inconclusive": "inconclusive",
        "pending": "awaiting the lab",
        "not_tested": "not tested",
    }
    text += ": " + words.get(how, how.replace("_", " "))
    if analyte.stage == "confirmed" and how in (
        "negative",
        "expected_positive",
        "unexpected_positive",
    ):
        text += ", confirmed"
    if contradicts_level(analyte):
        text += " - stated against its level" + (f" (override: {override})" if override else "")
    return text


def read_result(
    analytes: Iterable[AnalyteOutcome],
    medications: Iterable[str],
    vocabulary: Vocabulary,
    validity: str,
    temperature_ok: bool | None = None,
    void: bool = False,
    override: str | None = None,
    lab_status: str | None = None,
) -> Reading:
    """Read one result, per assay, with the vocabulary (core.vocabulary): a positive is
    expected iff a prescribed medication produces something the assay detects. Stored
    medication names are read through the vocabulary (brands and synonyms become the
    generic name); names it does not know explain nothing and are flagged.

    A lab's preliminary report (``lab_status``) keeps the result open: it reads as
    awaiting the lab, whatever its analytes say, until the final report; one the lab
    withdrew (posted in error) is flagged for review."""
    if void:
        return Reading({}, "void", False, ("void: recorded against the wrong client",))
    outcomes = {a.code: a for a in analytes}
    prescribed, unknown = vocabulary.canonical_list(medications)
    per: dict[str, str] = {}
    explained: dict[str, list[str]] = {}
    for code, analyte in outcomes.items():
        if analyte.outcome == "positive":
            explained[code] = vocabulary.explaining(code, prescribed)
            per[code] = "expected_positive" if explained[code] else "unexpected_positive"
        else:
            per[code] = analyte.outcome
    flags: list[str] = []
    if validity in ("adulterated", "substituted", "invalid"):
        flags.append(f"possible_tampering: specimen {validity}")
    if temperature_ok is False:
        flags.append("possible_tampering: temperature out of range")
    read = {code: a for code, a in outcomes.items() if a.outcome in READS_TESTED}
    for name in prescribed:
        reliable = vocabulary.reliably_tested(name, read)
        # Every assay that sees it must have read (negative): one still awaited or
        # inconclusive may yet find it.
        seen = vocabulary.seen_by(
            name, [c for c, a in outcomes.items() if a.outcome != "not_tested"]
        )
        if reliable and all(outcomes[code].outcome == "negative" for code in seen):
            flags.append(
                f"unexpected_negative: {name} prescribed but not found (possible diversion)"
            )
        parents, metabolites = vocabulary.tamper_check(name, read)
        found = [code for code in parents if read[code].outcome == "positive"]
        if found and metabolites and all(read[c].outcome == "negative" for c in metabolites):
            flags.append(
                f"possible_tampering: {', '.join(found)} positive without its metabolite "
                f"{', '.join(metabolites)} (drug added to the specimen?)"
            )
    for name in unknown:
        guess = vocabulary.resolve_medication(name)
        meant = guess.did_you_mean() if not isinstance(guess, str) else ""
        flags.append(
            f"unknown_medication: {name!r} is not in the vocabulary and explains "
            f"nothing{meant}; correct the client's list with `screening clients update "
            "CODE --meds ...`"
        )
    unexpected = [code for code, how in per.items() if how == "unexpected_positive"]
    if unexpected == ["ETG"]:
        flags.append(
            "incidental_exposure_possible: EtG alone can follow exposure to "
            "alcohol in hand sanitiser, mouthwash or food"
        )
    if validity == "dilute":
        flags.append("dilute")
    kinds = {flag.split(":")[0] for flag in flags} | set(per.values())
    summary = next((kind for kind in SEVERITY if kind in kinds), "negative")
    if lab_status == "preliminary":
        flags.append("preliminary: the lab's report is preliminary; its final report is awaited")
        summary = "pending"
    elif lab_status == "withdrawn":
        flags.append("review: the lab withdrew its report (posted in error); review this result")
    positives = [outcomes[code] for code, how in per.items() if how.endswith("positive")]
    confirmed = bool(positives) and all(a.stage == "confirmed" for a in positives)
    details = tuple(
        (outcomes[code], per[code], tuple(explained.get(code, ())), vocabulary.unit(code))
        for code in sorted(outcomes)
    )
    return Reading(per, summary, confirmed, tuple(flags), details, override)


def needs_observed_recollection(
    validity: str,
    measures: Measures,
    analytes: Iterable[AnalyteOutcome],
    temperature_ok: bool | None,
    limits: Any,
) -> str | None:
    """Why a specimen must be recollected at once under direct observation, or None.

    49 CFR 40.197(b)(1): a dilute negative with creatinine 2–5 mg/dL; 40.65(b): a
    temperature out of range.
    """
    if temperature_ok is False:
        return "temperature out of range"
    if validity == "invalid":
        # 49 CFR 40.159: an invalid result without a medical explanation is recollected
        # under direct observation; a clinic has no medical review officer to wait for.
        return "invalid specimen"
    outcomes = [a.outcome for a in analytes if a.outcome != "not_tested"]
    all_negative = bool(outcomes) and all(outcome == "negative" for outcome in outcomes)
    creatinine = measures.creatinine
    if (
        validity == "dilute"
        and all_negative
        and creatinine is not None
        and creatinine <= limits.recollect_dilute_creatinine_at_most
    ):
        return f"dilute negative with creatinine {creatinine} mg/dL"
    return None


def counts_as(
    status: str, summary: str | None, missed_counts_as: str, validity: str | None = None
) -> str:
    """How a screening reads in lists: its reading, or for a miss (core.measures.is_miss,
    the one definition) the policy's ``missed_counts_as`` ("positive" or "missed"). Only
    an adulterated or substituted specimen counts as a refusal (49 CFR 40.191(b)); an
    invalid one or one out of temperature range is recollected instead, and reads as
    possible tampering. What each adds to the measures is core.measures.tally."""
    if is_miss(status, validity):
        return "positive" if missed_counts_as == "positive" else "missed"
    if status != "collected" or summary is None:
        return status
    return summary
