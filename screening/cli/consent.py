"""`consent ...`: a client's written consents to disclose (42 CFR §2.31), their
revocation, and the restriction a client may ask for (§2.26).

Only typer is imported at module top (STYLE §6): the lists of types, shares, purposes and
reasons are written out in the help (tests/test_consent.py keeps them the same as
core/disclosure.py's).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from screening.cli.common import handle_errors, open_context
from screening.cli.options import JsonOpt, OutOpt, TableFormat, TextJsonFormat, delivered, opened
from screening.cli.typed import typed_date

consent_app = typer.Typer(
    help="Record what a client consented to disclose, to whom and for what; revoke a "
    "consent; restrict a client's disclosures.",
    no_args_is_help=True,
)

CodeArg = Annotated[str, typer.Argument(help="The clinic's client code, e.g. C-104.")]
NumberArg = Annotated[
    int,
    typer.Argument(
        min=1, max=2**31 - 1, help="The consent's number (see `screening consent list`)."
    ),
]
NoteOpt = Annotated[
    str | None,
    typer.Option("--note", help="Why, in a few words (optional; kept, never in the ledger)."),
]

TYPE_HELP = (
    "What kind of consent the form is: named (to a person or organisation the client "
    "names, e.g. a parent or an employer), tpo (for treatment, payment and health care "
    "operations, §2.33), criminal_justice (to the court, probation or parole that "
    "referred the client, §2.35), proceedings (for use in a proceeding against the "
    "client, §2.31(d)) or court_order (a court's order under §2.64, recorded as such)."
)
PURPOSE_HELP = (
    "What the disclosure is for: treatment, payment, health_care_operations, monitoring "
    "(a court or probation following the client's progress), family_involvement, "
    "employment, client_request (the client asked for it), legal_proceeding or other (say "
    "what in --detail). tpo takes treatment, payment or health_care_operations; "
    "criminal_justice takes monitoring; proceedings and court_order take "
    "legal_proceeding."
)
SHARE_HELP = (
    "What may be shared, comma-separated: attendance (attendance at screenings), results "
    "(screening results), missed (missed screenings), progress (a summary of progress in "
    "treatment)."
)
REASON_HELP = (
    "Why: client_request (the client revoked it), expiry_event (the event the form names "
    "as its end happened), entered_in_error (the consent was recorded by mistake) or "
    "other (say what in --note)."
)


@consent_app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    code: CodeArg,
    type_: Annotated[str, typer.Option("--type", help=TYPE_HELP)],
    purpose: Annotated[str, typer.Option("--purpose", help=PURPOSE_HELP)],
    shares: Annotated[str, typer.Option("--share", metavar="LIST", help=SHARE_HELP)],
    expires: Annotated[
        str,
        typer.Option(
            "--expires",
            metavar="DATE|end-of-treatment",
            help="When the consent ends: a date, or end-of-treatment (at discharge).",
        ),
    ],
    signed: Annotated[
        str, typer.Option("--signed", metavar="DATE", help="The day the form was signed.")
    ],
    signed_by: Annotated[
        str,
        typer.Option(
            "--signed-by",
            metavar="client|NAME",
            help="Who signed: client, or the name of the representative who signed for "
            "the client (a parent, a guardian; for a court order, the court).",
        ),
    ],
    recipient: Annotated[
        str | None,
        typer.Option(
            "--recipient",
            metavar="NAME",
            help="Who may receive it, as the form names them (a person or an "
            "organisation, e.g. 'County Drug Court').",
        ),
    ] = None,
    recipient_class: Annotated[
        str | None,
        typer.Option(
            "--recipient-class",
            metavar="TEXT",
            help="Instead of --recipient, where the form names a class of recipients "
            "(e.g. 'my treating providers'; tpo consents).",
        ),
    ] = None,
    detail: Annotated[
        str | None,
        typer.Option("--detail", help="The purpose in the form's own words (optional)."),
    ] = None,
    how_to_revoke: Annotated[
        str | None,
        typer.Option(
            "--how-to-revoke",
            metavar="TEXT",
            help="How the client may revoke it, as the form says (e.g. 'in writing to the "
            "program director'); every form but a court order states it.",
        ),
    ] = None,
    revocable_from: Annotated[
        str | None,
        typer.Option(
            "--revocable-from",
            metavar="DATE",
            help="criminal_justice only, and required there: the first day the client may "
            "revoke it (§2.35(d): the form says when it may be revoked).",
        ),
    ] = None,
    covers_from: Annotated[
        str | None,
        typer.Option(
            "--covers-from",
            metavar="DATE",
            help="The first day of information it covers (default: the client's admission).",
        ),
    ] = None,
) -> None:
    """Record a client's signed consent to disclose: every element of the form (§2.31)
    is asked for, and a form that lacks one is refused. Taken by you (or --actor)."""
    from screening.render.output import message
    from screening.services.disclosure import add_consent

    context = open_context(ctx)
    added = add_consent(
        context,
        code,
        type=type_,
        recipient=recipient,
        recipient_class=recipient_class,
        purpose=purpose,
        detail=detail,
        shares=shares,
        expires=typed_date(context, expires, "--expires"),
        signed=typed_date(context, signed, "--signed"),
        signed_by=signed_by,
        how_to_revoke=how_to_revoke,
        revocable_from=typed_date(context, revocable_from, "--revocable-from"),
        covers_from=typed_date(context, covers_from, "--covers-from"),
    )
    message(f"consent {added['number']} of {added['client']} recorded: {_summary(added)}")


def _summary(consent: dict[str, Any]) -> str:
    from screening.render.words import word

    shares = ", ".join(consent["shares"])
    return (
        f"{word(consent['type'])} consent to {consent['recipient']} for "
        f"{word(consent['purpose'])}; shares {shares}; expires {consent['expires']}"
    )


LIST_COLUMNS = [
    ("number", "no."),
    ("client", "client"),
    ("type", "type"),
    ("recipient", "recipient"),
    ("purpose", "purpose"),
    ("shares", "shares"),
    ("expires", "expires"),
    ("status", "status"),
]


@consent_app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    code: Annotated[
        str | None,
        typer.Argument(help="Only this client's consents (default: the whole clinic's)."),
    ] = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="Revoked and expired consents too, not only those in force."),
    ] = False,
    format: TableFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """List consents in force (with --all, every consent), with their numbers."""
    from screening.cli.options import emit_table
    from screening.services.disclosure import list_consents

    form, context, file = opened(ctx, format, as_json, out)
    rows = list_consents(context, code, every)
    empty = "no consents" + ("" if every else " in force (--all lists revoked and expired ones)")
    with delivered(file, "the list of consents"):
        emit_table(rows, LIST_COLUMNS, form, empty=empty)


SHOW_FIELDS = [
    ("number", "consent"),
    ("client", "client"),
    ("status", "status"),
    ("type", "type"),
    ("recipient", "recipient"),
    ("purpose", "purpose"),
    ("detail", "purpose as written"),
    ("shares", "may share"),
    ("covers_from", "covers from"),
    ("expires", "expires"),
    ("signed_on", "signed on"),
    ("signed_by", "signed by"),
    ("how_to_revoke", "how to revoke"),
    ("revocable_from", "revocable from"),
    ("history", "history"),
    ("uid", "uid"),
]


@consent_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    number: NumberArg,
    format: TextJsonFormat = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
) -> None:
    """Show one consent with its history: when it was taken and by whom, and its
    revocation."""
    from screening.render.output import emit_record
    from screening.services.disclosure import show_consent

    form, context, file = opened(ctx, format, as_json, out)
    record = show_consent(context, number)
    if form != "json":
        record = {
            **record,
            "recipient": record["recipient"]
            + (" (a class of recipients)" if record.get("recipient_class") else ""),
            "history": [_event_line(event) for event in record["history"]],
        }
    with delivered(file, "the consent"):
        emit_record(record, SHOW_FIELDS, as_json=form == "json")


def _event_line(event: dict[str, Any]) -> str:
    from screening.render.words import word

    line = f"{event['at']} {event['event']}"
    if event.get("by"):
        line += f" by {event['by']}"
    if event.get("reason"):
        line += f" ({word(event['reason'])})"
    if event.get("note"):
        line += f": {event['note']}"
    return line


@consent_app.command("revoke")
@handle_errors
def revoke(
    ctx: typer.Context,
    number: NumberArg,
    reason: Annotated[str, typer.Option("--reason", help=REASON_HELP)],
    note: NoteOpt = None,
) -> None:
    """Revoke a consent, at once: nothing is disclosed under it from now on. A
    criminal-justice consent may be revoked only from the day its form says."""
    from screening.render.output import message
    from screening.services.disclosure import revoke_consent

    done = revoke_consent(open_context(ctx), number, reason, note)
    message(
        f"consent {done['number']} of {done['client']} revoked: nothing more is disclosed under it"
    )


@consent_app.command("restrict")
@handle_errors
def restrict(ctx: typer.Context, code: CodeArg, note: NoteOpt = None) -> None:
    """Restrict a client's disclosures (§2.26): no disclosure under any consent until it
    is lifted, but those the law requires."""
    from screening.render.output import message
    from screening.services.disclosure import restrict_client

    done = restrict_client(open_context(ctx), code, note)
    message(
        f"{done['client']} is restricted: nothing is disclosed under a consent until "
        f"`screening consent lift {done['client']}`"
    )


@consent_app.command("lift")
@handle_errors
def lift(ctx: typer.Context, code: CodeArg, note: NoteOpt = None) -> None:
    """Lift a client's restriction: their consents in force apply again."""
    from screening.render.output import message
    from screening.services.disclosure import lift_restriction

    done = lift_restriction(open_context(ctx), code, note)
    message(f"the restriction of {done['client']} is lifted: their consents in force apply again")


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
