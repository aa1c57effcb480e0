"""A specimen as `results record` takes it, and the checks it must pass to be recorded:
panel, specimen, method and collection time on their own, then against the client and
the screening it is for (prescriptions the panel tests, a late entry's reason, a time
between selection and deadline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time

from screening.core import validate
from screening.core.interpret import AnalyteOutcome, Measures
from screening.db.models import Client, Screening
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.results.findings import (
    Findings,
    analytes_given,
    override_given,
    validity_given,
)

METHODS = ("point_of_care", "lab")


@dataclass(frozen=True)
class Collection:
    """One specimen, as `results record` takes it."""

    code: str
    findings: Findings
    screening_id: int | None = None
    specimen: str | None = None
    collected_at: str | None = None
    collector: str | None = None
    observed: bool = False
    observed_reason: str | None = None
    specimen_id: str | None = None
    temperature_ok: bool | None = None
    method: str | None = None
    panel: str | None = None
    sent_to_lab: bool = False
    # Why the specimen is entered after its screening's deadline (required then).
    late_reason: str | None = None


@dataclass(frozen=True)
class Checked:
    """A collection after the checks that need no database."""

    given: Collection
    panel: str
    specimen: str
    method: str
    moment: datetime
    collector: str
    observed_reason: str | None
    specimen_id: str | None
    validity: str
    measures: Measures
    analytes: dict[str, AnalyteOutcome]
    defaulted: list[str]  # analytes given the panel's default outcome
    late_reason: str | None = None


def check_collection(ctx: Context, given: Collection) -> Checked:
    settings = ctx.settings
    panel = given.panel or settings.results.default_panel
    if panel not in settings.panels:
        raise BadInput(f"no panel {panel!r}; panels: {', '.join(sorted(settings.panels))}")
    specimen = given.specimen or settings.panels[panel].specimen
    if specimen != settings.panels[panel].specimen:
        raise BadInput(
            f"the {panel} panel is for {settings.panels[panel].specimen} "
            f"specimens, not {specimen}; choose the panel with --panel"
        )
    try:
        method = validate.choice(
            given.method or settings.results.default_method, METHODS, "--method"
        )
    except validate.Invalid as error:
        raise BadInput(str(error)) from None
    findings = given.findings
    if given.sent_to_lab and (findings.positive or findings.negative or findings.inconclusive):
        raise BadInput(
            "--sent-to-lab records a specimen awaiting the lab: give no outcomes "
            "(import the lab's report later)"
        )
    moment = _parse_collected(given.collected_at, ctx)
    if moment > ctx.now:
        raise BadInput(
            f"--collected-at {moment.astimezone(settings.zone):%Y-%m-%d %H:%M} is in the "
            "future (for an earlier day, write YYYY-MM-DDTHH:MM)"
        )
    try:
        who = validate.free_text(given.collector or ctx.actor.name or ctx.actor.user, "--collector")
        why_observed = validate.free_text(given.observed_reason, "--observed-reason", False)
        specimen_code = validate.client_code(given.specimen_id) if given.specimen_id else None
        late_reason = validate.free_text(given.late_reason, "--reason", False)
    except validate.Invalid as error:
        raise BadInput(str(error).replace("client code", "specimen id")) from None
    assert who is not None  # free_text refuses an empty text it requires
    validity, measures = validity_given(findings, ctx, ("valid", Measures()))
    findings.override_reason = override_given(findings)
    analytes = analytes_given(
        findings, ctx, panel, None, "pending" if given.sent_to_lab else "negative"
    )
    return Checked(
        given,
        panel,
        specimen,
        method,
        moment,
        who,
        why_observed,
        specimen_code,
        validity,
        measures,
        analytes.by_code,
        analytes.defaulted,
        late_reason,
    )


def _parse_collected(text: str | None, ctx: Context) -> datetime:
    if text is None:
        return ctx.now
    zone = ctx.settings.zone
    try:
        if len(text.strip()) <= 5:  # HH:MM today
            moment = datetime.combine(ctx.today, time.fromisoformat(text.strip()))
        else:
            moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"--collected-at {text!r} is not a time; write HH:MM (today) or "
            "YYYY-MM-DDTHH:MM, in the clinic's time zone"
        ) from None
    if moment.tzinfo is None:
        local = moment
        moment = moment.replace(tzinfo=zone)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
            raise BadInput(
                f"--collected-at {text} does not exist in {zone.key}: the clocks "
                "moved forward then; check the time"
            )
    # Whole seconds, as its digest holds it: a fraction would be a part nothing checks.
    return moment.replace(microsecond=0)


def unstated_prescriptions(ctx: Context, client: Client, item: Checked) -> None:
    """A cup read for a client whose prescriptions it tests must say what it showed for
    them: the panel's default (negative) there would read as possible diversion."""
    vocabulary = ctx.settings.vocabulary
    medications, _ = vocabulary.canonical_list(json.loads(client.medications))
    missing = {
        name: codes for name in medications if (codes := vocabulary.seen_by(name, item.defaulted))
    }
    if not missing:
        return
    listed = ",".join(code for code in item.defaulted if any(code in c for c in missing.values()))
    which = "; ".join(f"{name} ({', '.join(codes)})" for name, codes in missing.items())
    raise BadInput(
        f"{client.code} is prescribed {which}, which the {item.panel} panel tests: say what "
        f"the specimen showed (--positive {listed}, --negative {listed} or --not-tested "
        f"{listed}); nothing was recorded"
    )


def late_entry_reason(
    ctx: Context, screening: Screening, client: Client, item: Checked
) -> str | None:
    """A collection entered after its screening's deadline is a late entry: it needs a
    reason, kept with the entry time beside the collection time. Entered in time, a
    reason has no place."""
    zone = ctx.settings.zone
    if ctx.now <= screening.due_by:
        if item.late_reason is not None:
            raise BadInput(
                f"--reason is for a specimen entered after its screening's deadline; "
                f"screening {screening.id} is due by "
                f"{screening.due_by.astimezone(zone):%Y-%m-%d %H:%M}: leave --reason out"
            )
        return None
    if item.late_reason is None:
        raise BadInput(
            f"screening {screening.id} of {client.code} was due by "
            f"{screening.due_by.astimezone(zone):%Y-%m-%d %H:%M}; a specimen entered after "
            "its deadline is a late entry: add --reason saying why it is entered late"
        )
    return item.late_reason


def check_collection_time(
    ctx: Context, screening: Screening, moment: datetime, selected_at: datetime
) -> None:
    zone = ctx.settings.zone
    if moment < selected_at.replace(microsecond=0):
        raise BadInput(
            f"--collected-at {moment.astimezone(zone):%Y-%m-%d %H:%M} is before the client "
            f"was selected for screening {screening.id} "
            f"({selected_at.astimezone(zone):%Y-%m-%d %H:%M}); check the date and time"
        )
    if moment > screening.due_by:
        raise BadInput(
            f"collected at {moment.astimezone(zone):%H:%M}, after the deadline "
            f"{screening.due_by.astimezone(zone):%Y-%m-%d %H:%M}: record a no-show, "
            "and the specimen as a for-cause screening"
        )
