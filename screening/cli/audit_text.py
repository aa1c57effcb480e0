"""What the audit commands print, in words: `audit verify`'s findings, `audit explain`'s
draws and `audit fairness`'s figures (the commands themselves are in cli/audit.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def print_report(report: Any, checkpoint: str | None, as_json: bool, zone: Any) -> None:
    from screening.render.output import emit_json

    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        for line in verified_lines(report, checkpoint, zone):
            print(line)


def verified_lines(report: Any, checkpoint: str | None, zone: Any) -> list[str]:
    """What `audit verify` found, in words, every count with its noun and every instant
    in the site's time."""
    from screening.render.words import instants_in, plural

    lines = incremental_lines(report, zone) or [
        f"ledger intact: {plural(report.entries, 'entry')}, head {report.head}",
        f"records match the ledger: {_counts(report)}",
    ]
    lines += [
        f"draws replayed from revealed keys: {report.replayed}; with the local key "
        f"(not yet revealed): {report.replayed_locally}"
        + (f"; not replayable here (no key): {report.not_replayed}" if report.not_replayed else ""),
        instants_in(report.anchors, zone),
    ]
    if report.site is not None:
        from screening.services.audit import site_scope

        lines.insert(1, site_scope(report.site))
    if report.beacon_rounds:
        lines.append(
            f"beacon: {plural(report.beacon_rounds, 'drand quicknet round')} checked (each "
            "the round its day's rule gives, its signature and randomness)"
        )
    if report.unread:
        # A result's content digest holds its notes: unread, the result itself (its
        # outcomes too) is not compared; said plainly, not left to "free text".
        contents = any(name.startswith("result_versions.") for name in report.unread)
        lines.append(
            f"not compared by this login: {plural(len(report.unread), 'column')} it may not "
            "read (names, codes, free text and their salts)"
            + (", and so what each result says (its digest holds the notes)" if contents else "")
            + "; the tables' owner or an admin compares them"
        )
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
        ("drawn without its beacon ", report.missing_beacons),
        ("drawn before its beacon round's time by this computer's clock: ", report.early_beacons),
        ("", report.without_role),
    ):
        lines += [f"flag: {what}{instants_in(item, zone)}" for item in items]
    if checkpoint:
        lines.append(f"checkpoint {checkpoint} holds: the history up to it is unchanged")
    if report.wrote_checkpoint:
        lines.append(
            f"checkpoint written: {report.wrote_checkpoint} (and its state beside it); "
            f"`audit verify --from-checkpoint {report.wrote_checkpoint}` goes on from here"
        )
    return lines + witness_lines(report.witness, zone)


def incremental_lines(report: Any, zone: Any) -> list[str]:
    """What an incremental verify read, and what it did not read again: never a claim
    on the whole ledger."""
    from datetime import datetime

    from screening.render.words import plural

    since = report.from_checkpoint
    if not since:
        return []
    verified = datetime.fromisoformat(since["verified"]).astimezone(zone)
    full = datetime.fromisoformat(since["full_verify"]).astimezone(zone)
    before = (
        f"entries up to {since['after']} verified on {verified:%Y-%m-%d %H:%M %Z}"
        + (f", fully on {full:%Y-%m-%d %H:%M %Z}" if full != verified else "")
        + f", not re-read: checkpoint {since['file']}"
    )
    read = (
        f"ledger intact from entry {since['first']} to {since['last']}"
        if since["last"] >= since["first"]
        else f"no entries after the checkpoint's head, entry {since['after']}, to verify"
    )
    return [
        f"{read} ({before}), head {report.head}",
        "records made or changed since the checkpoint match the ledger: "
        f"{plural(since['rows_compared'], 'row')} compared (the ledger holds "
        f"{plural(report.entries, 'entry')}: {_counts(report)})",
        "not compared again: the entries and rows before the checkpoint; a change to "
        "them is found by a full `audit verify` only",
    ]


def _counts(report: Any) -> str:
    from screening.render.words import plural

    return ", ".join(
        plural(count, noun)
        for count, noun in (
            (report.clients, "client"),
            (report.holds, "hold"),
            (report.closures, "closure"),
            (report.draws, "draw"),
            (report.screenings, "screening"),
            (report.results, "result"),
        )
    )


def witness_lines(witness: dict[str, Any], zone: Any) -> list[str]:
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


def print_explanation(data: dict[str, Any], as_json: bool) -> None:
    from screening.render.output import emit_json, emit_rows

    if as_json:
        emit_json(data)
        return
    from screening.render.words import word

    rows = [
        {
            **d,
            "number": "not yet revealed" if d["number"] is None and d["p"] else d["number"],
            "selected": word(d["selected"]) or left_out(d["left_out"]),
        }
        for d in data["days"]
    ]
    emit_rows(
        rows,
        [("date", "date"), ("p", "chance"), ("number", "number drawn"), ("selected", "selected")],
        title=f"Draws for {data['code'] or data['uid']}",
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


def left_out(reason: str | None) -> str:
    from screening.render.words import LEFT_OUT, word

    return f"left out: {LEFT_OUT.get(reason) or word(reason)}" if reason else ""


def print_fairness(site: str, zone: Any, data: dict[str, Any], format: str) -> None:
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


@contextmanager
def progress_bar(context: Any) -> Iterator[Callable[[int], None] | None]:
    """How far `audit verify` has come, on stderr when it is a terminal (long ledgers
    take a while); nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
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
        yield lambda seq: bar.update(task, completed=seq)
