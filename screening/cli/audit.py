"""`audit verify`, `checkpoint`, `reveal`, `explain`, `receipt`, `fairness`, `export`,
`access` and `disclosures`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from screening.cli import audit_text, options
from screening.cli.common import handle_errors, open_context
from screening.cli.typed import typed_date

audit_app = typer.Typer(
    help="Prove the record is intact and the draws were fair.", no_args_is_help=True
)


@audit_app.command("verify")
@handle_errors
def verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="SEQ:HASH from an earlier `audit checkpoint`, or a checkpoint file kept "
            "elsewhere (checked with the witness key).",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            help="Only this site of a network: every entry's hash and link, but only this "
            "site's entries replayed and its rows compared (docs/ledger-format.md).",
        ),
    ] = None,
    write_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--write-checkpoint",
            help="If the ledger verifies, write FILE (and its state file beside it) for a "
            "later `--from-checkpoint FILE` to go on from; FILE is new or an earlier "
            "checkpoint.",
            dir_okay=False,
        ),
    ] = None,
    from_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--from-checkpoint",
            help="Verify only the entries after the checkpoint an earlier verify wrote, and "
            "the rows they made or changed (a full verify stays the auditor's check).",
            dir_okay=False,
        ),
    ] = None,
    format: options.TextJsonFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Recompute the ledger's hashes and links and check every record against it."""
    from screening.render.output import error, warning
    from screening.services.audit import verify as run_verify

    as_json = options.chosen(format, as_json) == "json"
    # The zone the database keeps is what verify checks, not the config's: a site_zones
    # row edited behind the program's back is named by verify, not taken for a config
    # that needs editing.
    context = open_context(ctx, check_zone=False)
    file = options.target(context, out)
    with audit_text.progress_bar(context) as progress:
        report = run_verify(context, checkpoint, progress, write_checkpoint, from_checkpoint, site)
    for text in report.witness.get("warnings", []):
        warning(text)
    with options.delivered(file, "the report"):
        audit_text.print_report(report, checkpoint, as_json, context.settings.zone)
    if not report.ok:
        if not as_json:
            error(f"ledger check failed: {report.problem}")
        raise typer.Exit(1)


@audit_app.command("checkpoint")
@handle_errors
def checkpoint(
    ctx: typer.Context,
    format: options.TextJsonFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Sign a checkpoint of the ledger and send it to every witness now; print the head
    as SEQ:HASH too, for an auditor to keep elsewhere."""
    from screening.render.output import emit_json, message
    from screening.services.audit import checkpoint as head
    from screening.services.witness import publish

    as_json = options.chosen(format, as_json) == "json"
    context = open_context(ctx)
    file = options.target(context, out)
    seq_hash = head(context)
    if not as_json:
        with options.delivered(file, "the checkpoint"):
            print(seq_hash, flush=True)  # printed first: kept even if signing fails below
    published = publish(context.settings, context.database, context.now)
    if published is None:  # the ledger is empty: head() has said so already
        return
    if as_json:
        with options.delivered(file, "the checkpoint"):
            emit_json({"checkpoint": seq_hash, **published.as_dict()})
        return
    if published.key_created is not None:
        message(
            f"created the witness key {published.key_created}: back it up, apart from "
            "the master key"
        )
    if published.file is not None:
        message(f"signed checkpoint of entries 1-{published.checkpoint.size}: {published.file}")
    if published.delivered:
        message("delivered to " + "; ".join(published.delivered))
    if published.anchors:
        message("anchors published for " + ", ".join(published.anchors))


@audit_app.command("reveal")
@handle_errors
def reveal(ctx: typer.Context) -> None:
    """Publish in the ledger the day keys of the draws whose day is over."""
    from screening.render.output import message
    from screening.services.draws import reveal as reveal_keys

    days = reveal_keys(open_context(ctx))
    if days:
        message("revealed the keys of " + ", ".join(day.isoformat() for day in days))
    else:
        message("no key to reveal: every past draw's key is in the ledger already")


@audit_app.command("explain")
@handle_errors
def explain(
    ctx: typer.Context,
    code: Annotated[
        str,
        typer.Argument(
            metavar="CLIENT", help="The client's uid (as the auditor's outputs name them) or code."
        ),
    ],
    start: options.FromOpt = None,
    end: options.LastOpt = None,
    format: options.TextJsonFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Why was I picked? Each eligible day's chance and number, and how usual the total is."""
    from screening.services.audit import explain as receipt

    form, context, file = options.opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = receipt(context, code, start, end)
    with options.delivered(file, "the explanation"):
        audit_text.print_explanation(data, form == "json")


@audit_app.command("receipt")
@handle_errors
def receipt(
    ctx: typer.Context,
    code: Annotated[
        str,
        typer.Argument(
            metavar="CLIENT", help="The client's uid (as the auditor's outputs name them) or code."
        ),
    ],
    day: Annotated[str, typer.Argument(metavar="DATE", help="The day of the draw, YYYY-MM-DD.")],
    out: options.OutOpt = None,
) -> None:
    """A receipt of one day's draw for the client to keep: their chance, the outcome, the
    anchor and beacon round, and once the day is over the key and their score; anyone
    checks it with `python3 screening-verify.py --receipt FILE`."""
    import sys

    from screening.services.audit import day_receipt

    context = open_context(ctx)
    file = options.target(context, out)
    from screening.render.output import message

    text, note = day_receipt(context, code, typed_date(context, day, "DATE"))
    with options.delivered(file, "the receipt"):
        sys.stdout.write(text)
    if note is not None:
        message(note)


@audit_app.command("fairness")
@handle_errors
def fairness(
    ctx: typer.Context,
    start: options.FromOpt = None,
    end: options.LastOpt = None,
    format: options.PageFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Is the record consistent with a fair draw? Per client (by uid), weekday, month,
    days since the last selection, exclusions and excusals, each in plain words."""
    from screening.services.audit import fairness as analyse

    form, context, file = options.opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = analyse(context, start, end)
    with options.delivered(file, "the report"):
        audit_text.print_fairness(context.site, context.settings.zone, data, form)


@audit_app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="A new, empty folder for the export.")],
    to: Annotated[
        str,
        typer.Option(
            "--recipient",
            "--to",
            help="Who receives it, e.g. 'State Auditor' (--to: the older spelling; "
            "elsewhere --to is a last day).",
        ),
    ],
    purpose: Annotated[
        str,
        typer.Option(
            "--purpose",
            help="audit, evaluation, court_order, research, oversight or other (any case; "
            "spaces or dashes for underscores).",
        ),
    ],
    with_staff_names: Annotated[
        bool,
        typer.Option(
            "--with-staff-names",
            help="Export a ledger whose older entries name staff in clear text (recorded "
            "in the disclosure, with a notice to the recipient).",
        ),
    ] = False,
) -> None:
    """The ledger, anchors and revealed keys, with a standalone verifier; no names."""
    from screening.render.output import message
    from screening.render.words import plural
    from screening.services.audit import VERIFIER
    from screening.services.audit import export as run_export

    done = run_export(open_context(ctx), folder, to, purpose, with_staff_names)
    message(
        f"exported {plural(done['entries'], 'entry')} to {done['folder']} (head {done['head']}); "
        f"recorded as a disclosure to {to}"
    )
    if done["checkpoints"]:
        count = done["checkpoints"]
        message(
            f"with {plural(count, 'witnessed checkpoint')} and the witness "
            "public key, for the auditor to check the ledger against"
        )
    message(f"verify with: python3 {Path(done['folder']) / VERIFIER} {done['folder']}")
    message(f"the disclosure names the export by the SHA-256 of manifest.json: {done['manifest']}")
    if done.get("staff_names"):
        message(
            f"{plural(done['staff_names'], 'older entry')} "
            f"{'names' if done['staff_names'] == 1 else 'name'} staff in clear text; "
            f"{done['folder']}/STAFF-NAMES.txt tells the recipient how to handle them"
        )


ACCESS_COLUMNS = [
    ("entry", "entry"),
    ("at", "when"),
    ("user", "user"),
    ("as", "as"),
    ("action", "did"),
    ("command", "command"),
    ("clients", "clients (uid)"),
]


@audit_app.command("access")
@handle_errors
def access(
    ctx: typer.Context,
    client: Annotated[
        str | None,
        typer.Option(
            "--client",
            metavar="CODE_OR_UID",
            help="Who looked at this client's chart, and when (with the draws that listed "
            "them and the entries that changed their record).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="NAME",
            help="What this person opened: a login (the OS user, or the PostgreSQL login) "
            "or an --actor name.",
        ),
    ] = None,
    start: options.FromOpt = None,
    end: options.LastOpt = None,
    format: options.TableFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """The access log: each read of identified data (who, when, which command, which
    clients, by uid), from the ledger; give --client or --user."""
    from screening.errors import BadInput
    from screening.services.access import access_log

    if (client is None) == (user is None):
        raise BadInput("give --client CODE_OR_UID or --user NAME (one of them)")
    form, context, file = options.opened(ctx, format, as_json, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    rows = access_log(context, client, user, start, end)
    # By code for those who may see codes (the uids stay in JSON and CSV); an auditor's
    # rows name uids only.
    columns = ACCESS_COLUMNS
    if any("codes" in row for row in rows):
        codes = [("codes", "clients")]
        columns = ACCESS_COLUMNS[:-1] + codes if form == "text" else ACCESS_COLUMNS + codes
    with options.delivered(file, "the access log"):
        options.emit_table(rows, columns, form, empty="no access recorded")


@audit_app.command("disclosures")
@handle_errors
def disclosures(
    ctx: typer.Context,
    client: Annotated[
        str | None,
        typer.Option(
            "--client",
            metavar="CODE",
            help="One client's disclosures (an auditor gives the uid); needed for --format html.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="First day, YYYY-MM-DD (default: three years before today, as 42 CFR 2.25 asks).",
        ),
    ] = None,
    format: options.ReportFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """The accounting of disclosures (42 CFR 2.25, HIPAA 164.528): each disclosure made,
    when, to whom, what, why and on what basis; --format html is the client's own page."""
    import sys

    from screening.render import accounting as words
    from screening.services.disclosure import disclosures_made

    form, context, file = options.opened(ctx, format, as_json, out)
    since = typed_date(context, since, "--since")
    data = disclosures_made(context, client, since, letter=form == "html")
    rows = data["disclosures"]
    with options.delivered(file, "the accounting"):
        if form == "html":
            sys.stdout.write(words.render_accounting_html(context.site, data))
        elif form == "text":
            sys.stdout.write(words.as_blocks(rows, data["since"]))
        else:
            options.emit_table(rows, words.CSV_COLUMNS, form)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
