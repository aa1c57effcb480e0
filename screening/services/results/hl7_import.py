"""`results import FILE` for a lab's HL7 v2 ORU^R01 file: every message, or none.

Each order (OBR) of each message is matched to one collection by its specimen id (SPM-2,
else OBR-3; a lab's map may name SPM-2, OBR-3 or OBR-20), the site checked after; each
observation (OBX) becomes one analyte's outcome or one validity measure (hl7_map.py).
The observations of an order become one amendment per method and kind of report:

- ``P`` preliminary: a lab report whose version is preliminary; the result reads as
  awaiting the lab until the final report;
- ``F`` final: settles it; when the order is final (OBR-25 F or C), the analytes still
  awaited that no report named are not tested;
- ``C`` corrected: a ``corrected_report`` amendment, never an overwrite;
- ``X`` cannot be obtained: that analyte is inconclusive;
- ``W`` posted in error: a ``lab_withdrawal`` amendment; the analytes it names are
  awaited again and the result is flagged for review.

An order already imported (the lab, the message's control id MSH-10 and the lab's order)
is recognised by its digest and skipped, so a file or a message sent again never
doubles a result.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from screening.core import validate
from screening.core.hl7v2 import Hl7Problem, read_messages
from screening.core.interpret import AnalyteOutcome
from screening.db.models import Result, ResultVersion, flushed_id
from screening.errors import BadInput, RowErrors
from screening.services.plumbing.context import Context
from screening.services.records.upkeep import writing
from screening.services.results.amendments import Unchanged, apply_amendment
from screening.services.results.findings import Findings, not_named, panel_of
from screening.services.results.hl7_acks import write_acks
from screening.services.results.hl7_checks import collection_problem, reading_problem
from screening.services.results.hl7_map import Reading
from screening.services.results.hl7_plan import Planned, located, plan_message
from screening.services.results.hl7_said import answer, described
from screening.services.results.lab_files_shared import (
    DryRun,
    other_sites,
    refused,
    results_by_specimen,
)
from screening.services.results.versions import (
    CHUNK,
    analytes_of,
    current_versions,
    store_versions,
)

REASONS = {
    "report": ("lab_report", None),
    "corrected": ("corrected_report", "corrected report"),
    "withdrawn": ("lab_withdrawal", "posted in error: review this result"),
}


def import_hl7(
    ctx: Context, path: Path, data: bytes, dry_run: bool, ack_dir: Path | None
) -> dict[str, Any]:
    try:
        messages = read_messages(data)
    except Hl7Problem as problem:
        raise BadInput(f"{path}: {problem}") from None
    problems: list[tuple[int, str]] = []
    planned = [p for m in messages for p in plan_message(ctx, m, problems)]
    try:
        done = _record(ctx, path, planned, problems, dry_run)
    except DryRun as dry:
        return answer(dry.args[0], len(messages), dry_run=True)
    except RowErrors as refusal:
        if ack_dir is not None and not dry_run:
            write_acks(ctx, path, messages, ack_dir, refusal.problems)
        raise
    if ack_dir is not None:
        theirs = {p.message.line for p in planned if p.specimen in done["elsewhere"]}
        ours = {p.message.line for p in planned if p.specimen not in done["elsewhere"]}
        # A message only for another site's specimens is that site's to answer.
        mine = [m for m in messages if m.line not in theirs - ours]
        write_acks(ctx, path, mine, ack_dir, None)
    return answer(done, len(messages), dry_run=False)


def _imported(session: Any, keys: list[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), CHUNK):
        found.update(
            key
            for key in session.exec(
                select(ResultVersion.lab_message).where(
                    col(ResultVersion.lab_message).in_(ordered[start : start + CHUNK])
                )
            )
            if key is not None
        )
    return found


def _record(
    ctx: Context,
    path: Path,
    planned: list[Planned],
    problems: list[tuple[int, str]],
    dry_run: bool,
) -> dict[str, Any]:
    with writing(ctx) as (session, writer):
        results, _kept = results_by_specimen(session, ctx, {p.specimen for p in planned})
        # On a network of sites, an order for another site's specimen is that site's to
        # import (its own `results import` of the same file): left to it, not refused.
        elsewhere = other_sites(session, ctx, {p.specimen for p in planned} - set(results))
        imported = _imported(session, [p.key for p in planned])
        now = current_versions(session, list(results.values()))
        later: list[Any] = []
        recorded: list[dict[str, Any]] = []
        skipped = unchanged = left = 0
        for plan in planned:  # one label, however the lab spelled it
            matched = results.get(plan.specimen)
            if matched is not None and matched.specimen_id:
                plan.specimen = matched.specimen_id
        named, settles = _settling(planned, imported)
        corrections: dict[int, dict[str, Any]] = {}
        for plan in planned:
            if plan.key in imported:
                skipped += 1
                continue
            imported.add(plan.key)  # the same message twice in one file counts once
            result = results.get(plan.specimen)
            where = located(plan.order.line, "OBR")
            if result is None and plan.specimen in elsewhere:
                left += 1
                continue
            if result is None:
                if plan.specimen:
                    problems.append(
                        (
                            plan.order.line,
                            f"{where}: specimen id {plan.specimen!r} ({plan.field_name}) "
                            "matches no collection recorded at this site; record the "
                            "collection first, or check the specimen id the lab's map names",
                        )
                    )
                continue
            problems.extend(_order_problems(ctx, plan, result))
            if problems:
                continue  # nothing will be written; go on finding every problem
            for group, readings in _groups(plan).items():
                try:
                    sweep = named[plan.specimen] if plan.specimen in settles else None
                    if sweep is not None and group == ("screen", "report"):
                        settles.discard(plan.specimen)  # once per specimen
                    else:
                        sweep = None
                    version, analytes = _amend(
                        ctx,
                        session,
                        writer,
                        plan,
                        result,
                        group,
                        readings,
                        now,
                        later,
                        sweep,
                        corrections,
                    )
                except Unchanged:
                    unchanged += 1
                    continue
                except BadInput as error:
                    problems.append((plan.order.line, f"{where}: {error.message}"))
                    continue
                recorded.append(
                    described(
                        ctx,
                        plan.specimen,
                        plan.message.control_id,
                        result,
                        version,
                        analytes,
                        readings,
                    )
                )
        if problems:
            raise refused(path, problems)
        store_versions(session, later)
        done = {
            "recorded": recorded,
            "skipped": skipped,
            "unchanged": unchanged,
            "left": left,
            "elsewhere": elsewhere,
        }
        if dry_run:
            raise DryRun(done)
    return done


def _settling(planned: list[Planned], imported: set[str]) -> tuple[dict[str, set[str]], set[str]]:
    """What the file names of each specimen, and the specimens a final screen order of the
    file settles: once every order is in, what no order named and is still awaited was
    not tested (as with the CSV's report_status final). A confirmation settles nothing:
    the screen may still be on its way."""
    named: dict[str, set[str]] = defaultdict(set)
    settles: set[str] = set()
    seen = set(imported)
    for plan in planned:
        if plan.key in seen:
            continue
        seen.add(plan.key)
        screens = [r for r in plan.readings if r.assay and r.method != "confirmation"]
        named[plan.specimen].update(r.assay for r in plan.readings if r.assay)
        if (
            plan.order.status in ("F", "C")
            and screens
            and not any(r.status == "preliminary" for r in screens)
        ):
            settles.add(plan.specimen)
    return named, settles


def _order_problems(ctx: Context, plan: Planned, result: Result) -> list[tuple[int, str]]:
    panel = panel_of(ctx, result.panel)
    found: list[tuple[int, str]] = []
    moved = collection_problem(ctx, plan.message, plan.order, result, plan.specimen)
    if moved:
        found.append((plan.order.line, f"{located(plan.order.line, 'OBR')}: {moved}"))
    for reading in plan.readings:
        where = located(reading.line, f"OBX {reading.set_id}".rstrip())
        if reading.assay is not None and reading.assay not in panel.analytes:
            found.append(
                (
                    reading.line,
                    f"{where}: {reading.assay} is not in the {result.panel} panel this "
                    f"specimen was recorded with ({', '.join(panel.analytes)})",
                )
            )
            continue
        missing = reading_problem(panel, result.panel, reading, result.specimen_type)
        if missing:
            found.append((reading.line, f"{where}: {missing}"))
    return found


def _groups(plan: Planned) -> dict[tuple[str, str], list[Reading]]:
    """One amendment per method and kind of report, in the order the lab sent them."""
    groups: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    method = next((r.method for r in plan.readings if r.method), "screen")
    for reading in plan.readings:
        kind = {"corrected": "corrected", "withdrawn": "withdrawn"}.get(reading.status, "report")
        groups[(reading.method or method, kind)].append(reading)
    return groups


def _amend(
    ctx: Context,
    session: Any,
    writer: Any,
    plan: Planned,
    result: Result,
    group: tuple[str, str],
    readings: list[Reading],
    now: dict[int, Any],
    later: list[Any],
    sweep: set[str] | None,
    known: dict[int, dict[str, Any]],
) -> tuple[ResultVersion, list[AnalyteOutcome]]:
    method, kind = group
    findings = Findings(confirmed=method == "confirmation")
    for reading in readings:
        if reading.measure is not None:
            value = None if reading.value is None else str(reading.value)
            setattr(findings, reading.measure, value)
            continue
        assert reading.assay is not None
        if reading.outcome is not None:
            target = "awaiting" if reading.outcome == "pending" else reading.outcome
            getattr(findings, target).append(reading.assay)
        if reading.level is not None:
            findings.levels[reading.assay] = str(reading.level)
        if reading.cutoff is not None:
            findings.cutoffs[reading.assay] = str(reading.cutoff)
    reason, note = REASONS[kind]
    if kind == "report" and method == "confirmation":
        reason = "lab_confirmation"
    status = kind
    if kind == "report":
        preliminary = any(r.status == "preliminary" for r in readings)
        status = "preliminary" if preliminary else "final"
        if sweep is not None and not preliminary:
            findings.not_tested += not_named(now[flushed_id(result)][1], sweep)
    report = plan.order.filler if validate.CODE_PATTERN.match(plan.order.filler) else None
    version, analytes = apply_amendment(
        session,
        writer,
        ctx,
        result,
        reason,
        findings,
        note,
        report,
        now=now[flushed_id(result)],
        later=later,
        lab=(status, plan.key),
    )
    named = {r.assay for r in readings if r.assay}
    corrected = _corrected(session, result, known)
    if kind == "report":
        _after_correction(corrected, analytes, named, plan.specimen)
    elif kind == "corrected":
        corrected.update({a.code: a for a in analytes if a.code in named})
    now[flushed_id(result)] = (version, analytes)
    return version, analytes


def _corrected(session: Any, result: Result, known: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """What the lab's corrections of this result changed, by analyte (the analyte as the
    latest correction of it left it): read once a result, then kept as the file goes on."""
    result_id = flushed_id(result)
    if result_id not in known:
        versions = session.exec(
            select(ResultVersion)
            .where(ResultVersion.result_id == result_id)
            .order_by(col(ResultVersion.seq))
        ).all()
        found: dict[str, Any] = {}
        for n, version in enumerate(versions):  # every correction, the latest last
            if n and version.lab_status == "corrected":
                before = {a.code: a for a in analytes_of(session, versions[n - 1])}
                found.update(
                    {a.code: a for a in analytes_of(session, version) if before.get(a.code) != a}
                )
        known[result_id] = found
    return known[result_id]


def _after_correction(
    corrected: dict[str, Any], after: list[AnalyteOutcome], named: set[str], specimen: str
) -> None:
    """A plain report after the lab's correction must not undo it: a report sent late, or
    again, is older news. One that changes what the correction said of an analyte, by
    the same method, is refused; other analytes, and a confirmation, go through."""
    changed = sorted(
        a.code
        for a in after
        if a.code in named
        and a.code in corrected
        and a.stage == corrected[a.code].stage
        and (a.outcome, a.level) != (corrected[a.code].outcome, corrected[a.code].level)
    )
    if changed:
        raise BadInput(
            f"this report would undo the lab's corrected report of specimen {specimen} "
            f"({', '.join(changed)}); after a correction the lab sends corrections (status "
            "C): ask the lab which report stands"
        )
