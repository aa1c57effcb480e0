"""`audit verify` and `audit checkpoint` (DESIGN §6).

Verify streams the ledger once, in order: every hash and link, then the replay of what
each entry says (core/replay.py), including every draw recomputed from its key; then it
checks that every client, hold, closure, draw and screening row is what the ledger says.
The same walk takes the ledger's tree head at every size a witness folder holds a
checkpoint of (services/witnessed.py reads them, core/witnessing.py compares), so that a
history rewritten with its chain recomputed, or cut short, is named by the first
witnessed checkpoint it breaks.
It reports the first problem, by ledger entry and client uid (never by name or code:
auditors run this).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from screening.core.anchors import KeyAnchors
from screening.core.canonical import private_digest
from screening.core.checkpoint import BadNote, origin_of
from screening.core.ledger import (
    GENESIS_PREV,
    BrokenLink,
    check_link,
    parse_rfc3339,
    rfc3339,
    subject,
)
from screening.core.replay import Broken, Replay
from screening.core.witnessing import Follower
from screening.core.witnessing import check as check_witnessed
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
    Site,
    SiteZone,
    StaffName,
)
from screening.errors import BadInput, EnvironmentProblem
from screening.services.audit import rows as verify_rows
from screening.services.clients.holds import hold_record
from screening.services.draws.closures import closure_record
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import read_key
from screening.services.plumbing.ledger import as_utc
from screening.services.plumbing.spill import SpillFile
from screening.services.records.clients import client_state
from screening.services.results.versions import analyte_bodies_by_version, content_digest
from screening.services.witness import read as witnessed

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
    zone_changes: list[str] = field(default_factory=list)
    clock_back: list[str] = field(default_factory=list)
    late_entries: list[str] = field(default_factory=list)
    reversals: list[str] = field(default_factory=list)
    hold_excusals: list[str] = field(default_factory=list)
    late_closures: list[str] = field(default_factory=list)
    policy_changes: list[str] = field(default_factory=list)
    # Whether the key vouched for the anchors (derived each of the own site's
    # commitments), and how, in one line.
    anchors_from_key: bool = False
    anchors_derived: int = 0
    anchors: str = ""
    checkpoint: str | None = None
    witness: dict[str, Any] = field(default_factory=dict)
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


def _wanted(text: str | None) -> tuple[tuple[int, str] | None, Path | None]:
    """``--checkpoint``: SEQ:HASH, or the path of a checkpoint note."""
    if not text or CHECKPOINT_PATTERN.match(text.strip()):
        return (parse_checkpoint(text) if text else None), None
    if Path(text).is_file():
        return None, Path(text)
    raise BadInput(
        f"checkpoint {text!r} is neither SEQ:HASH as `screening audit checkpoint` prints "
        "it nor a checkpoint file"
    )


def verify(
    ctx: Context, checkpoint: str | None = None, progress: Callable[[int], None] | None = None
) -> Report:
    wanted, kept = _wanted(checkpoint)
    report = Report(checkpoint=checkpoint)
    outcome: dict[str, Any] | None = None
    master, why_no_key = _own_key(ctx)
    anchors = KeyAnchors(ctx.site, master, why_no_key)
    with SpillFile() as spill, ctx.database.read() as session:
        replay = Replay(spill.map)
        first = session.execute(sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == 1)).first()
        origin = origin_of(first[0]) if first else None
        notes = witnessed.read_all(ctx.settings, origin)
        if kept is not None and origin is not None:
            try:
                notes.checkpoints.append(witnessed.checkpoint_file(ctx.settings, origin, kept))
            except BadNote as why:
                notes.problems.insert(0, f"the checkpoint file {kept} cannot be trusted: {why}")
        follower = Follower({seen.checkpoint.size for seen in notes.checkpoints})
        try:
            verify_rows.check_types(session)  # before anything reads a value
            staff = _walk_chain(session, report, replay, anchors, wanted, progress, follower)
            if wanted is not None and report.entries < wanted[0]:
                raise Broken(
                    None,
                    f"the ledger ends at entry {report.entries} but the "
                    f"checkpoint names entry {wanted[0]}: entries were removed",
                )
            outcome = check_witnessed(notes.checkpoints, notes.anchors, follower, report.entries)
            if notes.problems:
                raise Broken(None, notes.problems[0])
            replay.finish(lambda site: master if site == ctx.site else None)
            verify_rows.check_links(session)
            verify_rows.check_salts(session)
            _check_domain(session, report, replay)
            _check_sites(session, replay, staff)
            verify_rows.check_ids(session)  # last: a row deleted is named by its entry
        except Broken as broken:
            report.problem, report.problem_seq = broken.message, broken.seq
    report.replayed, report.replayed_locally = replay.replayed, replay.replayed_locally
    report.not_replayed, report.late_draws = replay.not_replayed, replay.late_draws
    report.zone_changes, report.clock_back = replay.zone_changes, replay.clock_back
    report.late_entries, report.reversals = replay.late_entries, replay.reversals
    report.hold_excusals, report.late_closures = replay.hold_excusals, replay.late_closures
    report.policy_changes = replay.policy_changes
    report.witness = witnessed.summary(notes, outcome, ctx.now)
    if report.problem:  # never advise signing a checkpoint over a ledger that failed
        report.witness["warnings"] = [
            text for text in report.witness["warnings"] if "audit checkpoint` writes" not in text
        ]
    start = report.witness["witnessed_from"]
    if start and not report.problem:
        with ctx.database.read() as session:
            written = session.execute(sa.select(_LEDGER.c.at).where(_LEDGER.c.seq == 1)).scalar()
        first = report.witness["first_time"]
        report.witness["before_witnessing"] = written is not None and (
            parse_rfc3339(first) - as_utc(written) > timedelta(hours=1)
        )
    report.anchors_from_key, report.anchors_derived = anchors.from_key, anchors.derived
    report.anchors = anchors.summary()
    return report


def _own_key(ctx: Context) -> tuple[bytes | None, str | None]:
    """This installation's key, or why there is none: it vouches for its own site's
    anchors and replays that site's days not yet revealed. Other sites of a network
    keep keys of their own."""
    try:
        return read_key(ctx.settings.key_file), None
    except EnvironmentProblem as problem:
        return None, problem.message


def _walk_chain(
    session: Session,
    report: Report,
    replay: Replay,
    anchors: KeyAnchors,
    wanted: tuple[int, str] | None,
    progress: Callable[[int], None] | None,
    follower: Follower,
) -> dict[tuple[str, str], int]:
    """Walk the chain; returns the staff digests its entries name (the first entry of
    each), which must each have their name in the database."""
    staff: dict[tuple[str, str], int] = {}
    prev, next_seq = GENESIS_PREV, 1
    rows = session.execute(
        sa.select(
            _LEDGER.c.seq,
            _LEDGER.c.at,
            _LEDGER.c.site,
            _LEDGER.c.kind,
            _LEDGER.c.uid,
            _LEDGER.c.canonical,
            _LEDGER.c.hash,
        )
        .order_by(_LEDGER.c.seq)
        .execution_options(yield_per=BATCH)
    )
    for seq, at, site, kind, uid, canonical, stored_hash in rows:
        try:
            document = check_link(
                seq=seq,
                stored_hash=stored_hash,
                canonical=canonical,
                expected_seq=next_seq,
                expected_prev=prev,
                # The time to the second as the entry says it (a fraction shows too).
                columns={"site": site, "kind": kind, "at": _instant_text(at)},
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
        follower.take(stored_hash, kind, site, document.get("body"))
        anchors.take(seq, document)
        actor = document.get("actor")
        if isinstance(actor, dict):
            for name in ("os_digest", "as_digest"):
                if name in actor and (site, actor[name]) not in staff:
                    staff[(site, actor[name])] = seq
        approver = document["body"].get("approver") if kind == "screening" else None
        if isinstance(approver, str) and (site, approver) not in staff:
            staff[(site, approver)] = seq  # an excusal's or a reversal's approver
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
    return staff


def _instant_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _check_sites(session: Session, replay: Replay, staff: dict[tuple[str, str], int]) -> None:
    """Sites, their time zones and staff names against the ledger."""
    _match_rows(
        "site",
        sorted((seq, (name, {})) for name, seq in replay.sites.items()),
        (
            (row.created_seq, row.name, {})
            for (row,) in _stream(session, sa.select(Site).order_by(Site.created_seq))
        ),
    )
    salts = dict(session.execute(sa.select(Site.name, Site.salt)).all())
    zones = sa.select(SiteZone).order_by(SiteZone.ledger_seq)
    _match_rows(
        "site time zone",
        replay.zones.ordered(),
        (
            (
                z.ledger_seq,
                z.site,
                {
                    "timezone": z.timezone,
                    "starts_at": z.starts_at,
                    "reason": private_digest(salts.get(z.site, ""), z.reason),
                },
            )
            for (z,) in _stream(session, zones)
        ),
    )
    stored: set[tuple[str, str]] = set()
    for (row,) in _stream(session, sa.select(StaffName).order_by(StaffName.id)):
        salt = salts.get(row.site)
        if salt is None or private_digest(salt, row.name) != row.digest:
            raise Broken(
                None,
                f"a staff name (row {row.id}, site {row.site!r}) does not match its digest: "
                "it was changed outside screening",
            )
        stored.add((row.site, row.digest))
    for (site, digest), seq in sorted(staff.items(), key=lambda item: item[1]):
        if (site, digest) not in stored:
            raise Broken(seq, f"entry {seq}: the staff member it names has no name in the database")


class _StaffName:
    """A screening row's approver against its entry: older entries hold the name,
    newer ones its digest (salted with the site's salt)."""

    def __init__(self, name: str, salt: str | None) -> None:
        self.name, self.digest = name, private_digest(salt, name) if salt else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other in (self.name, self.digest)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


def _differences(row_state: dict[str, Any], ledger_state: dict[str, Any]) -> list[str]:
    return sorted(
        key
        for key in set(row_state) | set(ledger_state)
        if row_state.get(key) != ledger_state.get(key)
    )


def _check_domain(session: Session, report: Report, replay: Replay) -> None:
    """Every domain row against what the ledger says of it, as two streams merged in
    the same order: the replay's maps sorted by (entry, uid), and the rows read in
    entry order (the uid order within an entry is Python's, whatever the database's
    collation)."""
    report.clients = _check_clients(session, replay)
    # Outer joins throughout: a row whose parent is gone (foreign keys switched off and
    # a row deleted) must be named, not silently left out of the comparison.
    holds = (
        sa.select(Hold, Client)
        .outerjoin(Client, Client.id == Hold.client_id)
        .order_by(Hold.ledger_seq)
    )
    report.holds = _match_rows(
        "hold",
        replay.holds.ordered(),
        ((h.ledger_seq, c.site, hold_record(h, c)) for h, c in _stream(session, holds)),
    )
    closures = sa.select(Closure).order_by(Closure.ledger_seq)
    report.closures = _match_rows(
        "closure",
        replay.closures.ordered(),
        ((c.ledger_seq, c.site, closure_record(c)) for (c,) in _stream(session, closures)),
    )
    report.draws = _check_draws(session, replay)
    report.screenings = _check_screenings(session, replay)
    report.results = _check_results(session, replay)
    amendments = (
        sa.select(DrawAmendment, Draw.site, Draw.day)
        .outerjoin(Draw, Draw.id == DrawAmendment.draw_id)
        .order_by(DrawAmendment.ledger_seq)
    )
    _match_rows(
        "draw amendment",
        (
            (seq, (site, {"reason": body["reason"], "date": body["date"]}))
            for seq, (site, body) in replay.amendments.ordered()
        ),
        (
            (
                a.ledger_seq,
                site,
                {"reason": private_digest(a.salt, a.reason), "date": day and day.isoformat()},
            )
            for a, site, day in _stream(session, amendments)
        ),
    )


def _stream(session: Session, statement: Any) -> Iterator[Any]:
    """Rows a batch at a time, never the whole table in memory."""
    return iter(session.execute(statement.execution_options(yield_per=BATCH)))


def _check_screenings(session: Session, replay: Replay) -> int:
    # A recollection names the result entry of the specimen it repeats.
    repeated = aliased(Result)
    rows = (
        sa.select(
            Screening,
            Client.uid,
            Client.site,
            Draw.site.label("draw_site"),  # type: ignore[attr-defined]
            Draw.day.label("draw_day"),  # type: ignore[attr-defined]
            repeated.created_seq.label("because"),
            Site.salt.label("site_salt"),  # type: ignore[attr-defined]
        )
        .outerjoin(Client, Client.id == Screening.client_id)
        .outerjoin(Site, Site.name == Client.site)
        .outerjoin(Draw, Draw.id == Screening.draw_id)
        .outerjoin(repeated, repeated.screening_id == Screening.replaces_id)
        .order_by(Screening.created_seq)
    )
    return _match_rows(
        "screening",
        ((key, (state["site"], state)) for key, state in replay.screenings.ordered()),
        _in_key_order(
            ((row[0].created_seq, row.uid), row.site, _screening_state(row))
            for row in _stream(session, rows)
        ),
    )


def _screening_state(row: Any) -> dict[str, Any]:
    screening: Screening = row[0]
    drawn = screening.draw_id is not None
    state = {
        "date": screening.day.isoformat(),
        "reason": screening.reason,
        "status": screening.status,
        "due_by": screening.due_by,
        "site": row.site,
        "observed": screening.observed_required,
        "note": private_digest(screening.salt, screening.note),
        "status_note": private_digest(screening.salt, screening.status_note),
        "excuse": screening.excuse_code,
        "approved_by": (
            _StaffName(screening.approved_by, row.site_salt) if screening.approved_by else None
        ),
        "auto": screening.status_auto,
        "draw": f"{row.draw_site} {row.draw_day}" if drawn else None,
        # A recollection names the result entry of the specimen it repeats; a link to a
        # screening with no result is named as such (the ledger never records one).
        "because": (
            (row.because or f"screening {screening.replaces_id}, which has no result")
            if screening.replaces_id is not None
            else None
        ),
        "latest": screening.ledger_seq,
        "reversed": screening.reversed_status,
        "reversal_approver": (
            _StaffName(screening.reversal_approver, row.site_salt)
            if screening.reversal_approver
            else None
        ),
    }
    if drawn and row.draw_day != screening.day:
        state["date"] = f"{screening.day} (its draw is for {row.draw_day})"
    return state


def _check_results(session: Session, replay: Replay) -> int:
    """Every result names its screening and latest version as the ledger does, and every
    version's content hashes to the digest its entry holds."""
    results = (
        sa.select(
            Result.created_seq,
            Result.ledger_seq,
            Screening.created_seq,
            Client.uid,
            Client.site,
            Result.salt,
            Result.late_reason,
            Result.collected_at,
            Result.method,
            Result.specimen_type,
        )
        .outerjoin(Screening, Screening.id == Result.screening_id)
        .outerjoin(Client, Client.id == Screening.client_id)
        .order_by(Result.created_seq)
    )
    count = _match_rows(
        "result",
        (
            (
                seq,
                (
                    r["site"],
                    {
                        "screening": r["screening"],
                        "latest": r["latest"],
                        "late": r.get("late"),
                        "collected_at": None,  # whole seconds (its digest holds those)
                        "collected, method, specimen": r["stated"],
                    },
                ),
            )
            for seq, r in replay.results.ordered()
        ),
        (
            (
                created,
                site,
                {
                    "screening": (screening, uid),
                    "latest": latest,
                    "late": private_digest(salt, late_reason),
                    "collected_at": "a fraction of a second" if collected.microsecond else None,
                    "collected, method, specimen": (
                        rfc3339(as_utc(collected)),
                        method,
                        specimen,
                    ),
                },
            )
            for (
                created,
                latest,
                screening,
                uid,
                site,
                salt,
                late_reason,
                collected,
                method,
                specimen,
            ) in _stream(session, results)
        ),
    )
    _match_rows(
        "result version",
        (
            (seq, ("", {"result": result, "content": digest, "reason": reason}))
            for seq, (result, digest, reason) in replay.versions.ordered()
        ),
        _version_states(session),
    )
    return count


def _version_states(session: Session) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Each version's digest, recomputed from its row, its result's row and its analytes.
    Read as plain rows (no ORM objects: a million of them would cost minutes)."""
    versions, results = ResultVersion.__table__, Result.__table__
    rows = (
        sa.select(
            *(column.label(f"v_{column.name}") for column in versions.c),
            *(column.label(f"r_{column.name}") for column in results.c),
        )
        .outerjoin(results, results.c.id == versions.c.result_id)
        .order_by(versions.c.seq)
        .execution_options(yield_per=BATCH)
    )
    for batch in session.execute(rows).partitions():
        analytes = analyte_bodies_by_version(session, [row.v_id for row in batch])
        for row in batch:
            version = SimpleNamespace(
                **{key[2:]: value for key, value in row._mapping.items() if key[0] == "v"}
            )
            result = SimpleNamespace(
                **{key[2:]: value for key, value in row._mapping.items() if key[0] == "r"}
            )
            first = version.seq == result.created_seq
            try:
                digest = content_digest(
                    result, version, analytes.get(version.id, []), first=first, stored=True
                )  # type: ignore[arg-type]
            except (ValueError, TypeError, AttributeError) as error:
                # A stored list edited into something that is not one (bad JSON).
                digest = f"unreadable ({type(error).__name__})"
            yield (
                version.seq,
                "",
                {"result": result.created_seq, "content": digest, "reason": version.reason},
            )


def _check_clients(session: Session, replay: Replay) -> int:
    """Clients are matched by uid, so that a row moved to another entry or site is named."""
    rows = sa.select(Client).order_by(Client.ledger_seq)
    count = 0
    for (row,) in _stream(session, rows):
        known = replay.clients.get(row.uid)
        if known is None:
            raise Broken(
                None,
                f"client {row.uid} has a row in the database but no ledger entry "
                f"(clients row {row.id})",
            )
        seq, site, state = known
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
        count += 1
    if count != len(replay.clients):
        # Every row matched its uid's entry, so some entry has lost its row: the first.
        stored = _in_key_order(
            ((seq, uid), "", {})
            for seq, uid in _stream(
                session, sa.select(Client.ledger_seq, Client.uid).order_by(Client.ledger_seq)
            )
        )
        have = next(stored, None)
        for uid, (seq, _, _) in replay.clients.ordered():
            if have is not None and have[0] == (seq, uid):
                have = next(stored, None)
                continue
            raise Broken(
                seq,
                f"entry {seq} (client {uid}): the ledger records this client but "
                "the database row is gone",
            )
    return count


def _check_draws(session: Session, replay: Replay) -> int:
    expected = (
        (
            state.created_seq,
            (
                site,
                {
                    "date": day.isoformat(),
                    "latest": state.latest_seq,
                    "revealed": state.revealed_seq,
                    "late": state.late,
                    "drawn_at": state.at,
                    "reason": state.reason,
                },
            ),
        )
        for (site, day), state in replay.draws.ordered()
    )
    rows = sa.select(Draw).order_by(Draw.created_seq)
    return _match_rows(
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
            for (d,) in _stream(session, rows)
        ),
    )


def _in_key_order(rows: Iterable[tuple[Any, str, dict[str, Any]]]) -> Iterator[Any]:
    """Rows read in entry order, re-sorted by their whole key (entry, uid) within each
    entry."""
    group: list[tuple[Any, str, dict[str, Any]]] = []
    for row in rows:
        if group and _seq_of(row[0]) != _seq_of(group[0][0]):
            yield from sorted(group, key=lambda item: item[0])
            group = []
        group.append(row)
    yield from sorted(group, key=lambda item: item[0])


def _match_rows(
    label: str,
    expected: Iterable[tuple[Any, tuple[str, dict[str, Any]]]],
    rows: Iterable[tuple[Any, str, dict[str, Any]]],
) -> int:
    """Rows that one ledger entry each creates, merged with the replay's expectations
    (both in key order): every row matches its entry, and every entry still has its
    row. Returns how many matched."""
    wanted = iter(expected)
    ahead = next(wanted, None)
    gone: Any = None  # the first entry whose row is missing
    count, previous = 0, None
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
        where = _where(key)
        if not _well_formed(key):
            raise Broken(
                None,
                f"a {label} row names ledger entry {where!r}, which is not an entry number: "
                "it was changed outside screening",
            )
        if key == previous:
            raise Broken(_seq_of(key), f"entry {where} ({label}): two {label} rows name it")
        previous = key
        while ahead is not None and ahead[0] < key:
            gone = ahead[0] if gone is None else gone
            ahead = next(wanted, None)
        if ahead is None or ahead[0] != key:
            raise Broken(
                None, f"a {label} row names ledger entry {where}, which records no such {label}"
            )
        known_site, known = ahead[1]
        differs = _differences({**state, "site": site}, {**known, "site": known_site})
        if differs:
            raise Broken(
                _seq_of(key),
                f"entry {where} ({label}): the database row differs "
                f"from the ledger in {', '.join(differs)}{_said_by(_seq_of(key), known, differs)}",
            )
        count += 1
        ahead = next(wanted, None)
    if gone is None and ahead is not None:
        gone = ahead[0]
    if gone is not None:
        raise Broken(
            _seq_of(gone),
            f"entry {_where(gone)} ({label}): the ledger records a "
            f"{label} whose database row is gone",
        )
    return count


def _said_by(seq: int, known: dict[str, Any], differs: list[str]) -> str:
    """The later entries that made the ledger's side what it is (a status change, a hold
    ended, a closure withdrawn): a rewrite of one of them is named by its own number."""
    entries = {
        value["entry"]
        for name in differs
        if isinstance(value := known.get(name), dict) and isinstance(value.get("entry"), int)
    }
    if isinstance(known.get("latest"), int):
        entries.add(known["latest"])
    entries.discard(seq)
    if not entries:
        return ""
    return f" (as entry {', '.join(str(entry) for entry in sorted(entries))} says)"


def _well_formed(key: Any) -> bool:
    """An entry number, or (entry number, uid): what the merge can order."""
    if isinstance(key, tuple):
        return len(key) == 2 and type(key[0]) is int and isinstance(key[1], str)
    return type(key) is int


def _seq_of(key: Any) -> int:
    return key[0] if isinstance(key, tuple) else key


def _where(key: Any) -> str:
    return f"{key[0]}, client {key[1]}" if isinstance(key, tuple) else str(key)


def checkpoint(ctx: Context) -> str:
    from screening.services.plumbing.ledger import head

    with ctx.database.read() as session:
        last = head(session)
    if last is None:
        raise BadInput("the ledger is empty; run `screening init` first")
    return f"{last[0]}:{last[1]}"
