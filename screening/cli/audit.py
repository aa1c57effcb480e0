"""`audit verify`, `audit checkpoint`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli import options
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
    format: options.TextJsonFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Recompute the ledger's hashes and links and check every record against it."""
    import sys

    from screening.render.output import error, warning
    from screening.services.audit import verify as run_verify

    as_json = options.chosen(format, as_json) == "json"
    # The zone the database keeps is what verify checks, not the config's: a site_zones
    # row edited behind the program's back is named by verify, not taken for a config
    # that needs editing.
    context = open_context(ctx, check_zone=False)
    file = options.target(context, out)
    if sys.stderr.isatty():
        # Long ledgers take a while: show how far the walk has come (stderr only).
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from screening.services.audit import ledger_length

        total = ledger_length(context)
        with Progress(
            TextColumn("verifying the ledger"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("verify", total=total)
            report = run_verify(
                context, checkpoint, progress=lambda seq: bar.update(task, completed=seq)
            )
    else:
        report = run_verify(context, checkpoint)
    for text in report.witness.get("warnings", []):
        warning(text)
    with options.delivered(file, "the report"):
        _print_report(report, checkpoint, as_json, context.settings.zone)
    if not report.ok:
        if not as_json:
            error(f"ledger check failed: {report.problem}")
        raise typer.Exit(1)


def _print_report(report: Any, checkpoint: str | None, as_json: bool, zone: Any) -> None:
    from screening.render.output import emit_json

    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        for line in _verified_lines(report, checkpoint, zone):
            print(line)


def _verified_lines(report: Any, checkpoint: str | None, zone: Any) -> list[str]:
    """What `audit verify` found, in words, every count with its noun and every instant
    in the site's time."""
    from screening.render.words import instants_in, plural

    lines = [
        f"ledger intact: {plural(report.entries, 'entry')}, head {report.head}",
        "records match the ledger: "
        + ", ".join(
            plural(count, noun)
            for count, noun in (
                (report.clients, "client"),
                (report.holds, "hold"),
                (report.closures, "closure"),
                (report.draws, "draw"),
                (report.screenings, "screening"),
                (report.results, "result"),
            )
        ),
        f"draws replayed from revealed keys: {report.replayed}; with the local key "
        f"(not yet revealed): {report.replayed_locally}"
        + (f"; not replayable here (no key): {report.not_replayed}" if report.not_replayed else ""),
        instants_in(report.anchors, zone),
    ]
    # What an auditor should look at, though nothing is broken: one line each.
    for what, items in (
        ("late draw ", report.late_draws),
        ("", report.zone_changes),
        ("", report.clock_back),
        ("collection entered late ", report.late_entries),
        ("miss reversed by amendment ", report.reversals),
        ("drawn screening excused by a hold entered after the draw ", report.hold_excusals),
        ("closure entered after its day ", report.late_closures),
        ("selection policy changed ", report.policy_changes),
    ):
        lines += [f"flag: {what}{instants_in(item, zone)}" for item in items]
    if checkpoint:
        lines.append(f"checkpoint {checkpoint} holds: the history up to it is unchanged")
    return lines + _witness_lines(report.witness, zone)


def _witness_lines(witness: dict[str, Any], zone: Any) -> list[str]:
    from screening.render.words import local_time, plural

    newest = witness.get("newest")
    if not newest:
        return []
    consistency = witness["consistency"]
    count = witness["checkpoints"]
    lines = [
        f"witnessed: {plural(count, 'checkpoint')} in {plural(len(witness['folders']), 'folder')} "
        f"{'holds' if count == 1 else 'hold'}; the newest, of {plural(newest['size'], 'entry')}, "
        f"was made {newest['age']} ({local_time(newest['time'], zone)})"
        + (
            f"; the head is consistent with it ({plural(consistency['to'], 'entry')})"
            if consistency
            else ""
        )
    ]
    if witness["anchors"]:
        lines.append(f"witnessed anchors match the ledger's commitments: {witness['anchors']}")
    if witness["before_witnessing"]:
        lines.append(
            f"witnessed since {witness['first_time'][:10]}: entries 1 to "
            f"{witness['witnessed_from']} were written before the first checkpoint, and until "
            "it are vouched for by the hash chain only"
        )
    return lines


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
    code: Annotated[str, typer.Argument(help="The clinic's client code.")],
    start: options.FromOpt = None,
    end: options.LastOpt = None,
    format: options.TextJsonFormat = None,
    as_json: options.JsonOpt = False,
    out: options.OutOpt = None,
) -> None:
    """Why was I picked? Each eligible day's chance and number, and how usual the total is."""
    from screening.services.audit import explain as receipt

    form = options.chosen(format, as_json)
    context = open_context(ctx)
    file = options.target(context, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = receipt(context, code, start, end)
    with options.delivered(file, "the explanation"):
        _print_explanation(data, form == "json")


def _print_explanation(data: dict[str, Any], as_json: bool) -> None:
    from screening.render.output import emit_json, emit_rows

    if as_json:
        emit_json(data)
        return
    from screening.render.words import word

    rows = [
        {
            **d,
            "number": "not yet revealed" if d["number"] is None and d["p"] else d["number"],
            "selected": word(d["selected"]) or _left_out(d["left_out"]),
        }
        for d in data["days"]
    ]
    emit_rows(
        rows,
        [("date", "date"), ("p", "chance"), ("number", "number drawn"), ("selected", "selected")],
        title=f"Draws for {data['code']}",
        empty="no draws in the period",
    )
    import textwrap

    print()
    print(textwrap.fill(data["summary"], width=80))
    print(
        textwrap.fill(
            "A client is selected on a day when the number drawn for them is "
            "below that day's chance.",
            width=80,
        )
    )


def _left_out(reason: str | None) -> str:
    from screening.render.words import LEFT_OUT, word

    return f"left out: {LEFT_OUT.get(reason) or word(reason)}" if reason else ""


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

    form = options.chosen(format, as_json)
    context = open_context(ctx)
    file = options.target(context, out)
    start, end = typed_date(context, start, "--from"), typed_date(context, end, "--to")
    data = analyse(context, start, end)
    with options.delivered(file, "the report"):
        _print_fairness(context.site, context.settings.zone, data, form)


def _print_fairness(site: str, zone: Any, data: dict[str, Any], format: str) -> None:
    from screening.render.output import emit_json, emit_rows

    if format == "json":
        emit_json(data)
        return
    columns = [
        ("uid", "client (uid)"),
        ("days", "days"),
        ("expected", "expected"),
        ("observed", "observed"),
        ("adjusted", "adj. p"),
        ("words", "reading"),
    ]
    if format == "html":
        import sys

        from screening.render.fairness import render_fairness_html

        sys.stdout.write(render_fairness_html(site, data))
        return
    from screening.render.words import local_time, plural, times

    print(
        f"{plural(data['revealed_draws'], 'revealed draw')}; "
        f"{plural(len(data['clients']), 'client')}; "
        f"{data['flagged_clients']} worth a look after Benjamini-Hochberg at 5%"
    )
    for name in ("weekdays", "months", "predictability"):
        item = data[name]
        p = "" if item["p_value"] is None else f" (p = {item['p_value']})"
        print(f"{name}: {item['words']}{p}: {item['why']}")
    disp = data["dispersion"]
    print(
        f"dispersion across clients: {disp['ratio']} (about 1 when fair): {disp['words']}: "
        f"{disp['why']}"
    )
    ex = data["exclusions"]
    print(
        f"left out of the pool on {plural(ex['client_days'], 'client-day')}; would have "
        f"been drawn {times(ex['observed'])}, {ex['expected']} expected: {ex['words']}: "
        f"{ex['why']}"
    )
    print(
        f"excusals per 100 screenings: {data['excusals']['per_100_screenings']}; by "
        "approver: "
        + (", ".join(f"{k} {v}" for k, v in data["excusals"]["by_approver"].items()) or "none")
    )
    for change in data.get("timezone_changes", []):
        print(
            f"flag: time zone changed from {change['from']} to {change['timezone']} at "
            f"{local_time(change['starts_at'], zone)} (entry {change['entry']}): days around "
            "it were drawn "
            "by different clocks"
        )
    apart = data["not_drawn"]
    print(
        "kept apart (not drawn, not counted above): "
        f"{plural(apart['for_cause'], 'for-cause screening')}, "
        f"{plural(apart['recollection'], 'observed recollection')}"
    )
    flagged = [c for c in data["clients"] if c["words"] != "as expected"]
    emit_rows(flagged, columns, title="Clients worth a look", empty="no client worth a look")


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
    if done.get("staff_names"):
        message(
            f"{plural(done['staff_names'], 'older entry')} "
            f"{'names' if done['staff_names'] == 1 else 'name'} staff in clear text; "
            f"{done['folder']}/STAFF-NAMES.txt tells the recipient how to handle them"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
