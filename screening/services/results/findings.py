"""What staff or a lab say a specimen shows, and how it becomes the panel's analytes.

`Findings` is what a command or a lab's file gives; `analytes_given` turns it into each
analyte's outcome, stage, level and cutoff (an outcome follows its level unless an
override reason says why not), and `validity_given` the specimen's validity from its
measures. Nothing here reads or writes the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from screening.core import validate
from screening.core.interpret import (
    VALIDITIES,
    AnalyteOutcome,
    Measures,
    contradicts_level,
    judge_validity,
    outcome_of_level,
)
from screening.errors import BadInput
from screening.services.plumbing.context import Context


@dataclass
class Findings:
    """What staff or a lab say a specimen shows; every field optional on the command line."""

    positive: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    not_tested: list[str] = field(default_factory=list)
    # Awaiting the lab again: what a lab withdrew (posted in error) is no longer known.
    awaiting: list[str] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)
    confirmed: bool = False
    creatinine: str | None = None
    specific_gravity: str | None = None
    ph: str | None = None
    oxidant: bool | None = None
    validity: str | None = None
    # Why an outcome stands against its own level and cutoff (recorded, in the digest).
    override_reason: str | None = None

    def measures(self) -> Measures:
        return Measures(
            _measure(self.creatinine, "--creatinine"),
            _measure(self.specific_gravity, "--sg"),
            _measure(self.ph, "--ph"),
            self.oxidant,
        )

    def touches_measures(self) -> bool:
        return not self.measures().empty or self.validity is not None


def _measure(text: str | None, what: str) -> Decimal | None:
    return None if text is None else _number(text, what)


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadInput(f"{what} {text!r} must be a number of 0 or more")
    return value


def validity_given(
    findings: Findings, ctx: Context, fallback: tuple[str, Measures]
) -> tuple[str, Measures]:

    measures = findings.measures()
    if findings.validity is not None and findings.validity not in VALIDITIES:
        raise BadInput(f"--validity {findings.validity!r} is not one of {', '.join(VALIDITIES)}")
    if measures.empty:
        if findings.validity is None:
            return fallback
        if not fallback[1].empty and findings.validity != fallback[0]:
            # Measured validity is changed only by corrected measures, never by a flag.
            raise BadInput(
                f"the specimen's measures say it is {fallback[0]}; to change that, give the "
                "corrected measures (--creatinine, --sg, --ph, --oxidant)"
            )
        return findings.validity, fallback[1]
    judged = judge_validity(measures, ctx.settings.validity)
    if findings.validity is not None and findings.validity != judged:
        raise BadInput(
            f"--validity {findings.validity} contradicts the measures, which say "
            f"{judged} ({ctx.settings.validity.version}); give one or the other"
        )
    return judged, measures


@dataclass
class Analytes:
    """A version's analytes after ``findings``, and which took the default outcome."""

    by_code: dict[str, AnalyteOutcome]
    defaulted: list[str]
    contradicted: list[str]  # stated against their own level and cutoff (overridden)


def analytes_given(
    findings: Findings,
    ctx: Context,
    panel_name: str,
    current: dict[str, AnalyteOutcome] | None,
    default_outcome: str,
) -> Analytes:
    """The panel's analytes after ``findings``. On a new result every analyte is set (the
    ones not named take ``default_outcome``); on an amendment only the analytes named,
    or given a level or cutoff, change. An outcome follows its level: at or above the
    cutoff (the given one, else the panel's for the stage) positive, below negative; an
    outcome stated against its level is refused unless an override reason is given."""
    panel = panel_of(ctx, panel_name)
    named = _named_outcomes(ctx, findings, panel_name, panel.analytes)
    levels = _numbers(ctx, findings.levels, "--level", panel_name, panel.analytes)
    cutoffs = _numbers(ctx, findings.cutoffs, "--cutoff", panel_name, panel.analytes)
    stage = "confirmed" if findings.confirmed else "presumptive"
    method = "confirmation" if findings.confirmed else "screen"
    result: dict[str, AnalyteOutcome] = {}
    defaulted: list[str] = []
    contradicted: list[str] = []
    for code, limits in panel.analytes.items():
        before = current.get(code) if current is not None else None
        level, cutoff = levels.get(code), cutoffs.get(code)
        if before is not None and code not in named and level is None and cutoff is None:
            result[code] = before
            continue
        if (
            before is not None
            and code not in named
            and before.outcome not in ("pending", "not_tested")
            and (before.stage == stage or not findings.confirmed)
        ):
            # A level or cutoff corrected: the outcome follows them, the stage stands.
            level = level if level is not None else before.level
            cutoff = cutoff if cutoff is not None else before.cutoff
            followed = before.outcome
            if level is not None and cutoff is not None:
                followed = outcome_of_level(level, cutoff)
            result[code] = AnalyteOutcome(code, followed, before.stage, level, cutoff)
            continue
        if cutoff is None:
            cutoff = limits.confirm if findings.confirmed else limits.initial
        outcome = named.get(code)
        measured = outcome not in ("not_tested", "pending")
        if level is None and before is not None and before.stage == stage and measured:
            level = before.level  # the same method's level stands unless corrected
        if outcome is None and level is not None:
            if cutoff is None:
                raise BadInput(
                    f"--level {code}: the {panel_name} panel has no {method} cutoff for "
                    f"{code}; give --cutoff {code}=NUMBER or its outcome"
                )
            outcome = outcome_of_level(level, cutoff)
        if outcome is None:
            outcome = default_outcome
            defaulted.append(code)
        if outcome in ("not_tested", "pending") and level is not None:
            raise BadInput(
                f"{code} has a level ({level}) but is given as "
                f"{outcome.replace('_', ' ')}; a measured analyte was tested"
            )
        analyte = AnalyteOutcome(
            code, outcome, stage, level, None if outcome == "not_tested" else cutoff
        )
        if contradicts_level(analyte):
            contradicted.append(code)
            if findings.override_reason is None:
                assert level is not None and cutoff is not None  # as contradicts_level found
                reads = outcome_of_level(level, cutoff)
                side = "at or above" if reads == "positive" else "below"
                raise BadInput(
                    f"{code} is given as {outcome}, but its level {level} is {side} the "
                    f"{method} cutoff {cutoff}, so it reads {reads}; correct the level or "
                    "the outcome, or record it as stated with --override-reason TEXT"
                )
        result[code] = analyte
    if findings.override_reason is not None and not contradicted:
        raise BadInput(
            "--override-reason is given but every outcome agrees with its level and "
            "cutoff; leave it out"
        )
    return Analytes(result, defaulted, contradicted)


def not_named(current: list[AnalyteOutcome], named: set[str]) -> list[str]:
    """What a lab's final report leaves not tested: the analytes still awaited that no
    report of the file named (the CSV's and the HL7 import's one rule)."""
    return [a.code for a in current if a.outcome == "pending" and a.code not in named]


def panel_of(ctx: Context, name: str) -> Any:
    panel = ctx.settings.panels.get(name)
    if panel is None:
        raise BadInput(
            f"the result was recorded with panel {name!r}, which is no longer in the config; "
            "put it back under [panels] to change this result"
        )
    return panel


def assay_code(ctx: Context, text: str, panel_name: str, codes: Any, what: str) -> str:
    """The panel's assay code ``text`` names (its code or a name the vocabulary knows for
    it); an unknown name is refused with the closest ones."""
    vocabulary = ctx.settings.vocabulary
    code = vocabulary.assay(text)
    if code is None:
        close = vocabulary.suggest_assay(text, codes)
        raise BadInput(
            f"{what}: unknown analyte {text.strip()!r}"
            + (f"; did you mean {' or '.join(close)}?" if close else "")
            + f" (the {panel_name} panel has {', '.join(codes)})"
        )
    if code not in codes:
        raise BadInput(
            f"{what}: analyte {code} is not in the {panel_name} panel; it has {', '.join(codes)}"
        )
    return code


def _named_outcomes(
    ctx: Context, findings: Findings, panel_name: str, codes: Any
) -> dict[str, str]:
    named: dict[str, str] = {}
    for outcome, given, option in (
        ("positive", findings.positive, "--positive"),
        ("negative", findings.negative, "--negative"),
        ("inconclusive", findings.inconclusive, "--inconclusive"),
        ("not_tested", findings.not_tested, "--not-tested"),
        ("pending", findings.awaiting, "awaiting"),
    ):
        for text in given:
            code = assay_code(ctx, text, panel_name, codes, option)
            if named.get(code, outcome) != outcome:
                raise BadInput(
                    f"analyte {code} is given as both {named[code].replace('_', ' ')} "
                    f"and {outcome.replace('_', ' ')}"
                )
            named[code] = outcome
    return named


def _numbers(
    ctx: Context, values: dict[str, str], what: str, panel_name: str, codes: Any
) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for text, number in values.items():
        code = assay_code(ctx, text, panel_name, codes, what)
        found[code] = _number(number, f"{what} {code}")
    return found


def override_given(findings: Findings) -> str | None:
    try:
        return validate.free_text(findings.override_reason, "--override-reason", False)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
