"""`audit verify` and `audit checkpoint` (DESIGN §6).

Verify streams the ledger once, in order: every hash and link, then the replay of what
each entry says (core/replay.py), including every draw recomputed from its key; then it
checks that every client, hold, closure, draw and screening row is what the ledger says.
It reports the first problem, by ledger entry and client uid (never by name or code:
auditors run this).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from screening.core.canonical import private_digest
from screening.core.ledger import GENESIS_PREV, BrokenLink, check_link, subject
from screening.core.replay import Broken, Replay
from screening.db.models import (
    Client,
    Closure,
    Draw,
    DrawAmendment,
    Hold,
    LedgerRow,
    Result,
    ResultVersion,
    Screening,
)
from screening.errors import BadInput, EnvironmentProblem
from screening.services.clients import client_state, hold_state
from screening.services.closures import closure_state
from screening.services.context import Context
from screening.services.keys import read_key
from screening.services.results import analytes_of, content_digest

_LEDGER = LedgerRow.__table__
CHECKPOINT_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")
BATCH = 2000


@dataclass
class Report:
    entries: int = 0
    head: str | None = None
    clients: int = 0
    holds: int = 0
    closures: int = 0
    draws: int = 0
    screenings: int = 0
    results: int = 0
    replayed: int = 0
    replayed_locally: int = 0
    not_replayed: int = 0
    late_draws: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    problem: str | None = None
    problem_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **{k: v for k, v in self.__dict__.items()}}


def parse_checkpoint(text: str) -> tuple[int, str]:
    match = CHECKPOINT_PATTERN.match(text.strip())
    if not match:
        raise BadInput(
            f"checkpoint {text!r} is not SEQ:HASH as `screening audit checkpoint` prints it"
        )
    return int(match.group(1)), match.group(2)


def verify(
    ctx: Context, checkpoint: str | None = None, progress: Callable[[int], None] | None = None
) -> Report:
    wanted = parse_checkpoint(checkpoint) if checkpoint else None
    report = Report(checkpoint=checkpoint)
    replay = Replay()
    with ctx.database.read() as session:
        try:
            _walk_chain(session, report, replay, wanted, progress)
            if wanted is not None and report.entries < wanted[0]:
                raise Broken(
                    None,
                    f"the ledger ends at entry {report.entries} but the "
                    f"checkpoint names entry {wanted[0]}: entries were removed",
                )
            replay.finish(_local_master(ctx))
            _check_domain(session, report, replay)
        except Broken as broken:
            report.problem, report.problem_seq = broken.message, broken.seq
    report.replayed, report.replayed_locally = replay.replayed, replay.replayed_locally
    report.not_replayed, report.late_draws = replay.not_replayed, replay.late_draws
    return report


def _local_master(ctx: Context) -> Callable[[str], bytes | None]:
    """This installation's key replays its own site's days not yet revealed."""

    def master(site: str) -> bytes | None:
        if site != ctx.site:
            return None
        try:
            return read_key(ctx.settings.key_file)
        except EnvironmentProblem:
            return None

    return master


def _walk_chain(
    session: Session,
    report: Report,
    replay: Replay,
    wanted: tuple[int, str] | None,
    progress: Callable[[int], None] | None,
) -> None:
    prev, next_seq = GENESIS_PREV, 1
    rows = session.execute(
        sa.select(
            _LEDGER.c.seq,
            _LEDGER.c.site,
            _LEDGER.c.kind,
            _LEDGER.c.uid,
            _LEDGER.c.canonical,
            _LEDGER.c.hash,
        )
        .order_by(_LEDGER.c.seq)
        .execution_options(yield_per=BATCH)
    )
    for seq, site, kind, uid, canonical, stored_hash in rows:
        try:
            document = check_link(
                seq=seq,
                stored_hash=stored_hash,
                canonical=canonical,
                expected_seq=next_seq,
                expected_prev=prev,
                columns={"site": site, "kind": kind},
            )
        except BrokenLink as broken:
            raise Broken(min(seq, next_seq), f"entry {min(seq, next_seq)}: {broken}") from None
        try:
            about = subject(kind, document["body"])
        except (KeyError, TypeError, IndexError):
            about = None  # a malformed body: the replay names it
        if uid != about:
            raise Broken(
                seq, f"entry {seq}: its uid column says {uid!r} but the entry is about {about!r}"
            )
        replay.take(seq, document)
        if wanted is not None and seq == wanted[0] and stored_hash != wanted[1]:
            raise Broken(
                seq,
                f"entry {seq} does not match the checkpoint: the history up to it has been changed",
            )
        prev, next_seq = stored_hash, seq + 1
        report.entries = seq
        report.head = f"{seq}:{stored_hash}"
        if progress is not None and seq % BATCH == 0:
            progress(seq)


def _differences(row_state: dict[str, Any], ledger_state: dict[str, Any]) -> list[str]:
    return sorted(
        key
        for key in set(row_state) | set(ledger_state)
        if row_state.get(key) != ledger_state.get(key)
    )


def _check_domain(session: Session, report: Report, replay: Replay) -> None:
    by_id = _check_clients(session, report, replay)
    report.holds = _match_rows(
        "hold",
        replay.holds,
        (
            (h.ledger_seq, by_id[h.client_id].site, hold_state(h, by_id[h.client_id]))
            for h in session.exec(select(Hold).order_by(Hold.ledger_seq))
        ),
    )
    report.closures = _match_rows(
        "closure",
        replay.closures,
        (
            (c.ledger_seq, c.site, closure_state(c))
            for c in session.exec(select(Closure).order_by(Closure.ledger_seq))
        ),
    )
    draws = _check_draws(session, report, replay)
    # A recollection names the result entry of the specimen it repeats.
    results_of = dict(session.execute(sa.select(Result.screening_id, Result.created_seq)).all())
    report.screenings = _match_rows(
        "screening",
        {key: (state["site"], state) for key, state in replay.screenings.items()},
        (
            (
                (s.created_seq, by_id[s.client_id].uid),
                by_id[s.client_id].site,
                _screening_state(s, by_id[s.client_id].site, draws, results_of),
            )
            for s in session.exec(select(Screening).order_by(Screening.created_seq))
        ),
    )
    report.results = _check_results(session, replay, by_id)
    _match_rows(
        "draw amendment",
        {
            seq: (site, {"reason": body["reason"]})
            for seq, (site, body) in replay.amendments.items()
        },
        (
            (a.ledger_seq, draws[a.draw_id].site, {"reason": private_digest(a.salt, a.reason)})
            for a in session.exec(select(DrawAmendment).order_by(DrawAmendment.ledger_seq))
        ),
    )


def _screening_state(
    row: Screening, site: str, draws: dict[int, Draw], results_of: dict[int, int]
) -> dict[str, Any]:
    state = {
        "date": row.day.isoformat(),
        "reason": row.reason,
        "status": row.status,
        "due_by": row.due_by,
        "site": site,
        "observed": row.observed_required,
        "note": private_digest(row.salt, row.note),
        "status_note": private_digest(row.salt, row.status_note),
        "excuse": row.excuse_code,
        "approved_by": row.approved_by,
        "auto": row.status_auto,
        "draw": f"{draws[row.draw_id].site} {draws[row.draw_id].day}" if row.draw_id else None,
        "because": results_of.get(row.replaces_id) if row.replaces_id else None,
        "latest": row.ledger_seq,
    }
    if row.draw_id is not None and draws[row.draw_id].day != row.day:
        state["date"] = f"{row.day} (its draw is for {draws[row.draw_id].day})"
    return state


def _check_results(session: Session, replay: Replay, by_id: dict[int, Client]) -> int:
    """Every result names its screening and latest version as the ledger does, and every
    version's content hashes to the digest its entry holds."""
    screenings = {s.id: s for s in session.exec(select(Screening))}
    results = {r.id: r for r in session.exec(select(Result).order_by(Result.created_seq))}
    count = _match_rows(
        "result",
        {
            seq: (r["site"], {"screening": r["screening"], "latest": r["latest"]})
            for seq, r in replay.results.items()
        },
        (
            (
                r.created_seq,
                by_id[screenings[r.screening_id].client_id].site,
                {
                    "screening": (
                        screenings[r.screening_id].created_seq,
                        by_id[screenings[r.screening_id].client_id].uid,
                    ),
                    "latest": r.ledger_seq,
                },
            )
            for r in results.values()
        ),
    )
    versions = session.exec(select(ResultVersion).order_by(ResultVersion.seq)).all()
    _match_rows(
        "result version",
        {
            seq: ("", {"result": result, "content": digest})
            for seq, (result, digest) in replay.versions.items()
        },
        (
            (
                v.seq,
                "",
                {
                    "result": results[v.result_id].created_seq,
                    "content": content_digest(
                        results[v.result_id],
                        v,
                        analytes_of(session, v),
                        first=v.seq == results[v.result_id].created_seq,
                    ),
                },
            )
            for v in versions
        ),
    )
    return count


def _check_clients(session: Session, report: Report, replay: Replay) -> dict[int, Client]:
    seen: set[str] = set()
    by_id: dict[int, Client] = {}
    for row in session.exec(select(Client).order_by(Client.ledger_seq)):
        by_id[row.id] = row  # type: ignore[index]
        known = replay.clients.get(row.uid)
        if known is None:
            raise Broken(None, f"client {row.uid} has a row in the database but no ledger entry")
        seq, site, state = known
        seen.add(row.uid)
        if row.ledger_seq != seq or row.site != site:
            raise Broken(
                seq,
                f"entry {seq} (client {row.uid}): the row names entry "
                f"{row.ledger_seq} at site {row.site!r}, the ledger says entry "
                f"{seq} at site {site!r}",
            )
        differs = _differences(client_state(row), state)
        if differs:
            raise Broken(
                seq,
                f"entry {seq} (client {row.uid}): the database row differs from "
                f"the ledger in {', '.join(differs)}",
            )
        report.clients += 1
    missing = sorted((seq, uid) for uid, (seq, _, _) in replay.clients.items() if uid not in seen)
    if missing:
        seq, uid = missing[0]
        raise Broken(
            seq,
            f"entry {seq} (client {uid}): the ledger records this client but "
            "the database row is gone",
        )
    return by_id


def _check_draws(session: Session, report: Report, replay: Replay) -> dict[int, Draw]:
    expected = {
        state.created_seq: (
            site,
            {
                "date": day.isoformat(),
                "latest": state.latest_seq,
                "revealed": state.revealed_seq,
                "late": state.late,
                "drawn_at": state.at,
                "reason": state.reason,
            },
        )
        for (site, day), state in replay.draws.items()
    }
    rows = session.exec(select(Draw).order_by(Draw.created_seq)).all()
    report.draws = _match_rows(
        "draw",
        expected,
        (
            (
                d.created_seq,
                d.site,
                {
                    "date": d.day.isoformat(),
                    "latest": d.ledger_seq,
                    "revealed": d.revealed_seq,
                    "late": d.late_reason is not None,
                    "drawn_at": d.drawn_at,
                    "reason": private_digest(d.salt, d.late_reason),
                },
            )
            for d in rows
        ),
    )
    return {d.id: d for d in rows}  # type: ignore[misc]


def _match_rows(
    label: str,
    expected: dict[Any, tuple[str, dict[str, Any]]],
    rows: Iterable[tuple[Any, str, dict[str, Any]]],
) -> int:
    """Rows that one ledger entry each creates: every row matches its entry, and every
    entry still has its row. Returns how many matched."""
    seen: set[Any] = set()
    iterator = iter(rows)
    while True:
        try:
            key, site, state = next(iterator)
        except StopIteration:
            break
        except (KeyError, ValueError, ArithmeticError, TypeError, AttributeError) as error:
            # A row edited into something unreadable (bad JSON, a number that is not one,
            # a link to nothing) is tampering too.
            raise Broken(
                None,
                f"a {label} row cannot be read ({type(error).__name__}): it "
                "was changed outside screening",
            ) from None
        known = expected.get(key)
        where = _where(key)
        if known is None:
            raise Broken(
                None, f"a {label} row names ledger entry {where}, which records no such {label}"
            )
        differs = _differences({**state, "site": site}, {**known[1], "site": known[0]})
        if differs:
            raise Broken(
                _seq_of(key),
                f"entry {where} ({label}): the database row differs "
                f"from the ledger in {', '.join(differs)}",
            )
        seen.add(key)
    for key in sorted(set(expected) - seen, key=str):
        raise Broken(
            _seq_of(key),
            f"entry {_where(key)} ({label}): the ledger records a "
            f"{label} whose database row is gone",
        )
    return len(seen)


def _seq_of(key: Any) -> int:
    return key[0] if isinstance(key, tuple) else key


def _where(key: Any) -> str:
    return f"{key[0]}, client {key[1]}" if isinstance(key, tuple) else str(key)


def checkpoint(ctx: Context) -> str:
    from screening.services.ledger import head

    with ctx.database.read() as session:
        last = head(session)
    if last is None:
        raise BadInput("the ledger is empty; run `screening init` first")
    return f"{last[0]}:{last[1]}"
