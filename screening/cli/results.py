"""`results ...`: the group, its commands in the order `--help` lists them (from
findings.py and screenings.py too), a lab's results imported, and results read back."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli import findings, screenings
from screening.cli.common import handle_errors, open_context
from screening.cli.options import (
    ConsentOpt,
    DisclosedFromOpt,
    FromOpt,
    JsonOpt,
    LastOpt,
    OutOpt,
    TableFormat,
    TextJsonFormat,
    ToOpt,
    delivered,
    emit_table,
    opened,
)
from screening.cli.screenings import CodeArg
from screening.cli.typed import typed_date

# Both numbers, each named: `results show` and `amend` take the result's number (or
# its specimen id), --screening and `results reverse` the screening's.
LIST_COLUMNS = [
    ("screening", "screening"),
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


@handle_errors
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="The lab's file: HL7 v2 ORU^R01 (one or many messages; MLLP framing, "
            "batch wrappers and any line ends accepted) or CSV with specimen_id,"
            "collected_at,analyte,outcome,level,cutoff,method,lab_report_id (and "
            "optionally report_status: final when the report is complete). Recognised "
            "by content."
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check everything and list what would be recorded; write nothing."
        ),
    ] = False,
    ack_dir: Annotated[
        Path | None,
        typer.Option(
            "--ack-dir",
            metavar="DIR",
            help="Write an HL7 ACK for each message into DIR (AA recorded, AE refused, AR "
            "not recorded because another message of the file was refused); default "
            "[labs] ack_folder.",
        ),
    ] = None,
) -> None:
    """Import a lab's results, matched by specimen id: the whole file, or nothing."""
    from screening.render.output import message
    from screening.services.results import import_file

    context = open_context(ctx)
    labs = context.settings.labs
    ack = ack_dir if ack_dir is not None else labs.folder(labs.ack_folder, context.settings.folder)
    done = import_file(context, file, dry_run, None if dry_run else ack)
    for row in done.get("recorded", []):
        message(
            f"  specimen {row['specimen']} (result {row['result']}, message "
            f"{row['message']}): {row['what']}: {row['says']}"
        )
    message(f"{file}: {done['summary']}" + (" (dry run: nothing written)" if dry_run else ""))


@handle_errors
def list_(
    ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", metavar="CODE", help="Only this client.")
    ] = None,
    start: FromOpt = None,
    end: LastOpt = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending, overdue (pending past its deadline), collected, no_show, "
            "refused, unable_to_provide, excused, cancelled or inconclusive.",
        ),
    ] = None,
    format: TableFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Screenings and their current results, with how each reads: each screening's
    number and its result's (the number `results show` and `results amend` take)."""
    from screening.services.results import listing

    form, context, file = opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    rows = listing(context, client, start, end, status)
    with delivered(file, "the list"):
        emit_table(rows, LIST_COLUMNS, form, empty="no screenings match")


@handle_errors
def pending(
    ctx: typer.Context,
    format: TableFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Screenings still waiting for a specimen, the one due first on top."""
    from screening.render.words import local_time
    from screening.services.results import pending as pending_rows

    form, context, file = opened(ctx, format, as_json, out)
    rows = pending_rows(context)
    if form == "text":  # the deadline with the site's zone; JSON and CSV keep the stored form
        rows = [{**row, "due_by": local_time(row["due_by"], context.settings.zone)} for row in rows]
    with delivered(file, "the list"):
        emit_table(rows, PENDING_COLUMNS, form, empty="nothing pending")


@handle_errors
def show(
    ctx: typer.Context,
    result: Annotated[
        str,
        typer.Argument(
            help="The result's number (the result column of `results list`), or its "
            "specimen id (e.g. SP-0193).",
        ),
    ],
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """One result: the collection, what it says now, and its history."""
    from screening.services.results import show as show_result

    form, context, file = opened(ctx, format, as_json, out)
    record = show_result(context, result)
    with delivered(file, "the result"):
        _print_result(record, form, context.settings.zone)


def _print_result(record: dict[str, Any], form: str, zone: Any) -> None:
    from screening.render.output import emit_json

    if form == "json":
        emit_json(record)
        return
    for line in _result_lines(record, zone):
        print(line)


def _result_lines(record: dict[str, Any], zone: Any) -> list[str]:
    """`results show` in the clinic's words, what needs attention marked (and coloured on
    a terminal)."""
    import sys

    from screening.render.words import attention, in_words, local_time, marked, styled, word

    current = record["current"]
    lines = [
        f"result {record['result']}: {record['code']}, {word(record['reason'])} screening of "
        f"{record['date']}",
        f"collected {local_time(record['collected_at'], zone)} by {record['collector']}; "
        f"{word(record['specimen'])} ({word(record['method'])}, panel {record['panel']})"
        + ("; observed" if record["observed"] else ""),
    ]
    if record.get("entered_late"):
        late = record["entered_late"]
        lines.append(f"entered late on {local_time(late['entered_at'], zone)}: {late['reason']}")
    # A result reads "pending" while an analyte awaits the lab or its report is preliminary.
    said = "awaiting the lab" if current["reading"] == "pending" else marked(current["reading"])
    reads = styled(said, attention(current["reading"]), sys.stdout)
    lines.append(
        f"reads: {reads}"
        + (f"; positive: {', '.join(current['positives'])}" if current["positives"] else "")
    )
    lines += [f"  {in_words(words)}" for words in current["says"]]
    if current["override_reason"]:
        lines.append(f"  override reason: {current['override_reason']}")
    lines += [f"  - {in_words(flag)}" for flag in current["flags"]]
    for number, version in enumerate([*record["history"], current], start=1):
        lines.append(
            f"version {number} (ledger entry {version['ledger_entry']}): "
            f"{word(version['reason'])}"
            + (f", {version['note']}" if version["note"] else "")
            + f": {word(version['reading'])}"
        )
    return lines


class ExportForm(StrEnum):
    fhir = "fhir"


@handle_errors
def export(
    ctx: typer.Context,
    code: CodeArg,
    recipient: Annotated[
        str,
        typer.Option(
            "--recipient",
            metavar="NAME",
            help="Who receives it, as the client's consent names them.",
        ),
    ],
    format: Annotated[
        ExportForm,
        typer.Option(
            "--format", case_sensitive=False, help="fhir: a FHIR R4 Bundle (JSON) of the results."
        ),
    ],
    consent: ConsentOpt = None,
    start: DisclosedFromOpt = None,
    end: ToOpt = None,
    out: OutOpt = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview", help="Show what would be sent, marked as a preview; disclose nothing."
        ),
    ] = False,
) -> None:
    """Send a client's results to a recipient their consent names: every screening in
    the period (misses too when the consent shares them) as a FHIR R4 Bundle, with the
    42 CFR Part 2 labels and notice; recorded as a disclosure (`audit disclosures`)."""
    from screening.cli.options import Held, new_file, target
    from screening.render.output import message
    from screening.services.disclosure import bundle_text, export_results

    if preview and out is not None:
        from screening.errors import BadInput

        raise BadInput(
            "a preview is shown on the terminal only, never written to a file that could be "
            "sent; drop --preview to make the export (recorded as a disclosure) with --out"
        )
    context = open_context(ctx)
    file = target(context, out)
    new_file(file, "the export")
    data = export_results(
        context,
        code,
        recipient,
        consent,
        start,
        end,
        preview,
        lambda bundle: Held(bundle_text(bundle), file, "the export"),
    )
    said = data["disclosure"]
    if preview:
        message("preview: nothing was disclosed or recorded; do not send it")
    else:
        message(
            f"disclosed to {said['recipient']} under consent {said['consent']} "
            f"({said['from']} to {said['to']}), recorded"
        )


def register(app: typer.Typer) -> None:
    results_app = typer.Typer(
        help="Record collections and results, misses and amendments.", no_args_is_help=True
    )
    results_app.command("record")(findings.record)
    screenings.register(results_app)
    results_app.command("amend")(findings.amend)
    results_app.command("import")(import_)
    results_app.command("list")(list_)
    results_app.command("pending")(pending)
    results_app.command("show")(show)
    results_app.command("export")(export)
    app.add_typer(results_app, name="results")
