"""`audit verify` and `audit checkpoint` (DESIGN §6).

Verify streams the ledger once, in order, checking every hash and link, then checks
that every client, hold and closure row is what the ledger says. It reports the first
problem, by ledger entry and client uid (never by name or code: auditors run this).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from screening.core.ledger import GENESIS_PREV, BrokenLink, check_link
from screening.core.selection import chain_length
from screening.db.models import Client, Closure, Hold, LedgerRow
from screening.errors import BadInput
from screening.services.clients import client_state, hold_state
from screening.services.closures import closure_state
from screening.services.context import Context

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
    checkpoint: str | None = None
    problem: str | None = None
    problem_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "clients": self.clients,
            "holds": self.holds,
            "closures": self.closures,
            "checkpoint": self.checkpoint,
            "problem": self.problem,
            "problem_seq": self.problem_seq,
        }


class _Broken(Exception):
    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message


@dataclass
class _Expected:
    """Domain state as the ledger tells it, with the entry that last wrote each row."""

    clients: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    holds: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    closures: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    commitments: dict[tuple[str, str], int] = field(default_factory=dict)

    def take(self, seq: int, document: dict[str, Any]) -> None:
        kind, site, body = document["kind"], document["site"], document["body"]
        if kind == "genesis" and seq != 1:
            raise _Broken(seq, "a second genesis entry")
        if seq == 1 and kind != "genesis":
            raise _Broken(seq, f"the first entry is a {kind} entry, not the genesis")
        if kind == "client":
            self.clients[body["client"]["uid"]] = (seq, site, body["client"])
        elif kind == "hold":
            self.holds[seq] = (site, body["hold"])
        elif kind == "closure":
            self.closures[seq] = (site, body["closure"])
        elif kind == "commitment":
            period = body.get("period")
            if (site, period) in self.commitments:
                raise _Broken(
                    seq,
                    f"a second commitment for {site} {period} "
                    f"(the first is entry {self.commitments[(site, period)]})",
                )
            try:
                length = chain_length(period)
            except (AttributeError, ValueError):
                raise _Broken(seq, f"a commitment for an unknown period {period!r}") from None
            if body.get("length") != length:
                raise _Broken(
                    seq,
                    f"the commitment for {period} has length {body.get('length')}, not {length}",
                )
            self.commitments[(site, period)] = seq


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
    expected = _Expected()
    with ctx.database.read() as session:
        try:
            _walk_chain(session, report, expected, wanted, progress)
            if wanted is not None and report.entries < wanted[0]:
                raise _Broken(
                    None,
                    f"the ledger ends at entry {report.entries} but the "
                    f"checkpoint names entry {wanted[0]}: entries were removed",
                )
            _check_domain(session, report, expected)
        except _Broken as broken:
            report.problem, report.problem_seq = broken.message, broken.seq
    return report


def _walk_chain(
    session: Session,
    report: Report,
    expected: _Expected,
    wanted: tuple[int, str] | None,
    progress: Callable[[int], None] | None,
) -> None:
    prev, next_seq = GENESIS_PREV, 1
    rows = session.execute(
        sa.select(
            _LEDGER.c.seq, _LEDGER.c.site, _LEDGER.c.kind, _LEDGER.c.canonical, _LEDGER.c.hash
        )
        .order_by(_LEDGER.c.seq)
        .execution_options(yield_per=BATCH)
    )
    for seq, site, kind, canonical, stored_hash in rows:
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
            raise _Broken(min(seq, next_seq), f"entry {min(seq, next_seq)}: {broken}") from None
        try:
            expected.take(seq, document)
        except (KeyError, TypeError):
            raise _Broken(
                seq, f"entry {seq} ({kind}): its body lacks the fields a {kind} entry has"
            ) from None
        except _Broken as broken:
            raise _Broken(seq, f"entry {seq}: {broken.message}") from None
        if wanted is not None and seq == wanted[0] and stored_hash != wanted[1]:
            raise _Broken(
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


def _check_domain(session: Session, report: Report, expected: _Expected) -> None:
    seen: set[str] = set()
    by_id: dict[int, Client] = {}
    for row in session.exec(select(Client).order_by(Client.ledger_seq)):
        by_id[row.id] = row  # type: ignore[index]
        known = expected.clients.get(row.uid)
        if known is None:
            raise _Broken(None, f"client {row.uid} has a row in the database but no ledger entry")
        seq, site, state = known
        seen.add(row.uid)
        if row.ledger_seq != seq or row.site != site:
            raise _Broken(
                seq,
                f"entry {seq} (client {row.uid}): the row names entry "
                f"{row.ledger_seq} at site {row.site!r}, the ledger says entry {seq} "
                f"at site {site!r}",
            )
        differs = _differences(client_state(row), state)
        if differs:
            raise _Broken(
                seq,
                f"entry {seq} (client {row.uid}): the database row differs from "
                f"the ledger in {', '.join(differs)}",
            )
        report.clients += 1
    missing = sorted((seq, uid) for uid, (seq, _, _) in expected.clients.items() if uid not in seen)
    if missing:
        seq, uid = missing[0]
        raise _Broken(
            seq,
            f"entry {seq} (client {uid}): the ledger records this client but "
            "the database row is gone",
        )
    report.holds = _match_rows(
        "hold",
        expected.holds,
        (
            (h.ledger_seq, by_id[h.client_id].site, hold_state(h, by_id[h.client_id]))
            for h in session.exec(select(Hold).order_by(Hold.ledger_seq))
        ),
    )
    report.closures = _match_rows(
        "closure",
        expected.closures,
        (
            (c.ledger_seq, c.site, closure_state(c))
            for c in session.exec(select(Closure).order_by(Closure.ledger_seq))
        ),
    )


def _match_rows(
    label: str,
    expected: dict[int, tuple[str, dict[str, Any]]],
    rows: Iterable[tuple[int, str, dict[str, Any]]],
) -> int:
    """Rows written once by one ledger entry each: every row matches its entry, and every
    entry still has its row. Returns how many matched."""
    seen: set[int] = set()
    for seq, site, state in rows:
        known = expected.get(seq)
        if known is None:
            raise _Broken(
                None, f"a {label} row names ledger entry {seq}, which records no such {label}"
            )
        differs = _differences({**state, "site": site}, {**known[1], "site": known[0]})
        if differs:
            raise _Broken(
                seq,
                f"entry {seq} ({label}): the database row differs from the "
                f"ledger in {', '.join(differs)}",
            )
        seen.add(seq)
    for seq in sorted(set(expected) - seen):
        raise _Broken(
            seq, f"entry {seq} ({label}): the ledger records a {label} whose database row is gone"
        )
    return len(seen)


def checkpoint(ctx: Context) -> str:
    from screening.services.ledger import head

    with ctx.database.read() as session:
        last = head(session)
    if last is None:
        raise BadInput("the ledger is empty; run `screening init` first")
    return f"{last[0]}:{last[1]}"
