"""`results no-show|refused|unable|excuse|reverse|cancel|for-cause`: a screening's
outcome when no specimen comes, its reversal, and screenings nobody drew."""

from __future__ import annotations

from typing import Annotated

import typer

from screening.cli.common import handle_errors, open_context

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
    from screening.render.words import word

    message(f"screening {done['screening']} of {done['code']} ({done['date']}): {word(status)}")


@handle_errors
def no_show(ctx: typer.Context, code: CodeArg, screening: ScreeningOpt = None) -> None:
    """The client did not come in for their screening."""
    _mark(ctx, code, "no_show", screening=screening)


@handle_errors
def refused(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="What the client said.")],
    screening: ScreeningOpt = None,
) -> None:
    """The client refused to give a specimen."""
    _mark(ctx, code, "refused", reason, screening=screening)


@handle_errors
def unable(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (optional).")] = None,
    screening: ScreeningOpt = None,
) -> None:
    """The client came but could not provide a specimen."""
    _mark(ctx, code, "unable_to_provide", reason, screening=screening)


@handle_errors
def excuse(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="medical, court, transport, clinic_error, bereavement, employment or other "
            "(any case; spaces or dashes for underscores).",
        ),
    ],
    approved_by: Annotated[str, typer.Option("--approved-by", help="Who approved it.")],
    screening: ScreeningOpt = None,
) -> None:
    """Excuse a screening, with a reason code and who approved it."""
    _mark(ctx, code, "excused", reason, approved_by, screening)


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
    from screening.render.words import word
    from screening.services.results import reverse as reverse_miss

    done = reverse_miss(open_context(ctx), screening, reason, approved_by)
    message(
        f"screening {done['screening']} of {done['code']} ({done['date']}): "
        f"{word(done['reversed'])} reversed, approved by {done['approved_by']}; "
        "a specimen collected before its deadline can now be entered late with "
        f"`screening results record {done['code']} --screening {done['screening']} "
        "--collected-at ... --reason ...`"
    )


@handle_errors
def cancel(
    ctx: typer.Context,
    code: CodeArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is cancelled.")],
    screening: ScreeningOpt = None,
) -> None:
    """Cancel a screening made in error (it stays on record, cancelled)."""
    _mark(ctx, code, "cancelled", reason, screening=screening)


@handle_errors
def for_cause(
    ctx: typer.Context,
    codes: Annotated[
        list[str], typer.Argument(help="The client's code, or several (all or none).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the test is asked for.")],
) -> None:
    """A screening nobody drew (kept apart from random ones in every statistic)."""
    from screening.render.output import message
    from screening.render.words import local_time
    from screening.services.results import for_cause as create_for_cause

    context = open_context(ctx)
    for done in create_for_cause(context, codes, reason):
        message(
            f"for-cause screening {done['screening']} for {done['code']}, "
            f"due by {local_time(done['due_by'], context.settings.zone)}"
        )


def register(results_app: typer.Typer) -> None:
    """Under `results`, in the order its `--help` lists them: after `record`."""
    results_app.command("no-show")(no_show)
    results_app.command("refused")(refused)
    results_app.command("unable")(unable)
    results_app.command("excuse")(excuse)
    results_app.command("reverse")(reverse)
    results_app.command("cancel")(cancel)
    results_app.command("for-cause")(for_cause)
