"""`results import FILE.csv`: a lab's export, matched by specimen id, all rows or none.

One row per analyte: ``specimen_id,collected_at,analyte,outcome,level,cutoff,method,
lab_report_id``, and optionally ``report_status`` (fields separated by commas, semicolons
or tabs; collected_at's date YYYY-MM-DD or in the clinic's date_format). The rows of one
specimen become one amendment of its result: a ``lab_confirmation`` when the method
confirms (chromatography with mass spectrometry), a ``lab_report`` otherwise.

An analyte is named by its code or any name the vocabulary knows for it; an outcome left
empty follows the level (at or above the cutoff positive), and one that contradicts its
level is refused. A report is partial unless ``report_status`` says ``final``: the
analytes it does not name stay awaiting the lab; a final report leaves them not tested,
and the screening counts as resulted.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from screening.core import validate
from screening.core.interpret import outcome_of_level
from screening.core.typed import parse_moment
from screening.db.models import Result, ResultVersion, flushed_id
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.csv_files import Problem, Row, read_rows
from screening.services.records.upkeep import writing
from screening.services.results.amendments import apply_amendment
from screening.services.results.findings import Findings, not_named, panel_of
from screening.services.results.lab_files_shared import (
    SAME_COLLECTION,
    DryRun,
    refused,
    results_by_specimen,
)
from screening.services.results.versions import (
    CHUNK,
    current_versions,
    store_versions,
)

COLUMNS = (
    "specimen_id",
    "collected_at",
    "analyte",
    "outcome",
    "level",
    "cutoff",
    "method",
    "lab_report_id",
)
CONFIRMING = ("lc-ms/ms", "lc-ms", "gc-ms", "gc-ms/ms", "lcms", "gcms")
SCREENING_METHODS = ("immunoassay", "eia", "elisa")
OPTIONAL = ("report_status",)
# HL7 v2 OBR-25 result status: F final, P preliminary (C corrected is final too).
FINAL = ("final", "f", "complete", "c", "corrected")
PARTIAL = ("", "partial", "preliminary", "p")
OUTCOMES = {
    "negative": "negative",
    "positive": "positive",
    "inconclusive": "inconclusive",
    "not_tested": "not_tested",
    "not tested": "not_tested",
    "": "",
}


def _rows(path: Path) -> tuple[list[Row], list[Problem]]:
    rows, problems = read_rows(path, COLUMNS, OPTIONAL)
    if not rows and not problems:
        raise BadInput(f"{path} has a header but no results")
    return [(line, {k: v.strip() for k, v in row.items()}) for line, row in rows], problems


def import_lab(ctx: Context, path: Path, dry_run: bool = False) -> dict[str, Any]:
    rows, problems = _rows(path)
    try:
        return _import(ctx, path, rows, problems, dry_run)
    except DryRun as done:
        return done.args[0]


def _import(
    ctx: Context,
    path: Path,
    rows: list[tuple[int, dict[str, str]]],
    problems: list[tuple[int, str]],
    dry_run: bool,
) -> dict[str, Any]:
    with writing(ctx) as (session, writer):
        # What the file refers to, read once for all its rows (not once per specimen).
        results, _related = results_by_specimen(
            session, ctx, {row["specimen_id"] for _, row in rows}
        )
        # A report id already imported is a duplicate once its result awaits nothing; while
        # analytes still await the lab, the same report comes again as it is completed
        # (labs re-issue a preliminary report as final under the same id).
        current = current_versions(session, list(results.values()))
        awaited = {
            result_id: {a.code for a in analytes if a.outcome == "pending"}
            for result_id, (_, analytes) in current.items()
        }
        completing: set[tuple[int, str]] = set()
        for _, row in rows:
            result = results.get(row["specimen_id"])
            analyte = ctx.settings.vocabulary.assay(row["analyte"]) or row["analyte"].upper()
            if result is not None and analyte in awaited.get(flushed_id(result), set()):
                completing.add((flushed_id(result), row["lab_report_id"]))
        imported = (
            _imported_reports(session, [flushed_id(result) for result in results.values()])
            - completing
        )
        by_specimen: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        by_report: dict[tuple[str, str, bool], list[tuple[int, dict[str, str]]]] = defaultdict(list)
        seen: dict[tuple[str, str], int] = {}
        for line, row in rows:
            matched = results.get(row["specimen_id"])
            if matched is not None and matched.specimen_id:
                row["specimen_id"] = matched.specimen_id  # one label, however it is spelled
            row["analyte"] = ctx.settings.vocabulary.assay(row["analyte"]) or row["analyte"]
            specimen, analyte = row["specimen_id"], row["analyte"].upper()
            if (specimen, analyte) in seen:
                problems.append(
                    (
                        line,
                        f"line {line}, column analyte: {analyte} of specimen "
                        f"{specimen} already appears on line "
                        f"{seen[(specimen, analyte)]}",
                    )
                )
                continue
            seen[(specimen, analyte)] = line
            result = results.get(specimen)
            if result is None:
                problems.append(
                    (
                        line,
                        f"line {line}, column specimen_id: no result has "
                        f"specimen id {specimen!r} (record the collection first)",
                    )
                )
                continue
            problems.extend(_row_problems(ctx, line, row, result, imported))
            by_specimen[specimen].append((line, row))
            # One amendment per lab report and kind of method: a screen and a confirmation
            # of the same specimen stay two versions, each with its own report id.
            confirming = row["method"].lower() in CONFIRMING
            by_report[(specimen, row["lab_report_id"], confirming)].append((line, row))
        if problems:
            raise refused(path, problems)
        now = current  # read once above, for every result the file names
        later: list[Any] = []
        final = {
            specimen
            for specimen, lines in by_specimen.items()
            if any(row["report_status"].lower() in FINAL for _, row in lines)
        }
        for (specimen, _, _), lines in by_report.items():
            first = lines[0][1]
            findings = Findings(confirmed=first["method"].lower() in CONFIRMING)
            result = results[specimen]
            if specimen in final:
                # A final report: what it does not name, and is still awaited, was not
                # tested (once per specimen, by its first group of rows).
                final.discard(specimen)
                named = {row["analyte"].upper() for _, row in by_specimen[specimen]}
                findings.not_tested = not_named(now[flushed_id(result)][1], named)
            for _, row in lines:
                outcome = OUTCOMES[row["outcome"].lower()]
                if outcome:
                    getattr(findings, outcome).append(row["analyte"].upper())
                if row["level"]:
                    findings.levels[row["analyte"].upper()] = row["level"]
                if row["cutoff"]:
                    findings.cutoffs[row["analyte"].upper()] = row["cutoff"]
            reason = "lab_confirmation" if findings.confirmed else "lab_report"
            try:
                now[flushed_id(result)] = apply_amendment(
                    session,
                    writer,
                    ctx,
                    result,
                    reason,
                    findings,
                    None,
                    first["lab_report_id"] or None,
                    now=now[flushed_id(result)],
                    later=later,
                )
            except BadInput as error:
                raise BadInput(f"{path}, line {lines[0][0]}: {error.message}") from None
        store_versions(session, later)
        if dry_run:
            raise DryRun({"rows": len(rows), "results": len(by_specimen)})
    return {"rows": len(rows), "results": len(by_specimen)}


def _imported_reports(session: Any, result_ids: list[int]) -> set[tuple[int, str]]:
    """(result, lab report id) of every lab report already imported for these results."""
    found: set[tuple[int, str]] = set()
    ordered = sorted(result_ids)
    for start in range(0, len(ordered), CHUNK):
        found.update(
            session.exec(
                select(ResultVersion.result_id, ResultVersion.lab_report_id).where(
                    col(ResultVersion.result_id).in_(ordered[start : start + CHUNK]),
                    col(ResultVersion.lab_report_id).is_not(None),
                )
            )
        )
    return found


def _row_problems(
    ctx: Context,
    line: int,
    row: dict[str, str],
    result: Result,
    imported: set[tuple[int, str]],
) -> list[tuple[int, str]]:
    problems = []
    where = f"line {line}, column"
    analyte = row["analyte"].upper()
    codes = panel_of(ctx, result.panel).analytes
    vocabulary = ctx.settings.vocabulary
    if vocabulary.assay(analyte) is None:
        close = vocabulary.suggest_assay(row["analyte"], codes)
        problems.append(
            f"{where} analyte: unknown analyte {row['analyte']!r}"
            + (f"; did you mean {' or '.join(close)}?" if close else "")
            + f" (the {result.panel} panel has {', '.join(codes)})"
        )
    elif analyte not in codes:
        problems.append(f"{where} analyte: {analyte!r} is not in the {result.panel} panel")
    outcome = OUTCOMES.get(row["outcome"].lower())
    if outcome is None:
        problems.append(
            f"{where} outcome: {row['outcome']!r} is not negative, positive, inconclusive "
            "or not_tested"
        )
    elif not outcome and not row["level"]:
        problems.append(f"{where} outcome: empty; give the outcome, or the level it follows")
    elif outcome in ("positive", "negative") and _contradicts(outcome, row):
        problems.append(
            f"{where} outcome: {outcome}, but the level {row['level']} is "
            f"{'below' if outcome == 'positive' else 'at or above'} the cutoff "
            f"{row['cutoff']}; ask the lab for a corrected report"
        )
    status = row["report_status"].lower()
    if status not in FINAL + PARTIAL:
        problems.append(f"{where} report_status: {row['report_status']!r} is not final or partial")
    for column in ("level", "cutoff"):
        if row[column] and not _non_negative(row[column]):
            problems.append(f"{where} {column}: {row[column]!r} is not a number of 0 or more")
    if row["method"].lower() not in CONFIRMING + SCREENING_METHODS:
        problems.append(
            f"{where} method: {row['method']!r} is not a known method "
            f"({', '.join(SCREENING_METHODS + CONFIRMING)})"
        )
    try:
        # When the lab gives the collection time it must agree with the clinic's: a
        # different time is a different specimen behind the same label. Some labs send
        # none; the specimen id alone then matches.
        collected = (
            parse_moment(row["collected_at"], ctx.settings.locale.date_format)
            if row["collected_at"]
            else result.collected_at
        )
        if collected.tzinfo is None:
            collected = collected.replace(tzinfo=ctx.settings.zone)
        if abs(collected - result.collected_at) > SAME_COLLECTION:
            recorded = result.collected_at.astimezone(ctx.settings.zone)
            problems.append(
                f"{where} collected_at: the lab says {row['collected_at']}, the clinic "
                f"recorded {recorded:%Y-%m-%d %H:%M} for specimen {row['specimen_id']}: "
                "a different specimen?"
            )
    except ValueError as error:
        problems.append(f"{where} collected_at: {error}")
    report = row["lab_report_id"]
    if report and not validate.CODE_PATTERN.match(report):
        problems.append(
            f"{where} lab_report_id: {report!r} is not a report id (letters, digits, "
            ". _ / -, up to 64)"
        )
    if report and (result.id, report) in imported:
        problems.append(
            f"{where} lab_report_id: report {report} is already imported for "
            f"specimen {row['specimen_id']}"
        )
    return [(line, text) for text in problems]


def _contradicts(outcome: str, row: dict[str, str]) -> bool:
    level, cutoff = row["level"], row["cutoff"]
    if not (_non_negative(level) and _non_negative(cutoff)):
        return False
    return outcome_of_level(Decimal(level), Decimal(cutoff)) != outcome


def _non_negative(text: str) -> bool:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return False
    return value.is_finite() and value >= 0
