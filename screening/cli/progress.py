"""`timeline`, `report team`, `report reconcile`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.typed import typed_date

if TYPE_CHECKING:
    from screening.services.plumbing import Context, Output

report_app = typer.Typer(
    help="Reports for the treatment team and the daily reconciliation.", no_args_is_help=True
)

FormatOpt = Annotated[
    str, typer.Option("--format", help="text, json, csv or html (html: one self-contained page).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Write to this file (mode 0600) instead of the terminal."),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")]
TimelineToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="Last day, YYYY-MM-DD (default: today); a past day shows the record as it "
        "stood at the end of that day.",
    ),
]
FORMATS = ("text", "json", "csv", "html")


def destination(context: Context, out: Path | None) -> Output | None:
    """The --out file, checked before the report is gathered: never one of the clinic's
    own files (services/plumbing/outputs.py)."""
    from screening.services.plumbing import output

    return output(context.settings, context.database, out, "--out")


def deliver(text: str, out: Output | None, what: str) -> None:
    """Print, or write a file only its owner can read (it holds treatment records)."""
    import sys

    from screening.render.output import message

    if out is None:
        sys.stdout.write(text)
    else:
        message(out.write(text, what))


def _check_format(value: str) -> str:
    from screening.errors import BadInput

    if value not in FORMATS:
        raise BadInput(f"--format {value!r} is not one of {', '.join(FORMATS)}")
    return value


def color_wanted(out: Path | None) -> bool:
    import os
    import sys

    return out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


@handle_errors
def timeline(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The clinic's client code.")],
    start: FromOpt = None,
    end: TimelineToOpt = None,
    format: FormatOpt = "text",
    out: OutOpt = None,
) -> None:
    """One client's progress: measures, a calendar strip and every event, in order."""
    import json

    from screening.render import timeline as render
    from screening.services.progress import timeline as gather

    chosen = _check_format(format)
    context = open_context(ctx)
    target = destination(context, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = gather(context, code, start, end)
    if chosen == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif chosen == "csv":
        text = render.render_csv(data)
    elif chosen == "html":
        text = render.render_html(data)
    else:
        text = render.render_text(data, color_wanted(out))
    deliver(text, target, "the timeline")


def register(app: typer.Typer) -> None:
    app.command("timeline")(timeline)
    app.add_typer(report_app, name="report")


TEAM_COLUMNS = [
    ("code", "code"),
    ("name", "name"),
    ("phase", "ph"),
    ("last_screen", "last"),
    ("last_result", "result"),
    ("negative_run", "run"),
    ("negative_rate", "neg"),
    ("misses_30_days", "miss"),
    ("entered_late_30_days", "late"),
    ("flags", "flags"),
]
RECONCILE_COLUMNS = [
    ("date", "date"),
    ("draw", "draw"),
    ("selected", "sel"),
    ("other", "oth"),
    ("collected", "coll"),
    ("resulted", "res"),
    ("missed", "miss"),
    ("entered_late", "late"),
    ("excused", "exc"),
    ("pending", "pend"),
    ("overdue", "ovd"),
    ("excusals", "excusals"),
]


def _table(
    rows: list[dict],
    columns: list[tuple[str, str]],
    chosen: str,
    title: str,
    out: Output | None,
    page: tuple[str, str],
    alert: tuple[str, ...] = (),
) -> None:
    """The report in the chosen form; ``page`` is the site and the day every printed page
    of the HTML names."""
    import contextlib
    import io
    import json

    from screening.render.output import emit_csv, emit_rows

    if chosen == "json":
        deliver(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", out, "the report")
    elif chosen == "csv":
        buffer = io.StringIO()
        emit_csv(rows, columns, buffer)
        deliver(buffer.getvalue(), out, "the report")
    elif chosen == "html":
        from screening.render.timeline import render_table_html

        site, day = page
        deliver(render_table_html(title, rows, columns, site=site, day=day), out, "the report")
    elif out is None:  # to the terminal itself: coloured where it shows colour
        emit_rows(rows, columns, title=title, empty="nothing to report", alert=alert)
    else:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            emit_rows(rows, columns, title=title, empty="nothing to report", alert=alert)
        deliver(buffer.getvalue(), out, "the report")


@report_app.command("team")
@handle_errors
def team(
    ctx: typer.Context,
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="As of this day (default today): the record as it stood at the end of "
            "that day, as `timeline --to` shows it.",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="code, phase, run, misses (most in 30 days first), last or flags (most first).",
        ),
    ] = "code",
    format: FormatOpt = "text",
    out: OutOpt = None,
) -> None:
    """One row per active client for the team meeting: run and negative rate as the
    timeline shows them, misses, and flags for what needs a look."""
    from screening.services.progress import team as team_rows

    chosen = _check_format(format)
    context = open_context(ctx)
    target = destination(context, out)
    day = typed_date(context, day, "--date")
    rows = team_rows(context, day, sort)
    if chosen in ("text", "html"):
        from screening.render.timeline import team_for_reading

        rows = team_for_reading(rows)
    shown = str(day or context.today)
    # Every flag is something for the team to look at.
    title = f"Team report, {shown}"
    _table(rows, TEAM_COLUMNS, chosen, title, target, (context.site, shown), alert=("flags",))


@report_app.command("reconcile")
@handle_errors
def reconcile(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    format: FormatOpt = "text",
    out: OutOpt = None,
) -> None:
    """Per day: drawn, collected (and entered late), missed, excused (why, who approved),
    misses reversed, still pending or overdue."""
    from screening.services.progress import reconcile as reconcile_rows

    chosen = _check_format(format)
    context = open_context(ctx)
    target = destination(context, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    rows = reconcile_rows(context, start, end)
    page = (context.site, str(context.today))
    _table(rows, RECONCILE_COLUMNS, chosen, "Daily reconciliation", target, page)
