"""`results ...`: the group, its commands in the order `--help` lists them (from
findings.py and screenings.py too), a lab's results imported, and results read back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli import findings, screenings
from screening.cli.common import JsonOpt, handle_errors, open_context
from screening.cli.typed import typed_date

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
    from screening.render.words import plural

    verb = "would amend" if dry_run else "amended"
    message(
        f"{file}: {plural(done['rows'], 'row')}; {verb} {plural(done['results'], 'result')}"
        + (" (dry run: nothing written)" if dry_run else "")
    )


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

    context = open_context(ctx)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    rows = listing(context, client, start, end, status)
    emit_rows(rows, LIST_COLUMNS, as_json=as_json, empty="no screenings match")


@handle_errors
def pending(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Screenings still waiting for a specimen, the one due first on top."""
    from screening.render.output import emit_rows
    from screening.render.words import local_time
    from screening.services.results import pending as pending_rows

    context = open_context(ctx)
    rows = pending_rows(context)
    if not as_json:  # the deadline with the site's zone; JSON keeps the stored form
        rows = [{**row, "due_by": local_time(row["due_by"], context.settings.zone)} for row in rows]
    emit_rows(rows, PENDING_COLUMNS, as_json=as_json, empty="nothing pending")


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

    context = open_context(ctx)
    record = show_result(context, result)
    if as_json:
        emit_json(record)
        return
    for line in _result_lines(record, context.settings.zone):
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
    reads = styled(marked(current["reading"]), attention(current["reading"]), sys.stdout)
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
    app.add_typer(results_app, name="results")
