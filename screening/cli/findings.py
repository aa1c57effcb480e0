"""`results record` and `results amend`: what a specimen shows as staff type it
(outcomes, levels and cutoffs, validity measures), recorded for a screening or added to
a result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.screenings import CodeArg, ScreeningOpt
from screening.cli.typed import typed_list, typed_moment

if TYPE_CHECKING:
    from screening.services.results import Findings

# Each may be repeated (--positive COC --positive MTD): every value counts, never only
# the last, which would leave the others to the panel's default (negative).
Positive = Annotated[
    list[str] | None,
    typer.Option("--positive", help="Analytes positive, comma-separated (e.g. THC,COC)."),
]
Negative = Annotated[
    list[str] | None, typer.Option("--negative", help="Analytes negative, comma-separated.")
]
Inconclusive = Annotated[
    list[str] | None,
    typer.Option("--inconclusive", help="Analytes that could not be read, comma-separated."),
]
NotTested = Annotated[
    list[str] | None,
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


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    from screening.errors import BadInput

    pairs = {}
    for value in values or []:
        code, sign, number = value.partition("=")
        if not sign or not code.strip() or not number.strip():
            raise BadInput(f"{what} {value!r} is not ANALYTE=NUMBER, e.g. {what} BUP=42")
        pairs[code.strip().upper()] = number.strip()
    return pairs


def _all(given: list[str] | None) -> str | None:
    """A repeated option's values as one list (each may itself be comma-separated)."""
    return ",".join(given) if given else None


def _findings(
    positive: list[str] | None,
    negative: list[str] | None,
    inconclusive: list[str] | None,
    confirmed: bool,
    levels: list[str] | None,
    cutoffs: list[str] | None,
    creatinine: str | None,
    sg: str | None,
    ph: str | None,
    oxidant: bool | None,
    validity: str | None,
    not_tested: list[str] | None = None,
    override_reason: str | None = None,
) -> Findings:
    from screening.services.results import Findings

    return Findings(
        positive=typed_list(_all(positive)) or [],
        negative=typed_list(_all(negative)) or [],
        inconclusive=typed_list(_all(inconclusive)) or [],
        not_tested=typed_list(_all(not_tested)) or [],
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
    from screening.render.output import attention as alert
    from screening.render.output import message, warning
    from screening.render.words import attention, in_words, marked, word
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
    context = open_context(ctx)
    done = record_result(
        context,
        code,
        found,
        screening_id=screening,
        specimen=specimen,
        collected_at=typed_moment(context, collected_at, "--collected-at"),
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
        f"{done['screening']}; specimen {marked(done['validity'])})"
        + ("; entered late" if late_reason else "")
    )
    reads = done["reads"]
    if not done["awaiting"]:
        summary = reads["summary"]
        if attention(summary):
            alert(f"reads: {word(summary)}", attention(summary))
        else:
            message(f"reads: {word(summary)}")
    for line in reads["analytes"]:
        message(f"  {in_words(line)}")
    for flag in reads["flags"]:
        warning(in_words(flag))
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


@handle_errors
def amend(
    ctx: typer.Context,
    result: Annotated[
        str,
        typer.Argument(
            help="The result's number (the result column of `results list`), or its "
            "specimen id (e.g. SP-0193).",
        ),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="lab_report, lab_confirmation, corrected_report, data_entry_error "
            "or wrong_client (any case; spaces or dashes for underscores).",
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
    from screening.render.words import word
    from screening.services.results import amend as amend_result

    found = _findings(
        positive,
        negative,
        inconclusive,
        confirmed,  # lab_confirmation implies it (services/results/amendments.py)
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
    message(f"amended result {done['result']} of {done['code']} ({word(done['reason'])})")
