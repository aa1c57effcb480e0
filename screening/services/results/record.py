"""Recording specimens and amending what they say; nothing is ever overwritten.

A result is the collection (who, when, what specimen) plus versions of what it says:
the first as recorded, then one per amendment (a lab's report or confirmation, a
corrected report, a data-entry error, the wrong client). Each version is a ledger entry
holding a salted digest of its content, never the content itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from screening.core import validate
from screening.core.canonical import canonical_text, canonical_text_of_stored, private_digest
from screening.core.interpret import (
    AnalyteOutcome,
    Measures,
    contradicts_level,
    judge_validity,
    needs_observed_recollection,
    outcome_of_level,
    read_result,
)
from screening.core.ledger import rfc3339
from screening.db.models import AnalyteResult, Client, LedgerRow, Result, ResultVersion, Screening
from screening.db.row_ids import give_ids
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter
from screening.services.records.clients import find, new_salt
from screening.services.records.screenings import (
    REVERSIBLE,
    create,
    first_open,
    key,
    pending_for,
    set_status,
)
from screening.services.records.upkeep import writing

METHODS = ("point_of_care", "lab")
CHUNK = 500  # values in one IN (...): well under SQLite's and PostgreSQL's limits
AMEND_REASONS = (
    "lab_report",
    "lab_confirmation",
    "corrected_report",
    "data_entry_error",
    "wrong_client",
)


@dataclass
class Findings:
    """What staff or a lab say a specimen shows; every field optional on the command line."""

    positive: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    not_tested: list[str] = field(default_factory=list)
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
            _number(self.creatinine, "--creatinine"),
            _number(self.specific_gravity, "--sg"),
            _number(self.ph, "--ph"),
            self.oxidant,
        )

    def touches_measures(self) -> bool:
        return not self.measures().empty or self.validity is not None


def _number(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadInput(f"{what} {text!r} must be a number of 0 or more")
    return value


def _validity(
    findings: Findings, ctx: Context, fallback: tuple[str, Measures]
) -> tuple[str, Measures]:
    from screening.core.interpret import VALIDITIES

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


def _analytes(
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
            and (before.stage == stage or not findings.confirmed)
        ):
            # A level or cutoff corrected: the outcome follows them, the stage stands.
            level = level if level is not None else before.level
            cutoff = cutoff if cutoff is not None else before.cutoff
            outcome = before.outcome
            if level is not None and cutoff is not None:
                outcome = outcome_of_level(level, cutoff)
            result[code] = AnalyteOutcome(code, outcome, before.stage, level, cutoff)
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
                reads = outcome_of_level(level, cutoff)  # type: ignore[arg-type]
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
        found[code] = _number(number, f"{what} {code}")  # type: ignore[assignment]
    return found


def collection_content(result: Result) -> dict[str, Any]:
    return {
        "specimen_type": result.specimen_type,
        "specimen_id": result.specimen_id,
        "collected_at": rfc3339(result.collected_at),
        "collector": result.collector,
        "observed": result.observed,
        "observed_reason": result.observed_reason,
        "temperature_ok": result.temperature_ok,
        "method": result.method,
        "panel": result.panel,
        "medications": json.loads(result.medications),
    }


def version_content(
    version: ResultVersion, analytes: list[AnalyteOutcome] | list[dict[str, Any]]
) -> dict[str, Any]:
    """What a version says; ``analytes`` as outcomes, or as their bodies (verify reads
    those straight from the rows)."""
    bodies = [a if isinstance(a, dict) else a.as_body() for a in analytes]
    content = {
        "reason": version.reason,
        "note": version.note,
        "lab_report_id": version.lab_report_id,
        "validity": version.validity,
        "validity_version": version.validity_version,
        "measures": json.loads(version.measures),
        "void": version.void,
        "analytes": sorted(bodies, key=lambda body: body["code"]),
    }
    if version.override_reason is not None:
        # Only when given, so that versions recorded before overrides existed keep
        # their digests.
        content["override_reason"] = version.override_reason
    return content


def content_digest(
    result: Result,
    version: ResultVersion,
    analytes: list[AnalyteOutcome] | list[dict[str, Any]],
    first: bool,
    stored: bool = False,
) -> str:
    """The digest a version's ledger entry holds; the first also covers the collection.
    ``stored``: the rows were read back from the database (verify), see
    ``canonical_text_of_stored``."""
    content = version_content(version, analytes)
    if first:
        content = {"collection": collection_content(result), **content}
    text = canonical_text_of_stored(content) if stored else canonical_text(content)
    return private_digest(result.salt, text) or ""


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
class _Checked:
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


def record(ctx: Context, code: str, findings: Findings, **details: Any) -> dict[str, Any]:
    """``results record``: a specimen collected for the client's pending screening."""
    return record_many(ctx, [Collection(code, findings, **details)])[0]


def record_many(ctx: Context, collections: Sequence[Collection]) -> list[dict[str, Any]]:
    """Specimens collected for pending screenings, in one transaction: all or none.

    The lookups are made once for all of them (clients, open screenings, selection
    times, specimen ids already used), so a day's specimens cost one query of each kind,
    not one of each per specimen."""
    checked = [_check(ctx, collection) for collection in collections]
    with writing(ctx) as (session, writer):
        clients = _clients_by_code(session, ctx.site, {c.given.code for c in checked})
        candidates = _open_screenings(session, [client.id for client in clients.values()])
        selected_at = _entry_times(
            session, [s.created_seq for found in candidates.values() for s in found]
        )
        used = _used_specimen_ids(session, [c.specimen_id for c in checked if c.specimen_id])
        stored: list[tuple[Result, ResultVersion, dict[str, AnalyteOutcome]]] = []
        answers: list[dict[str, Any]] = []
        for item in checked:
            given = item.given
            client = clients.get(given.code) or find(session, ctx.site, given.code)
            open_ones = candidates.setdefault(client.id, [])  # type: ignore[arg-type]
            if given.screening_id is not None:
                screening = pending_for(
                    session,
                    ctx,
                    client,
                    given.screening_id,
                    collected_at=item.moment,
                    observed=given.observed,
                )
            else:
                screening = first_open(
                    client, open_ones, item.moment, given.observed, ctx.settings.zone
                )
            if screening in open_ones:
                open_ones.remove(screening)
            if screening.created_seq not in selected_at:  # created in this transaction
                selected_at.update(_entry_times(session, [screening.created_seq]))
            _check_collection_time(ctx, screening, item.moment, selected_at[screening.created_seq])
            if item.defaulted and not given.sent_to_lab:
                _unstated_prescriptions(ctx, client, item)
            late = _late_reason(ctx, screening, client, item)
            if screening.observed_required and not given.observed:
                raise BadInput(
                    f"screening {screening.id} must be collected under direct "
                    "observation; add --observed"
                )
            if item.specimen_id and item.specimen_id in used:
                raise BadInput(
                    f"specimen id {item.specimen_id} is already recorded; check the label"
                )
            if item.specimen_id:
                used.add(item.specimen_id)
            result, version, entry = _collect(ctx, writer, item, screening, client, late)
            stored.append((result, version, item.analytes))
            screening.status, screening.status_auto, screening.ledger_seq = (
                "collected",
                False,
                entry.seq,
            )
            session.add_all([result, screening])
            recollect = needs_observed_recollection(
                item.validity,
                item.measures,
                item.analytes.values(),
                given.temperature_ok,
                ctx.settings.validity,
            )
            recollection = None
            if recollect:
                recollection = create(
                    writer,
                    session,
                    ctx,
                    client,
                    "recollection",
                    note=recollect,
                    observed=True,
                    because=entry.seq,
                    replaces=screening,
                )
                session.flush()  # its id, should a later specimen in the batch be for it
                open_ones.append(recollection)
            answers.append(
                {
                    "code": client.code,
                    "result": result,
                    "screening": screening,
                    "validity": item.validity,
                    "recollection": recollection,
                    "recollection_reason": recollect,
                    "panel": item.panel,
                    "defaulted": [] if given.sent_to_lab else item.defaulted,
                    "awaiting": item.defaulted if given.sent_to_lab else [],
                    "not_tested": [
                        code for code, a in item.analytes.items() if a.outcome == "not_tested"
                    ],
                    "override": given.findings.override_reason,
                    "reads": _stated(ctx, client, item),
                }
            )
        session.flush()
        store_versions(session, stored)
        session.flush()
        for answer in answers:
            answer["result"] = answer["result"].id
            answer["screening"] = answer["screening"].id
            if answer["recollection"] is not None:
                answer["recollection"] = answer["recollection"].id
        return answers


def _stated(ctx: Context, client: Client, item: _Checked) -> dict[str, Any]:
    """How the specimen reads, and each analyte staff stated (not the panel's default) in
    words, for `record` to say back: a level decides its outcome, and the person who
    typed it should see which."""
    read = read_result(
        item.analytes.values(),
        json.loads(client.medications),
        ctx.settings.vocabulary,
        item.validity,
        item.given.temperature_ok,
    )
    quiet = set(item.defaulted) | {
        code for code, a in item.analytes.items() if a.outcome in ("pending", "not_tested")
    }
    words = [
        word
        for (analyte, _, _, _), word in zip(read.details, read.words, strict=True)
        if analyte.code not in quiet
    ]
    return {"summary": read.summary, "analytes": words, "flags": list(read.flags)}


def _check(ctx: Context, given: Collection) -> _Checked:
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
    method = given.method or settings.results.default_method
    if method not in METHODS:
        raise BadInput(f"--method {method!r} is not one of {', '.join(METHODS)}")
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
        who = validate.free_text(
            given.collector or ctx.actor.name or ctx.actor.os_user, "--collector"
        )
        why_observed = validate.free_text(given.observed_reason, "--observed-reason", False)
        specimen_code = validate.client_code(given.specimen_id) if given.specimen_id else None
        late_reason = validate.free_text(given.late_reason, "--reason", False)
    except validate.Invalid as error:
        raise BadInput(str(error).replace("client code", "specimen id")) from None
    validity, measures = _validity(findings, ctx, ("valid", Measures()))
    findings.override_reason = _override_reason(findings)
    analytes = _analytes(findings, ctx, panel, None, "pending" if given.sent_to_lab else "negative")
    return _Checked(
        given,
        panel,
        specimen,
        method,
        moment,
        who,  # type: ignore[arg-type]
        why_observed,
        specimen_code,
        validity,
        measures,
        analytes.by_code,
        analytes.defaulted,
        late_reason,
    )


def _override_reason(findings: Findings) -> str | None:
    try:
        return validate.free_text(findings.override_reason, "--override-reason", False)
    except validate.Invalid as error:
        raise BadInput(str(error)) from None


def _unstated_prescriptions(ctx: Context, client: Client, item: _Checked) -> None:
    """A cup read for a client whose prescriptions it tests must say what it showed for
    them: the panel's default (negative) there would read as possible diversion."""
    vocabulary = ctx.settings.vocabulary
    medications, _ = vocabulary.canonical_list(json.loads(client.medications))
    missing = {
        name: codes for name in medications if (codes := vocabulary.seen_by(name, item.defaulted))
    }
    if not missing:
        return
    codes = ",".join(code for code in item.defaulted if any(code in c for c in missing.values()))
    which = "; ".join(f"{name} ({', '.join(codes)})" for name, codes in missing.items())
    raise BadInput(
        f"{client.code} is prescribed {which}, which the {item.panel} panel tests: say what "
        f"the specimen showed (--positive {codes}, --negative {codes} or --not-tested "
        f"{codes}); nothing was recorded"
    )


def _late_reason(ctx: Context, screening: Screening, client: Client, item: _Checked) -> str | None:
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


def _collect(
    ctx: Context,
    writer: LedgerWriter,
    item: _Checked,
    screening: Screening,
    client: Client,
    late_reason: str | None = None,
) -> tuple[Result, ResultVersion, Any]:
    """The result, its first version and its ``result`` entry (ids come at the flush)."""
    given = item.given
    result = Result(
        screening_id=screening.id,
        specimen_type=item.specimen,  # type: ignore[arg-type]
        specimen_id=item.specimen_id,
        collected_at=item.moment,
        collector=item.collector,
        observed=given.observed,
        observed_reason=item.observed_reason,
        temperature_ok=given.temperature_ok,
        method=item.method,
        panel=item.panel,
        medications=client.medications,
        salt=new_salt(),
        late_reason=late_reason,
        created_seq=0,
        ledger_seq=0,
    )
    version = ResultVersion(
        result_id=0,
        seq=0,
        reason="recorded",
        validity=item.validity,
        validity_version=ctx.settings.validity.version,
        measures=canonical_text(item.measures.as_body()),
        void=False,
        override_reason=item.given.findings.override_reason,
    )
    body = {
        "action": "record",
        "screening": key(screening, client),
        "uid": client.uid,
        "specimen_type": item.specimen,
        "method": item.method,
        "collected_at": rfc3339(item.moment),
        "content": content_digest(result, version, list(item.analytes.values()), first=True),
    }
    if late_reason is not None:
        # Entered after the deadline: the entry's own time is the entry time.
        body["entered_late"] = True
        body["late_reason"] = private_digest(result.salt, late_reason)
    entry = writer.append(ctx.site, "result", body)
    result.created_seq = result.ledger_seq = version.seq = entry.seq
    return result, version, entry


def _clients_by_code(session: Session, site: str, codes: set[str]) -> dict[str, Client]:
    found: dict[str, Client] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), CHUNK):
        for client in session.exec(
            select(Client).where(
                Client.site == site,
                Client.code.in_(ordered[start : start + CHUNK]),  # type: ignore[attr-defined]
            )
        ):
            found[client.code] = client
    return found


def _open_screenings(session: Session, client_ids: list[int]) -> dict[int, list[Screening]]:
    """The clients' pending screenings and misses (a collection may settle the sweep's
    no-show; a miss staff recorded is named, to be reversed), each client's by deadline."""
    found: dict[int, list[Screening]] = {}
    ordered = sorted(client_ids)
    for start in range(0, len(ordered), CHUNK):
        for screening in session.exec(
            select(Screening)
            .where(
                Screening.client_id.in_(ordered[start : start + CHUNK]),  # type: ignore[attr-defined]
                Screening.status.in_(["pending", *REVERSIBLE]),  # type: ignore[attr-defined]
            )
            .order_by(Screening.due_by, Screening.id)
        ):
            found.setdefault(screening.client_id, []).append(screening)
    return found


def _entry_times(session: Session, seqs: list[int]) -> dict[int, datetime]:
    table = LedgerRow.__table__
    found: dict[int, datetime] = {}
    ordered = sorted(set(seqs))
    for start in range(0, len(ordered), CHUNK):
        for seq, at in session.execute(
            sa.select(table.c.seq, table.c.at).where(
                table.c.seq.in_(ordered[start : start + CHUNK])
            )
        ):
            found[seq] = at if at.tzinfo else at.replace(tzinfo=UTC)
    return found


def _used_specimen_ids(session: Session, specimen_ids: list[str]) -> set[str]:
    used: set[str] = set()
    ordered = sorted(set(specimen_ids))
    for start in range(0, len(ordered), CHUNK):
        used.update(
            session.exec(
                select(Result.specimen_id).where(
                    Result.specimen_id.in_(ordered[start : start + CHUNK])  # type: ignore[union-attr]
                )
            )
        )
    return used


def _check_collection_time(
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


def store_versions(
    session: Session,
    stored: list[tuple[Result, ResultVersion, dict[str, AnalyteOutcome]]],
) -> None:
    """The versions (their results already flushed) and all their analytes, the analytes
    in one statement with no ORM object each."""
    for result, version, _ in stored:
        version.result_id = result.id  # type: ignore[assignment]
    session.add_all([version for _, version, _ in stored])
    session.flush()
    rows = [
        {
            "version_id": version.id,
            "code": analyte.code,
            "outcome": analyte.outcome,
            "stage": analyte.stage,
            "level": None if analyte.level is None else str(analyte.level),
            "cutoff": None if analyte.cutoff is None else str(analyte.cutoff),
        }
        for _, version, analytes in stored
        for analyte in analytes.values()
    ]
    if rows:
        give_ids(session, AnalyteResult.__table__, rows)  # type: ignore[arg-type]
        session.execute(sa.insert(AnalyteResult.__table__), rows)  # type: ignore[arg-type]


def current_version(session: Session, result: Result) -> tuple[ResultVersion, list[AnalyteOutcome]]:
    version = session.exec(
        select(ResultVersion).where(ResultVersion.seq == result.ledger_seq)
    ).one()
    return version, analytes_of(session, version)


def current_versions(
    session: Session, results: list[Result]
) -> dict[int, tuple[ResultVersion, list[AnalyteOutcome]]]:
    """Each result's current version and its analytes, in one query of each per chunk."""
    by_seq = {result.ledger_seq: result.id for result in results}
    found: dict[int, tuple[ResultVersion, list[AnalyteOutcome]]] = {}
    ordered = sorted(by_seq)
    for start in range(0, len(ordered), CHUNK):
        versions = session.exec(
            select(ResultVersion).where(ResultVersion.seq.in_(ordered[start : start + CHUNK]))  # type: ignore[attr-defined]
        ).all()
        analytes = analytes_by_version(session, [version.id for version in versions])  # type: ignore[misc]
        for version in versions:
            found[by_seq[version.seq]] = (version, analytes.get(version.id, []))  # type: ignore[index,arg-type]
    return found


def analytes_of(session: Session, version: ResultVersion) -> list[AnalyteOutcome]:
    return analytes_by_version(session, [version.id]).get(version.id, [])  # type: ignore[list-item]


def _analyte_rows(session: Session, version_ids: list[int]) -> Any:
    table = AnalyteResult.__table__
    return session.execute(
        sa.select(
            table.c.version_id,
            table.c.code,
            table.c.outcome,
            table.c.stage,
            table.c.level,
            table.c.cutoff,
        ).where(table.c.version_id.in_(version_ids))
    )


def analyte_bodies_by_version(
    session: Session, version_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """The analytes of many versions as the bodies their digest covers, from the stored
    text as it is (not parsed into numbers and back: a level edited in the database
    then changes the digest however it was written)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for version_id, code, outcome, stage, level, cutoff in _analyte_rows(session, version_ids):
        found.setdefault(version_id, []).append(
            {"code": code, "outcome": outcome, "stage": stage, "level": level, "cutoff": cutoff}
        )
    return found


def analytes_by_version(
    session: Session, version_ids: list[int]
) -> dict[int, list[AnalyteOutcome]]:
    """The analytes of many versions in one query, by version id."""
    found: dict[int, list[AnalyteOutcome]] = {}
    for version_id, code, outcome, stage, level, cutoff in _analyte_rows(session, version_ids):
        found.setdefault(version_id, []).append(
            AnalyteOutcome(
                code,
                outcome,
                stage,
                None if level is None else Decimal(level),
                None if cutoff is None else Decimal(cutoff),
            )
        )
    return found


MAX_RESULT = 2**31 - 1  # ids are 32-bit integers in PostgreSQL


def find_result(
    session: Session, ctx: Context, reference: int | str
) -> tuple[Result, Screening, Client]:
    """A result by its number (``results list``) or by its specimen id, the label staff
    hold in their hand (``SP-0193``): digits alone are a number, anything else a label."""
    text = str(reference).strip()
    result = None
    if text.isdigit():
        number = int(text)
        if 1 <= number <= MAX_RESULT:
            result = session.get(Result, number)
        what = f"result {text}"
    else:
        result = session.exec(select(Result).where(Result.specimen_id == text)).first()
        what = f"result with specimen id {text}"
    screening = session.get(Screening, result.screening_id) if result else None
    client = session.get(Client, screening.client_id) if screening else None
    if result is None or screening is None or client is None or client.site != ctx.site:
        raise BadInput(
            f"no {what}; give the result's number or its specimen id (see `screening results list`)"
        )
    return result, screening, client


def amend(
    ctx: Context,
    result_id: int | str,
    reason: str,
    findings: Findings,
    note: str | None = None,
    lab_report_id: str | None = None,
) -> dict[str, Any]:
    """``results amend``: a new version of what a result says, with its reason."""
    if reason not in AMEND_REASONS:
        raise BadInput(f"--reason {reason!r} is not one of {', '.join(AMEND_REASONS)}")
    try:
        text = validate.free_text(
            note, "--note", reason in ("corrected_report", "data_entry_error", "wrong_client")
        )
    except validate.Invalid as error:
        raise BadInput(f"{error} (an amendment for {reason} says what was wrong)") from None
    with writing(ctx) as (session, writer):
        result, screening, client = find_result(session, ctx, result_id)
        version, _ = apply_amendment(
            session, writer, ctx, result, reason, findings, text, lab_report_id
        )
        if reason == "wrong_client":
            set_status(
                writer,
                session,
                ctx,
                screening,
                client,
                "inconclusive",  # type: ignore[arg-type]
                note="result recorded against the wrong client",
                auto=True,
            )
        session.flush()
        return {
            "result": result.id,
            "code": client.code,
            "reason": reason,
            "validity": version.validity,
        }


def apply_amendment(
    session: Session,
    writer: LedgerWriter,
    ctx: Context,
    result: Result,
    reason: str,
    findings: Findings,
    note: str | None,
    lab_report_id: str | None,
    *,
    now: tuple[ResultVersion, list[AnalyteOutcome]] | None = None,
    later: list[tuple[Result, ResultVersion, dict[str, AnalyteOutcome]]] | None = None,
) -> tuple[ResultVersion, list[AnalyteOutcome]]:
    """Append one version (and its ``amendment`` entry); refuse one that changes nothing.
    Returns the new version and its analytes.

    Many amendments in one transaction (a lab's file) pass the result's current version
    as ``now`` rather than have it read, and a list ``later`` that collects the new
    versions, to be stored together by ``store_versions``."""
    before, current = now if now is not None else current_version(session, result)
    if before.void:
        raise BadInput(f"result {result.id} was voided (wrong client); it cannot change again")
    findings.override_reason = _override_reason(findings)
    # An analyte added to the panel after the result was recorded was not tested then.
    read = _analytes(findings, ctx, result.panel, {a.code: a for a in current}, "not_tested")
    analytes = read.by_code
    override = findings.override_reason
    if override is None and any(contradicts_level(a) for a in analytes.values()):
        override = before.override_reason  # an earlier override still stands
    validity, measures = _validity(
        findings, ctx, (before.validity, Measures.from_body(json.loads(before.measures)))
    )
    version = ResultVersion(
        result_id=result.id,
        seq=0,
        reason=reason,
        note=note,  # type: ignore[arg-type]
        lab_report_id=lab_report_id,
        validity=validity,
        validity_version=(
            ctx.settings.validity.version
            if findings.touches_measures()
            else before.validity_version
        ),
        measures=canonical_text(measures.as_body()),
        void=reason == "wrong_client",
        override_reason=override,
    )
    unchanged = (
        sorted(analytes.values(), key=lambda a: a.code) == sorted(current, key=lambda a: a.code)
        and validity == before.validity
        and version.measures == before.measures
    )
    if unchanged and not version.void:
        raise BadInput(
            f"the amendment changes nothing in result {result.id}; name the "
            "analytes or measures that differ"
        )
    screening = session.get(Screening, result.screening_id)
    client = session.get(Client, screening.client_id)  # type: ignore[union-attr]
    entry = writer.append(
        ctx.site,
        "amendment",
        {
            "result": result.created_seq,
            "uid": client.uid,  # type: ignore[union-attr]
            "reason": reason,
            "content": content_digest(result, version, list(analytes.values()), first=False),
        },
    )
    version.seq = result.ledger_seq = entry.seq
    session.add(result)
    if later is None:
        store_versions(session, [(result, version, analytes)])
    else:
        later.append((result, version, analytes))
    limits = ctx.settings.validity
    was = needs_observed_recollection(
        before.validity,
        Measures.from_body(json.loads(before.measures)),
        current,
        result.temperature_ok,
        limits,
    )
    now = needs_observed_recollection(
        validity, measures, analytes.values(), result.temperature_ok, limits
    )
    if now and not was and not version.void:
        # A lab's report can be the first to show a dilute negative (49 CFR 40.197(b)(1)).
        create(
            writer,
            session,
            ctx,
            client,
            "recollection",
            note=now,  # type: ignore[arg-type]
            observed=True,
            because=result.created_seq,
            replaces=screening,
        )
    return version, list(analytes.values())
