"""`clients ...` and `close`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.options import (
    JsonOpt,
    OutOpt,
    TableFormat,
    TextJsonFormat,
    delivered,
    emit_table,
    opened,
)
from screening.cli.typed import typed_date, typed_list

clients_app = typer.Typer(
    help="Enrol clients, change them, put them on hold, discharge them.", no_args_is_help=True
)

CodeArg = Annotated[str, typer.Argument(help="The clinic's client code, e.g. C-104.")]
LIST_COLUMNS = [
    ("code", "code"),
    ("name", "name"),
    ("track", "track"),
    ("phase", "phase"),
    ("status", "status"),
    ("admitted_on", "admitted"),
    ("discharged_on", "discharged"),
]
SHOW_FIELDS = [
    ("code", "code"),
    ("name", "name"),
    ("status", "status"),
    ("track", "track"),
    ("phase", "phase"),
    ("admitted_on", "admitted"),
    ("discharged_on", "discharged"),
    ("discharge_reason", "discharge reason"),
    ("medications", "medications"),
    ("holds", "holds"),
    ("uid", "uid"),
]


@clients_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    code: CodeArg,
    track: Annotated[str, typer.Option("--track", help="Track (meeting days), from the config.")],
    phase: Annotated[str, typer.Option("--phase", help="Phase of treatment, from the config.")],
    name: Annotated[
        str | None, typer.Option("--name", help="The client's name (optional).")
    ] = None,
    admitted: Annotated[
        str | None,
        typer.Option(
            "--admitted", metavar="DATE", help="Admission date, YYYY-MM-DD (default: today)."
        ),
    ] = None,
    meds: Annotated[
        str | None,
        typer.Option(
            "--meds",
            help="Prescribed medications that explain expected positives, "
            "comma-separated, generic or brand names (e.g. buprenorphine or Suboxone; "
            "stored by the generic name).",
        ),
    ] = None,
) -> None:
    """Enrol one client."""
    from screening.render.output import message
    from screening.services.clients import add as add_client

    context = open_context(ctx)
    admitted = typed_date(context, admitted, "--admitted")
    added = add_client(context, code, track, phase, name, admitted, typed_list(meds))
    message(
        f"enrolled {added['code']}: track {added['track']}, phase {added['phase']}, "
        f"admitted {added['admitted_on']}"
    )
    _say_renamed(added["renamed"])


def _say_renamed(renamed: list[tuple[str, str]]) -> None:
    from screening.render.output import message

    for given, generic in renamed:
        message(f"medication {given} is stored as {generic} (its generic name)")


@clients_app.command("import")
@handle_errors
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="CSV with the header code,name,track,phase,admitted_on,medications."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and write nothing.")
    ] = False,
) -> None:
    """Enrol every client in a CSV file, or none if any row is bad."""
    from screening.render.output import message
    from screening.render.words import plural
    from screening.services.clients import import_clients

    result = import_clients(open_context(ctx), file, dry_run)
    if result.dry_run:
        rows = "the 1 row is" if result.enrolled == 1 else f"all {result.enrolled} rows are"
        message(f"{file}: {rows} valid; nothing written (dry run)")
    else:
        message(f"enrolled {plural(result.enrolled, 'client')} from {file}")
    _say_renamed(list(result.renamed))


@clients_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="active or discharged.")] = None,
    track: Annotated[str | None, typer.Option("--track", help="Only this track.")] = None,
    format: TableFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """List clients."""
    from screening.render.output import warning
    from screening.services.clients import listing as list_clients

    form, context, file = opened(ctx, format, as_json, out)
    rows = list_clients(context, status, track)
    with delivered(file, "the list"):
        emit_table(rows, LIST_COLUMNS, form, empty="no clients match")
    for row in rows:
        for problem in row["medication_problems"]:
            warning(problem)


@clients_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    code: CodeArg,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Show one client, with holds and medications."""
    from screening.render.output import emit_record, warning
    from screening.services.clients import show as show_client

    form, context, file = opened(ctx, format, as_json, out)
    record = show_client(context, code)
    for problem in record["medication_problems"]:
        warning(problem)
    if form != "json":
        record = {
            **record,
            "holds": [_hold_line(h) for h in record["holds"]] or ["none"],
        }
    with delivered(file, "the client's record"):
        emit_record(record, SHOW_FIELDS, as_json=form == "json")


def _hold_line(hold: dict[str, Any]) -> str:
    line = f"hold {hold['id']}: {hold['from']} to {hold['to']} ({hold['reason']})"
    if "withdrawn" in hold:
        return f"{line}; withdrawn ({hold['withdrawn']})"
    if "ended_on" in hold:
        return f"{line}; ended early, last day {hold['ended_on']} ({hold['ended_because']})"
    return line


@clients_app.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    code: CodeArg,
    phase: Annotated[str | None, typer.Option("--phase", help="New phase.")] = None,
    track: Annotated[str | None, typer.Option("--track", help="New track.")] = None,
    meds: Annotated[
        str | None,
        typer.Option(
            "--meds",
            help='The full new medication list, comma-separated ("" for none); generic or '
            "brand names, stored by the generic name.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Corrected name.")] = None,
) -> None:
    """Change a client's phase, track, medications or name."""
    from screening.render.output import message
    from screening.services.clients import update as update_client

    result = update_client(open_context(ctx), code, phase, track, typed_list(meds), name)
    message(f"updated {result['code']}: {', '.join(result['changed'])}")
    _say_renamed(result["renamed"])


@clients_app.command("hold")
@handle_errors
def hold(
    ctx: typer.Context,
    code: CodeArg,
    start: Annotated[
        str, typer.Option("--from", metavar="DATE", help="First day of the hold, YYYY-MM-DD.")
    ],
    end: Annotated[
        str, typer.Option("--to", metavar="DATE", help="Last day of the hold, YYYY-MM-DD.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why: leave, hospital, travel...")],
) -> None:
    """Take a client out of the draw for some days."""
    from screening.render.output import message
    from screening.services.clients import hold as hold_client

    context = open_context(ctx)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    result = hold_client(context, code, start, end, reason)
    message(
        f"{result['code']} is on hold from {result['from']} to {result['to']} (hold {result['id']})"
    )
    for excused in result["excused"]:
        message(
            f"screening {excused['screening']} of {result['code']} ({excused['date']}) "
            "excused: on hold"
        )


HoldOpt = Annotated[
    int,
    typer.Option(
        "--hold", min=1, max=2**31 - 1, help="The hold's number (see `clients show CODE`)."
    ),
]


def _hold_changed(result: dict[str, Any]) -> None:
    from screening.render.output import message

    if result["withdrawn"]:
        message(f"hold {result['id']} of {result['code']} withdrawn")
    else:
        message(f"hold {result['id']} of {result['code']} now ends on {result['ended_on']}")
    if result["amend_today"]:
        message(
            "today's draw was made with the hold; to re-evaluate today's pool: "
            "screening select --amend --reason ..."
        )


@clients_app.command("hold-end")
@handle_errors
def hold_end(
    ctx: typer.Context,
    code: CodeArg,
    hold: HoldOpt,
    last: Annotated[
        str, typer.Option("--to", metavar="DATE", help="The hold's new last day, YYYY-MM-DD.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it ends early.")],
) -> None:
    """End a hold early: the client is back in the draw after --to (draws already made
    stand)."""
    from screening.services.clients import hold_end as end_hold

    context = open_context(ctx)
    _hold_changed(end_hold(context, code, hold, typed_date(context, last, "--to"), reason))


@clients_app.command("hold-withdraw")
@handle_errors
def hold_withdraw(
    ctx: typer.Context,
    code: CodeArg,
    hold: HoldOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn.")],
) -> None:
    """Withdraw a hold entered in error: it covers no day from now on (draws already
    made stand)."""
    from screening.services.clients import hold_withdraw as withdraw_hold

    _hold_changed(withdraw_hold(open_context(ctx), code, hold, reason))


@clients_app.command("discharge")
@handle_errors
def discharge(
    ctx: typer.Context,
    code: CodeArg,
    on: Annotated[
        str | None,
        typer.Option("--on", metavar="DATE", help="Discharge date, YYYY-MM-DD (default: today)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
) -> None:
    """Discharge a client: no further draws."""
    from screening.render.output import message
    from screening.services.clients import discharge as discharge_client

    context = open_context(ctx)
    result = discharge_client(context, code, typed_date(context, on, "--on"), reason)
    message(f"discharged {result['code']} on {result['discharged_on']}")
    for screening in result["cancelled"]:
        message(f"screening {screening} cancelled: a discharged client owes no specimen")


@clients_app.command("readmit")
@handle_errors
def readmit(
    ctx: typer.Context,
    code: CodeArg,
    on: Annotated[
        str | None,
        typer.Option(
            "--on", metavar="DATE", help="Re-admission date, YYYY-MM-DD (default: today)."
        ),
    ] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="Phase on return.")] = None,
    track: Annotated[str | None, typer.Option("--track", help="Track on return.")] = None,
) -> None:
    """Re-admit a discharged client: the same record, a new stay."""
    from screening.render.output import message
    from screening.services.clients import readmit as readmit_client

    context = open_context(ctx)
    result = readmit_client(context, code, typed_date(context, on, "--on"), phase, track)
    message(f"re-admitted {result['code']} on {result['admitted_on']}, phase {result['phase']}")


@handle_errors
def close(
    ctx: typer.Context,
    day: Annotated[str, typer.Argument(metavar="DATE", help="The day closed, YYYY-MM-DD.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why: holiday, weather... (or why it is withdrawn)")
    ],
    withdraw: Annotated[
        bool,
        typer.Option(
            "--withdraw", help="Withdraw the closure of DATE: the clinic opens after all."
        ),
    ] = False,
) -> None:
    """Record that the clinic is closed on DATE: no draw that day (or, with --withdraw,
    that it opens after all)."""
    from screening.render.output import message
    from screening.services.draws import close as record_closure
    from screening.services.draws import withdraw as withdraw_closure

    context = open_context(ctx)
    day = typed_date(context, day, "DATE")
    if withdraw:
        result = withdraw_closure(context, day, reason)
        message(f"the closure of {result['date']} is withdrawn")
        if result["amend_today"]:
            message(
                "today's draw was made as closed; to draw today's pool: "
                "screening select --amend --reason ..."
            )
        return
    result = record_closure(context, day, reason)
    message(f"closed on {result['date']}")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app, name="clients")
    app.command("close")(close)
