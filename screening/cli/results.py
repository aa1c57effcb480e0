"""`results ...`: collections, misses, for-cause screenings, amendments, lab imports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import JsonOpt, handle_errors, open_context, split_list

if TYPE_CHECKING:
    from screening.services.results import Findings

results_app = typer.Typer(
    help="Record collections and results, misses and amendments.", no_args_is_help=True
)

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
CodeArg = Annotated[str, typer.Argument(help="The clinic's client code, e.g. C-104.")]
ScreeningOpt = Annotated[
    int | None,
    typer.Option(
        "--screening",
        min=1,
        max=2**31 - 1,
        help="The screening to act on (default: the client's pending one due first).",
    ),
]
Positive = Annotated[
    str | None,
    typer.Option("--positive", help="Analytes positive, comma-separated (e.g. THC,COC)."),
]
Negative = Annotated[
    str | None, typer.Option("--negative", help="Analytes negative, comma-separated.")
]
Inconclusive = Annotated[
    str | None,
    typer.Option("--inconclusive", help="Analytes that could not be read, comma-separated."),
]
NotTested = Annotated[
    str | None,
    typer.Option(
        "--not-tested",
        help="Analytes the cup or lab did not test, comma-separated: never read as negative.",
    ),
]
Override = Annotated[
    str | None,
    typer.Option(
        "--override-reason",
        help="Why an outcome stands against its own level and cutoff (recorded).",
    ),
]
Confirmed = Annotated[
    bool,
    typer.Option(
        "--confirmed",
        help="The outcomes are a lab's confirmation (e.g. LC-MS/MS), not a presumptive screen.",
    ),
]
Levels = Annotated[
    list[str] | None,
    typer.Option(
        "--level",
        metavar="ANALYTE=NG_ML",
        help="A measured level, e.g. --level BUP=42 (repeat for more): at or above the "
        "cutoff it reads positive, below it negative.",
    ),
]
Cutoffs = Annotated[
    list[str] | None,
    typer.Option(
        "--cutoff",
        metavar="ANALYTE=NG_ML",
        help="The cutoff used, if not the panel's (initial for a screen, confirm for a "
        "confirmation).",
    ),
]
Creatinine = Annotated[str | None, typer.Option("--creatinine", help="Creatinine, mg/dL.")]
Gravity = Annotated[str | None, typer.Option("--sg", help="Specific gravity, e.g. 1.0020.")]
Ph = Annotated[str | None, typer.Option("--ph", help="pH.")]
Oxidant = Annotated[
    bool | None,
    typer.Option("--oxidant/--no-oxidant", help="An oxidizing adulterant was (not) detected."),
]
Validity = Annotated[
    str | None,
    typer.Option(
        "--validity",
        help="valid, dilute, adulterated, substituted or invalid, when no measures are given.",
    ),
]

LIST_COLUMNS = [
    ("screening", "#"),
    ("date", "date"),
    ("code", "code"),
    ("reason", "why"),
    ("status", "status"),
    ("result", "result"),
    ("reading", "reads"),
    ("levels", "found"),
]
PENDING_COLUMNS = [
    ("screening", "screening"),
    ("code", "code"),
    ("name", "name"),
    ("reason", "why"),
    ("observed", "observed"),
    ("due_by", "due by"),
    ("status", "status"),
]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    from screening.errors import BadInput

    pairs = {}
    for value in values or []:
        code, sign, number = value.partition("=")
        if not sign or not code.strip() or not number.strip():
            raise BadInput(f"{what} {value!r} is not ANALYTE=NUMBER, e.g. {what} BUP=42")
        pairs[code.strip().upper()] = number.strip()
    return pairs


def _findings(
    positive: str | None,
    negative: str | None,
    inconclusive: str | None,
    confirmed: bool,
    levels: list[str] | None,
    cutoffs: list[str] | None,
    creatinine: str | None,
    sg: str | None,
    ph: str | None,
    oxidant: bool | None,
    validity: str | None,
    not_tested: str | None = None,
    override_reason: str | None = None,
) -> Findings:
    from screening.services.results import Findings

    return Findings(
        positive=split_list(positive) or [],
        negative=split_list(negative) or [],
        inconclusive=split_list(inconclusive) or [],
        not_tested=split_list(not_tested) or [],
        override_reason=override_reason,
        levels=_pairs(levels, "--level"),
        cutoffs=_pairs(cutoffs, "--cutoff"),
        confirmed=confirmed,
        creatinine=creatinine,
        specific_gravity=sg,
        ph=ph,
        oxidant=oxidant,
        validity=validity,
    )


@results_app.command("record")
@handle_errors
def record(
    ctx: typer.Context,
    code: CodeArg,
    positive: Positive = None,
    negative: Negative = None,
    inconclusive: Inconclusive = None,
    not_tested: NotTested = None,
    override_reason: Override = None,
    confirmed: Confirmed = False,
    levels: Levels = None,
    cutoffs: Cutoffs = None,
    creatinine: Creatinine = None,
    sg: Gravity = None,
    ph: Ph = None,
    oxidant: Oxidant = None,
    validity: Validity = None,
    screening: ScreeningOpt = None,
    specimen: Annotated[
        str | None,
        typer.Option(
            "--specimen",
            help="urine, oral_fluid, breath, blood, hair or sweat (default: the panel's).",
        ),
    ] = None,
    panel: Annotated[str | None, typer.Option("--panel", help="Panel from the config.")] = None,
    collected_at: Annotated[
        str | None,
        typer.Option(
            "--collected-at", help="HH:MM today or YYYY-MM-DDTHH:MM, clinic time (default: now)."
        ),
    ] = None,
    collector: Annotated[
        str | None,
        typer.Option("--collector", help="Who collected (default: --actor or the OS user)."),
    ] = None,
    observed: Annotated[
        bool, typer.Option("--observed", help="The collection was directly observed.")
    ] = False,
    observed_reason: Annotated[
        str | None, typer.Option("--observed-reason", help="Why it was observed.")
    ] = None,
    specimen_id: Annotated[
        str | None,
        typer.Option("--specimen-id", help="Specimen / chain-of-custody id on the label."),
    ] = None,
    temperature: Annotated[
        bool | None,
        typer.Option(
            "--temperature-ok/--temperature-out",
            help="Urine temperature within 32-38 °C (49 CFR 40.65), or not.",
        ),
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="point_of_care or lab.")] = None,
    sent_to_lab: Annotated[
        bool,
        typer.Option(
            "--sent-to-lab", help="Collected and sent to the lab; outcomes come with its report."
        ),
    ] = False,
    late_reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why the specimen is entered after its screening's deadline (a late entry "
            "needs one; it shows as 'entered late' everywhere).",
        ),
    ] = None,
) -> None:
    """Record a specimen for the client's pending screening.

    A level reads against the panel's cutoff. Analytes not named take the panel's
    default, negative as read on the cup (the output lists them), except those of the
    client's prescriptions, which must be named; --not-tested for what the cup lacks."""
    from screening.render.output import message, warning
    from screening.services.results import record as record_result

    found = _findings(
        positive,
        negative,
        inconclusive,
        confirmed,
        levels,
        cutoffs,
        creatinine,
        sg,
        ph,
        oxidant,
        validity,
        not_tested,
        override_reason,
    )
    done = record_result(
        open_context(ctx),
        code,
        found,
        screening_id=screening,
        specimen=specimen,
        collected_at=collected_at,
        collector=collector,
        observed=observed,
        observed_reason=observed_reason,
        specimen_id=specimen_id,
        temperature_ok=temperature,
        method=method,
        panel=panel,
        sent_to_lab=sent_to_lab,
        late_reason=late_reason,
    )
    message(
        f"recorded result {done['result']} for {done['code']} (screening "
        f"{done['screening']}; specimen {done['validity']})"
        + ("; entered late" if late_reason else "")
    )
    reads = done["reads"]
    if not done["awaiting"]:
        message(f"reads: {reads['summary'].replace('_', ' ')}")
    for word in reads["analytes"]:
        message(f"  {word}")
    for flag in reads["flags"]:
        warning(flag)
    if done["defaulted"]:
        message(
            f"negative for the {done['panel']} panel, as read on the cup: "
            f"{', '.join(done['defaulted'])} (the panel's default for analytes not named)"
        )
    if done["awaiting"]:
        message(f"awaiting the lab: {', '.join(done['awaiting'])}")
    if done["not_tested"]:
        message(f"not tested: {', '.join(done['not_tested'])}")
    if done["override"]:
        warning(f"outcome recorded against its level; override reason: {done['override']}")
    if done["recollection"]:
        warning(
            f"{done['recollection_reason']}: collect again now, under direct observation "
            f"(screening {done['recollection']})"
        )


def _mark(
    ctx: typer.Context,
    code: str,
    status: str,
    reason: str | None = None,
    approved_by: str | None = None,
    screening: int | None = None,
) -> None:
    from screening.render.output import message
    from screening.services.results import mark

    done = mark(
        open_context(ctx),
        code,
        status,
        reason=reason,
        approved_by=approved_by,
        screening_id=screening,
    )
    message(
        f"screening {done['screening']} of {done['code']} ({done['date']}): "
        f"{status.replace('_', ' ')}"
    )


@results_app.command("no-show")
@handle_errors
def no_show(ctx: typer.Context, code: CodeArg, screening: ScreeningOpt = None) -> None:
    """The client did not come in for their screening."""
    _mark(ctx, code, "no_show", screening=screening)


@results_app.command("refused")
@handle_errors
def refused(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="What the client said.")],
    screening: ScreeningOpt = None,
) -> None:
    """The client refused to give a specimen."""
    _mark(ctx, code, "refused", reason, screening=screening)


@results_app.command("unable")
@handle_errors
def unable(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
    screening: ScreeningOpt = None,
) -> None:
    """The client came but could not provide a specimen."""
    _mark(ctx, code, "unable_to_provide", reason, screening=screening)


@results_app.command("excuse")
@handle_errors
def excuse(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="medical, court, transport, clinic_error, bereavement, employment or other.",
        ),
    ],
    approved_by: Annotated[str, typer.Option("--approved-by", help="Who approved it.")],
    screening: ScreeningOpt = None,
) -> None:
    """Excuse a screening, with a reason code and who approved it."""
    _mark(ctx, code, "excused", reason, approved_by, screening)


@results_app.command("reverse")
@handle_errors
def reverse(
    ctx: typer.Context,
    screening: Annotated[
        int, typer.Argument(min=1, max=MAX_ID, help="The screening whose miss is reversed.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the miss was wrong.")],
    approved_by: Annotated[str, typer.Option("--approved-by", help="Who approved the reversal.")],
) -> None:
    """Reverse a no-show, refusal or unable-to-provide that staff recorded in error (an
    amendment: the miss stays on record beside it, and the screening is excused)."""
    from screening.render.output import message
    from screening.services.results import reverse as reverse_miss

    done = reverse_miss(open_context(ctx), screening, reason, approved_by)
    message(
        f"screening {done['screening']} of {done['code']} ({done['date']}): "
        f"{done['reversed'].replace('_', ' ')} reversed, approved by {done['approved_by']}; "
        "a specimen collected before its deadline can now be entered late with "
        f"`screening results record {done['code']} --screening {done['screening']} "
        "--collected-at ... --reason ...`"
    )


@results_app.command("cancel")
@handle_errors
def cancel(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is cancelled.")],
    screening: ScreeningOpt = None,
) -> None:
    """Cancel a screening made in error (it stays on record, cancelled)."""
    _mark(ctx, code, "cancelled", reason, screening=screening)


@results_app.command("for-cause")
@handle_errors
def for_cause(
    ctx: typer.Context,
    codes: Annotated[
        list[str], typer.Argument(help="The client's code, or several (all or none).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the test is asked for.")],
) -> None:
    """A screening nobody drew (kept apart from random ones in every statistic)."""
    from datetime import datetime

    from screening.render.output import message
    from screening.services.results import for_cause as create_for_cause

    for done in create_for_cause(open_context(ctx), codes, reason):
        due = datetime.fromisoformat(done["due_by"])  # in the site's zone
        message(
            f"for-cause screening {done['screening']} for {done['code']}, "
            f"due by {due:%Y-%m-%d %H:%M}"
        )


@results_app.command("amend")
@handle_errors
def amend(
    ctx: typer.Context,
    result: Annotated[
        str,
        typer.Argument(
            help="The result's number (see results list), or its specimen id (e.g. SP-0193)."
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="lab_report, lab_confirmation, corrected_report, data_entry_error "
            "or wrong_client.",
        ),
    ],
    note: Annotated[
        str | None, typer.Option("--note", help="What was wrong (required but for lab reports).")
    ] = None,
    positive: Positive = None,
    negative: Negative = None,
    inconclusive: Inconclusive = None,
    not_tested: NotTested = None,
    override_reason: Override = None,
    confirmed: Confirmed = False,
    levels: Levels = None,
    cutoffs: Cutoffs = None,
    creatinine: Creatinine = None,
    sg: Gravity = None,
    ph: Ph = None,
    oxidant: Oxidant = None,
    validity: Validity = None,
    lab_report: Annotated[
        str | None, typer.Option("--lab-report", help="The lab's report id.")
    ] = None,
) -> None:
    """Add what a lab or a correction says to a result; its history stays."""
    from screening.render.output import message
    from screening.services.results import amend as amend_result

    found = _findings(
        positive,
        negative,
        inconclusive,
        confirmed or reason == "lab_confirmation",
        levels,
        cutoffs,
        creatinine,
        sg,
        ph,
        oxidant,
        validity,
        not_tested,
        override_reason,
    )
    done = amend_result(open_context(ctx), result, reason, found, note, lab_report)
    message(f"amended result {done['result']} of {done['code']} ({done['reason']})")


@results_app.command("import")
@handle_errors
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Lab CSV: specimen_id,collected_at,analyte,outcome,level,cutoff,method,"
            "lab_report_id (and optionally report_status: final when the report is complete)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, write nothing.")
    ] = False,
) -> None:
    """Import a lab's results, matched by specimen id: every row, or none."""
    from screening.render.output import message
    from screening.services.results import import_lab

    done = import_lab(open_context(ctx), file, dry_run)
    verb = "would amend" if dry_run else "amended"
    message(
        f"{file}: {done['rows']} rows; {verb} {done['results']} results"
        + (" (dry run: nothing written)" if dry_run else "")
    )


@results_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Option("--client", help="Only this client.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="From this date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="To this date.")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending, overdue (pending past its deadline), collected, no_show, "
            "refused, unable_to_provide, excused, cancelled or inconclusive.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Screenings and their current results, with how each reads."""
    from screening.render.output import emit_rows
    from screening.services.results import listing

    rows = listing(open_context(ctx), client, start, end, status)
    emit_rows(rows, LIST_COLUMNS, as_json=as_json, empty="no screenings match")


@results_app.command("pending")
@handle_errors
def pending(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Screenings still waiting for a specimen, the one due first on top."""
    from screening.render.output import emit_rows
    from screening.services.results import pending as pending_rows

    emit_rows(
        pending_rows(open_context(ctx)), PENDING_COLUMNS, as_json=as_json, empty="nothing pending"
    )


@results_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    result: Annotated[
        str, typer.Argument(help="The result's number, or its specimen id (e.g. SP-0193).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """One result: the collection, what it says now, and its history."""
    from screening.render.output import emit_json
    from screening.services.results import show as show_result

    record = show_result(open_context(ctx), result)
    if as_json:
        emit_json(record)
        return
    current = record["current"]
    print(
        f"result {record['result']}: {record['code']}, {record['reason']} screening of "
        f"{record['date']}"
    )
    print(
        f"collected {record['collected_at']} by {record['collector']}; {record['specimen']} "
        f"({record['method']}, panel {record['panel']})"
        + ("; observed" if record["observed"] else "")
    )
    if record.get("entered_late"):
        late = record["entered_late"]
        print(f"entered late on {late['entered_at']}: {late['reason']}")
    print(
        f"reads: {current['reading']}"
        + (f"; positive: {', '.join(current['positives'])}" if current["positives"] else "")
    )
    for words in current["says"]:
        print(f"  {words}")
    if current["override_reason"]:
        print(f"  override reason: {current['override_reason']}")
    for flag in current["flags"]:
        print(f"  - {flag}")
    for number, version in enumerate([*record["history"], current], start=1):
        print(
            f"version {number} (ledger entry {version['ledger_entry']}): {version['reason']}"
            + (f", {version['note']}" if version["note"] else "")
            + f": {version['reading']}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(results_app, name="results")
