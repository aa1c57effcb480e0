"""What an HL7 import says it did: each report recorded (for `results import` to list;
a dry run lists what it would record), and one summary line that names no client and no
result, safe for the drop folder's log."""

from __future__ import annotations

from typing import Any

from screening.core.interpret import AnalyteOutcome
from screening.db.models import Result, ResultVersion
from screening.services.plumbing.context import Context
from screening.services.results.hl7_map import Reading


def described(
    ctx: Context,
    specimen: str,
    control_id: str,
    result: Result,
    version: ResultVersion,
    analytes: list[AnalyteOutcome],
    readings: list[Reading],
) -> dict[str, Any]:
    named = {r.assay for r in readings if r.assay}
    vocabulary = ctx.settings.vocabulary
    said = []
    for analyte in sorted(analytes, key=lambda a: a.code):
        if analyte.code not in named:
            continue
        level = f" {analyte.level} {vocabulary.unit(analyte.code)}" if analyte.level else ""
        cutoff = f" (cutoff {analyte.cutoff})" if analyte.level and analyte.cutoff else ""
        said.append(f"{analyte.code} {analyte.outcome.replace('_', ' ')}{level}{cutoff}")
    said += [f"{r.measure.replace('_', ' ')} {r.value}" for r in readings if r.measure]
    return {
        "specimen": specimen,
        "result": result.id,
        "message": control_id,
        "report": version.lab_status,
        "reason": version.reason,
        "what": _what(version),
        "says": "; ".join(said),
    }


def _what(version: ResultVersion) -> str:
    """The kind of report in words, e.g. "lab confirmation, final"."""
    reason = version.reason
    words = "withdrawn by the lab" if reason == "lab_withdrawal" else reason.replace("_", " ")
    if version.lab_status in ("preliminary", "final", "cannot_obtain"):
        words += f", {(version.lab_status or '').replace('_', ' ')}"
    return words


def answer(done: dict[str, Any], messages: int, dry_run: bool) -> dict[str, Any]:
    recorded = done["recorded"]
    specimens = len({row["specimen"] for row in recorded})
    verb = "would record" if dry_run else "recorded"
    summary = (
        f"{messages} message{'s' * (messages != 1)}: {verb} {len(recorded)} "
        f"report{'s' * (len(recorded) != 1)} for {specimens} "
        f"specimen{'s' * (specimens != 1)}"
    )
    if done["skipped"]:
        summary += f"; {done['skipped']} order(s) already imported, skipped"
    if done["left"]:
        summary += f"; {done['left']} order(s) for another site's specimens, left to that site"
    if done["unchanged"]:
        summary += f"; {done['unchanged']} report(s) changed nothing"
    return {
        "form": "hl7",
        "summary": summary,
        "messages": messages,
        "results": specimens,
        **{key: value for key, value in done.items() if key != "elsewhere"},
    }
