"""`timeline`, `report team`, `report reconcile`, `report progress`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from screening.cli.common import handle_errors
from screening.cli.options import (
    ConsentOpt,
    DisclosedFromOpt,
    FromOpt,
    JsonOpt,
    OutOpt,
    PageFormat,
    ReportFormat,
    ToOpt,
    deliver,
    opened,
)
from screening.cli.typed import typed_date

if TYPE_CHECKING:
    from screening.services.plumbing import Output

report_app = typer.Typer(
    help="Reports for the treatment team and the daily reconciliation.", no_args_is_help=True
)

TimelineToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="DATE",
        help="Last day, YYYY-MM-DD (default: today); a past day shows the record as it "
        "stood at the end of that day.",
    ),
]


def color_wanted(out: Path | None) -> bool:
    """Colour for the terminal only, as every text output decides it (NO_COLOR, FORCE_COLOR)."""
    import sys

    from screening.render.words import colour_on

    return out is None and colour_on(sys.stdout)


@handle_errors
def timeline(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The clinic's client code.")],
    start: FromOpt = None,
    end: TimelineToOpt = None,
    format: ReportFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """One client's progress: measures, a calendar strip and every event, in order."""
    import json

    from screening.render import timeline as render
    from screening.services.progress import timeline as gather

    form, context, file = opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = gather(context, code, start, end)
    if form == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif form == "csv":
        text = render.render_csv(data)
    elif form == "html":
        text = render.render_html(data)
    else:
        text = render.render_text(data, color_wanted(out))
    deliver(text, file, "the timeline")


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
    ("excusals", "notes"),
]


def _table(
    rows: list[dict],
    columns: list[tuple[str, str]],
    form: str,
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

    if form == "json":
        deliver(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", out, "the report")
    elif form == "csv":
        buffer = io.StringIO()
        emit_csv(rows, columns, buffer)
        deliver(buffer.getvalue(), out, "the report")
    elif form == "html":
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
            metavar="DATE",
            help="As of this day, YYYY-MM-DD (default today): the record as it stood at the end of "
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
    format: ReportFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """One row per active client for the team meeting: run and negative rate as the
    timeline shows them, misses, and flags for what needs a look."""
    from screening.services.progress import team as team_rows

    form, context, file = opened(ctx, format, as_json, out)
    day = typed_date(context, day, "--date")
    rows = team_rows(context, day, sort)
    if form in ("text", "html"):
        from screening.render.timeline import team_for_reading

        rows = team_for_reading(rows)
    shown = str(day or context.today)
    # Every flag is something for the team to look at.
    title = f"Team report, {shown}"
    _table(rows, TEAM_COLUMNS, form, title, file, (context.site, shown), alert=("flags",))


@report_app.command("reconcile")
@handle_errors
def reconcile(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    format: ReportFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Per day: drawn, collected (and entered late), missed, excused (why, who approved),
    misses reversed, still pending or overdue."""
    from screening.services.progress import reconcile as reconcile_rows

    form, context, file = opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    rows = reconcile_rows(context, start, end)
    page = (context.site, str(context.today))
    _table(rows, RECONCILE_COLUMNS, form, "Daily reconciliation", file, page)


@report_app.command("progress")
@handle_errors
def progress(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The clinic's client code.")],
    recipient: Annotated[
        str,
        typer.Option(
            "--recipient",
            metavar="NAME",
            help="Who the letter is for, as the consent names them.",
        ),
    ],
    consent: ConsentOpt = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            "--purpose", metavar="P", help="What it is for (default: the consent's purpose)."
        ),
    ] = None,
    start: DisclosedFromOpt = None,
    end: ToOpt = None,
    format: PageFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Show the letter marked PREVIEW, not for release; records no disclosure.",
        ),
    ] = False,
) -> None:
    """A letter on one client's progress for a named recipient: only what their consent
    shares, with the 42 CFR 2.32 notice; each one made is recorded as a disclosure."""
    from screening.cli.options import Held, new_file
    from screening.render.letter import render
    from screening.services.disclosure import progress_letter

    if preview and out is not None:
        from screening.errors import BadInput

        raise BadInput(
            "a preview is shown on the terminal only, never written to a file that could be "
            "sent; drop --preview to make the letter (recorded as a disclosure) with --out"
        )
    form, context, file = opened(ctx, format, as_json, out)
    new_file(file, "the letter")
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")

    def emit(data: dict[str, Any]) -> Held:
        # Inside the gate's transaction: a letter that cannot be written is not disclosed,
        # and it is put in place only once its disclosure is recorded.
        return Held(render(data, form), file, "the letter")

    progress_letter(context, code, recipient, consent, purpose, start, end, form, preview, emit)
