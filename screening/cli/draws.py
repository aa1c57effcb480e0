"""`select`, `today`, `policy show`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.options import (
    JsonOpt,
    OutOpt,
    ReportFormat,
    TextJsonFormat,
    chosen,
    delivered,
    opened,
    target,
)
from screening.cli.typed import typed_date

if TYPE_CHECKING:
    from screening.services.draws import DrawView
    from screening.services.plumbing import Output

policy_app = typer.Typer(
    help="The selection policy: what the config makes the draw do.", no_args_is_help=True
)


def _draw_columns() -> list[tuple[str, str]]:
    from screening.services.draws import LIST_COLUMNS

    return [*LIST_COLUMNS, ("status", "status")]


def _summary(view: DrawView, zone: Any) -> str:
    from screening.render.words import LEFT_OUT, SELECTED_AS, local_time, times, word

    why: dict[str, int] = {}
    for row in view.rows:
        why[row["why"]] = why.get(row["why"], 0) + 1
    parts = [f"{view.day} at {view.site}: {len(view.rows)} selected"]
    if view.rows:
        counted = (f"{n} {SELECTED_AS.get(w) or word(w)}" for w, n in sorted(why.items()))
        parts[0] += " (" + ", ".join(counted) + ")"
    parts.append(f"{view.pool_size} in the pool")
    if view.left_out:
        parts.append(
            "left out: "
            + ", ".join(
                f"{n} {LEFT_OUT.get(r) or word(r)}" for r, n in sorted(view.left_out.items())
            )
        )
    text = "; ".join(parts)
    if view.closed:
        text = f"the clinic is closed on {view.day}: nobody is drawn. " + text
    if view.late:
        text += "; drawn late"
    if not view.created:
        text += f"; drawn at {local_time(view.drawn_at, zone)}"
    if view.amendments:
        text += f"; amended {times(view.amendments)}"
    if view.beacon == "missing":
        text += "; drawn WITHOUT its beacon (flagged in audits)"
    elif view.beacon is not None:
        kind, _, number = view.beacon.rpartition(":")
        text += f"; decided with {kind} round {number}"
    return text


def _payload(view: DrawView) -> dict[str, object]:
    return {
        "site": view.site,
        "date": view.day.isoformat(),
        "drawn_at": view.drawn_at.isoformat(),
        "late": view.late,
        "amendments": view.amendments,
        "closed": view.closed,
        "beacon": view.beacon,
        "pool": view.pool_size,
        "left_out": view.left_out,
        "selected": view.rows,
    }


def _for_reading(view: DrawView, zone: Any) -> list[dict[str, Any]]:
    """The list's rows for the screen: "collect by" in the site's time with its zone
    (the day's own date left out). CSV and JSON keep the stored values."""
    from screening.render.words import local_time

    return [{**row, "collect_by": local_time(row["due_by"], zone, view.day)} for row in view.rows]


def _emit(view: DrawView, zone: Any, form: str) -> None:
    """The list in ``form`` on stdout: text, json, csv, or html (the front desk's sheet)."""
    import sys

    from screening.render.output import emit_csv, emit_json, emit_rows, message

    if form == "csv":
        emit_csv(view.rows, _draw_columns(), sys.stdout)
        message(_summary(view, zone))
        return
    if form == "html":
        from screening.render.front_desk import front_desk_html

        sys.stdout.write(front_desk_html(view.site, view.day, view.rows, closed=view.closed))
        return
    if form == "json":
        emit_json(_payload(view))
        return
    emit_rows(
        _for_reading(view, zone),
        _draw_columns(),
        title=f"Screening list for {view.day}",
        empty="nobody is selected",
    )
    message(_summary(view, zone))


def _write(
    view: DrawView, zone: object, file: Output, form: str, how: str, amend: bool, late: bool
) -> None:
    """The list in ``form`` written to ``file``. The draw is in the ledger by now: a
    failed write says so, and how to get the file without drawing (or amending) again.
    ``how``: the options that name the file, as typed (--csv FILE, or --out FILE)."""
    import contextlib
    import io

    from screening.errors import ScreeningError
    from screening.render.output import message

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _emit(view, zone, form)
    what = "the CSV" if form == "csv" else "the list"
    try:
        message(file.write(buffer.getvalue(), what))
    except ScreeningError as problem:
        if how != "--csv FILE":  # not shown on the terminal yet: never a draw unseen
            _emit(view, zone, "text")
        recorded = "and its amendment are" if amend and view.created else "is"
        if late:  # shown again, not drawn again, by the same command
            again = f"`screening select --late {view.day} --reason .. {how}`"
        else:
            again = f"`screening select {how}`" + (" (without --amend)" if amend else "")
        raise type(problem)(
            f"the draw for {view.day} {recorded} recorded, but {problem.message}; run "
            f"{again} to write the list"
        ) from None


@handle_errors
def select(
    ctx: typer.Context,
    amend: Annotated[
        bool,
        typer.Option(
            "--amend",
            help="Re-evaluate today's draw after a late pool correction "
            "(needs --reason); nobody already selected is unselected.",
        ),
    ] = False,
    late: Annotated[
        str | None,
        typer.Option(
            "--late",
            metavar="DATE",
            help="Draw a past day that was missed, YYYY-MM-DD (needs --reason); flagged in audits.",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, with --amend or --late.")
    ] = None,
    format: ReportFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Also write the list to FILE as CSV (mode 0600); older spelling of "
            "--format csv --out FILE, which does not print the table.",
        ),
    ] = None,
) -> None:
    """Draw today's clients for screening (once a day; run again, it shows the same draw)."""
    from screening.errors import BadInput
    from screening.render.output import message
    from screening.services.draws import select_day

    form = chosen(format, as_json)
    if csv_file is not None and (out is not None or form != "text"):
        raise BadInput("--csv FILE is short for --format csv --out FILE; give one or the other")
    context = open_context(ctx)
    # Checked before the draw: a refused file must not leave a draw behind unseen.
    if csv_file is not None:
        file, how, written = target(context, csv_file, "--csv"), "--csv FILE", "csv"
    else:
        file, how, written = target(context, out), f"--format {form} --out FILE", form
    late = typed_date(context, late, "--late")
    view = select_day(context, amend=amend, late=late, reason=reason)
    if view.unchanged:
        message(
            f"nothing in the pool of {view.day} changed since it was last drawn or amended: "
            "no amendment recorded; the draw stands as shown"
        )
    elif not view.created and not amend:
        from screening.render.words import local_time

        # Run again (or --late for a day already drawn): shown, never drawn twice.
        message(
            f"{view.day} was already drawn at {local_time(view.drawn_at, context.settings.zone)}: "
            "nothing written; the draw stands as shown"
            + ("" if late is None else " (the --reason given is not recorded)")
        )
    if view.created and view.beacon is None and context.settings.beacon.enabled:
        # A beacon configured today governs from tomorrow (services/draws/beacon.py).
        message(
            f"no beacon decided the draw of {view.day}: [beacon] in the config decides the "
            "days that begin after it is recorded in the policy, by the first command that "
            "writes (the daily job's upkeep does within minutes)"
        )
    zone = context.settings.zone
    if file is None or csv_file is not None:
        _emit(view, zone, form)
    if file is not None:
        _write(view, zone, file, written, how, amend, late is not None)


@handle_errors
def today(
    ctx: typer.Context,
    format: ReportFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Today's list: who was drawn, what is pending, what is done (--format html: the
    front desk's printable sheet, with boxes for the collector's initials and the time)."""
    from screening.render.output import emit_csv, emit_json, message
    from screening.services.draws import today as todays_draw

    form, context, file = opened(ctx, format, as_json, out)
    view = todays_draw(context)
    if view is None:  # no sheet and no table for a day not drawn: JSON says null, CSV no rows
        if form in ("json", "csv"):
            with delivered(file, "the list"):
                if form == "json":
                    emit_json(None)
                else:
                    import sys

                    emit_csv([], _draw_columns(), sys.stdout)
        message(f"no draw yet for {context.today}; run `screening select`")
        return
    with delivered(file, "the list"):
        _emit(view, context.settings.zone, form)
    if form in ("text", "html"):
        from screening.render.output import attention

        done = len(view.rows) - view.pending - view.overdue
        overdue = f", {view.overdue} overdue" if view.overdue else ""
        summary = f"{view.pending} pending{overdue}, {done} done"
        if view.overdue:
            attention(summary)
        else:
            message(summary)


@policy_app.command("show")
@handle_errors
def policy_show(
    ctx: typer.Context,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Each phase and track's daily probability and what it means over a week and a month."""
    from screening.services.draws import describe

    form, context, file = opened(ctx, format, as_json, out)
    description = describe(context)
    with delivered(file, "the policy"):
        _print_policy(description, form)


def _print_policy(description: dict, form: str) -> None:
    from screening.render.output import emit_json, emit_rows, message, warning

    if form == "json":
        emit_json(description)
        return
    columns = [
        ("phase", "phase"),
        ("track", "track"),
        ("days", "days"),
        ("p", "daily p"),
        ("per_week", "a week"),
        ("per_30_days", "in 30 days"),
        ("max_gap", "max gap"),
    ]
    if any(row["min_gap"] for row in description["rows"]):
        columns.append(("min_gap", "min gap"))
    emit_rows(description["rows"], columns, title="Selection policy (tests expected per client)")
    message(description["summary"])
    for text in description["warnings"]:
        warning(text)


@policy_app.command("simulate")
@handle_errors
def policy_simulate(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", help="Days to simulate.")] = 365,
    runs: Annotated[
        int, typer.Option("--runs", help="Independent runs, each with a fresh key.")
    ] = 20,
    clients: Annotated[
        int, typer.Option("--clients", help="Synthetic clients, spread over every phase and track.")
    ] = 60,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Simulate the configured policy: tests a month, longest gaps, repeats, weekday cover."""
    from screening.services.draws import simulate

    form, context, file = opened(ctx, format, as_json, out)
    result = simulate(context, days, runs, clients)
    with delivered(file, "the simulation"):
        _print_simulation(result, form, days, runs, clients)


def _print_simulation(result: dict, form: str, days: int, runs: int, clients: int) -> None:
    from screening.render.output import emit_json, emit_rows, message
    from screening.render.words import plural

    if form == "json":
        emit_json(result)
        return
    emit_rows(
        result["rows"],
        [
            ("phase", "phase"),
            ("track", "track"),
            ("per_month_mean", "a month"),
            ("per_month_p5", "5th pct"),
            ("per_month_p95", "95th pct"),
            ("longest_gap_days", "longest gap"),
            ("three_in_nine_months", "3+ in 9 mo"),
        ],
        title=f"Policy simulated: {plural(days, 'day')}, {plural(runs, 'run')}, "
        f"{plural(clients, 'client')}",
    )
    shares = ", ".join(f"{day} {share:.0%}" for day, share in result["weekday_share"].items())
    message(f"share of selections by weekday: {shares}")
    message(
        f"busiest day: {plural(result['busiest_day'], 'screening')} for {plural(clients, 'client')}"
    )


def register(app: typer.Typer) -> None:
    app.command("select")(select)
    app.command("today")(today)
    app.add_typer(policy_app, name="policy")
