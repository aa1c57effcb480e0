"""`audit verify` and `audit checkpoint` (DESIGN §6): the walk and its report.

Verify streams the ledger once, in order: every hash and link, then the replay of what
each entry says (core/replay/), including every draw recomputed from its key; then it
checks the tables as a whole (audit/rows.py), every client, hold, closure, draw and
screening row against what the ledger says (audit/domain.py) and the sites and staff
names (audit/sites.py). The same walk takes the ledger's tree head at every size a
witness folder holds a checkpoint of (services/witness/read.py reads them,
core/witnessing.py compares), so that a history rewritten with its chain recomputed, or
cut short, is named by the first witnessed checkpoint it breaks.
It reports the first problem, by ledger entry and client uid (never by name or code:
auditors run this).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.anchors import KeyAnchors
from screening.core.canonical import private_digest
from screening.core.checkpoint import BadNote, origin_of
from screening.core.ledger import GENESIS_PREV, BrokenLink, check_link, parse_rfc3339, subject
from screening.core.replay import Broken, Replay
from screening.core.witnessing import Follower
from screening.core.witnessing import check as check_witnessed
from screening.db.models import LedgerRow, Site, table_of
from screening.errors import BadInput, EnvironmentProblem
from screening.services.audit import resume, resume_write
from screening.services.audit.access_rows import RoleEntries, check_grants
from screening.services.audit.consent_rows import ConsentEntries, check_consents
from screening.services.audit.domain import check_domain
from screening.services.audit.merge import BATCH
from screening.services.audit.one_site import check_foreign_link, commitment_body, require_site
from screening.services.audit.recent import Recent, check_new_ids, highest_ids
from screening.services.audit.recent_rows import check_recent
from screening.services.audit.report import Report
from screening.services.audit.row_states import second_process
from screening.services.audit.rows import check_ids, check_links, check_salts, check_types
from screening.services.audit.sites import check_sites
from screening.services.audit.unread import Unread, sites_out_of_sight
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import read_key
from screening.services.plumbing.ledger import as_utc, head
from screening.services.plumbing.spill import SpillFile
from screening.services.witness import read as witnessed

_LEDGER = table_of(LedgerRow)
CHECKPOINT_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")
_CHANGED = "the history up to it has been changed"


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


def ledger_length(ctx: Context) -> int:
    """How many entries the ledger holds: what a progress bar of `verify` counts to."""
    with ctx.database.read() as session:
        return (head(session) or (0, ""))[0]


def verify(
    ctx: Context,
    checkpoint: str | None = None,
    progress: Callable[[int], None] | None = None,
    write_checkpoint: Path | None = None,
    from_checkpoint: Path | None = None,
    site: str | None = None,
) -> Report:
    """The whole ledger; or, ``from_checkpoint``, only the entries after the head of a
    checkpoint an earlier verify wrote (services/audit/resume.py). ``write_checkpoint``:
    if nothing is wrong, a checkpoint a later verify can go on from. ``site``: verify
    that site of a network only (audit/one_site.py says what that checks and what it
    leaves to the full verify)."""
    if site is not None and (write_checkpoint or from_checkpoint):
        raise BadInput(
            "--site verifies one site of the whole ledger; a verify checkpoint covers "
            "every site: use --site without --write-checkpoint or --from-checkpoint"
        )
    wanted, kept = _wanted(checkpoint)
    report = Report(checkpoint=checkpoint, site=site)
    outcome: dict[str, Any] | None = None
    master, why_no_key = _own_key(ctx)
    anchors = KeyAnchors(ctx.site, master, why_no_key)
    since = resume.read(from_checkpoint) if from_checkpoint else None
    if write_checkpoint is not None:
        resume_write.check_target(ctx, write_checkpoint, since)
    saved: dict[str, bytes] = {}
    # The witnesses' notes are read before the ledger's state is taken: a checkpoint read
    # first covers only entries that state holds, but one written by another command
    # after it (the transaction's snapshot) would look like entries removed.
    with ctx.database.read() as session:
        first = session.execute(sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == 1)).first()
    origin = origin_of(first[0]) if first else None
    notes = witnessed.read_all(ctx.settings, origin)
    if kept is not None and origin is not None:
        try:
            notes.checkpoints.append(witnessed.checkpoint_file(ctx.settings, origin, kept))
        except BadNote as why:
            notes.problems.insert(0, f"the checkpoint file {kept} cannot be trusted: {why}")
    spilled = resume.spill_from(since) if since else SpillFile()
    with (
        spilled as spill,
        ctx.database.read() as session,
        second_process(ctx.database, session, whole=site is None and since is None) as second,
    ):
        replay = Replay(spill.map)
        if session.execute(sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == 1)).first() != first:
            raise EnvironmentProblem(
                "the ledger's first entry changed while verify began; run `screening audit "
                "verify` again"
            )
        follower = Follower({seen.checkpoint.size for seen in notes.checkpoints})
        roles = RoleEntries()
        consents = ConsentEntries(spill.map, replay.clients)
        staff: dict[tuple[str, str], int] = {}
        recent = None
        if since is not None:
            resume.check_origin(since, ctx.site, first[0] if first else None)
            staff, highs = resume.restore(spill, replay, roles, consents, follower, anchors, since)
            recent = Recent(since.seq, highs)
            notes.checkpoints = [  # those before it the verify that wrote it took
                seen
                for seen in notes.checkpoints
                if seen.checkpoint.size in follower.roots or seen.checkpoint.size > since.seq
            ]
        hidden = sites_out_of_sight(session)
        if site is not None:
            require_site(
                set(session.execute(sa.select(col(Site.name))).scalars()) | set(hidden), site
            )
            hidden = [name for name in hidden if name == site]
        if hidden:
            raise EnvironmentProblem(
                f"this login cannot read the rows of site {', '.join(hidden)} (the "
                "database keeps each login to its own sites), and verify compares every "
                "site's rows with the ledger: run it as an auditor's login (`screening "
                "access grant LOGIN auditor`) or as the tables' owner"
                + ("" if site is not None else ", or verify one of your sites with --site")
            )
        try:
            check_types(session, recent)  # before anything reads a value
            if since is not None:
                resume.check_head(session, since)
                report.entries, report.head = since.seq, f"{since.seq}:{since.hash}"
                if wanted is not None and wanted[0] <= since.seq:
                    _check_wanted(session, wanted)
            staff = _walk_chain(
                session,
                report,
                replay,
                anchors,
                wanted,
                progress,
                follower,
                (roles, consents),
                (since.seq, since.hash, staff) if since else (0, GENESIS_PREV, staff),
                only=site,
            )
            if write_checkpoint is not None:  # before the local key replays waiting draws
                saved = resume.snapshot(
                    replay, roles, consents, follower, anchors, staff, highest_ids(session)
                )
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
            if site is None:  # whole tables: a site's verify leaves them to the full one
                check_links(session, recent)
            unread = Unread(session)  # an auditor's login reads no names or codes
            report.unread = unread.names()
            check_salts(session, unread, recent)
            if recent is None:
                check_domain(session, report, replay, unread, second, site=site)
            else:
                check_recent(session, report, replay, consents, unread, recent)
            check_sites(session, replay, staff, unread, site=site)
            check_grants(session, roles, site=site)
            if recent is None:
                check_consents(session, consents, unread, site=site)
                if site is None:
                    check_ids(session)  # last: a row deleted is named by its entry
            else:
                check_new_ids(session, recent.highs)
        except Broken as broken:
            report.problem, report.problem_seq = broken.message, broken.seq
        if since is not None and recent is not None:
            report.from_checkpoint = resume.summary(since, report.entries, recent.compared)
        if write_checkpoint is not None and report.ok and saved and first and report.head:
            kept_as = resume_write.write(
                spill, write_checkpoint, saved, report.head, first[0], ctx.site, ctx.now, since
            )
            report.wrote_checkpoint = str(kept_as.file)
    report.replayed, report.replayed_locally = replay.replayed, replay.replayed_locally
    report.not_replayed, report.late_draws = replay.not_replayed, replay.late_draws
    report.zone_changes, report.clock_back = replay.zone_changes, replay.clock_back
    report.late_entries, report.reversals = replay.late_entries, replay.reversals
    report.hold_excusals, report.late_closures = replay.hold_excusals, replay.late_closures
    report.policy_changes = replay.policy_changes
    report.beacon_rounds = replay.beacon_rounds
    report.missing_beacons, report.early_beacons = replay.missing_beacons, replay.early_beacons
    report.without_role = roles.without_role
    if roles.without_role_count > len(roles.without_role):
        report.without_role.append(
            f"... and {roles.without_role_count - len(roles.without_role)} more entries "
            "written by a user without a role for them"
        )
    report.witness = witnessed.summary(notes, outcome, ctx.now)
    if since is not None and ctx.now < since.verified:
        report.witness["warnings"].append(resume_write.clock_behind(ctx.now, since))
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


def _check_wanted(session: Session, wanted: tuple[int, str]) -> None:
    """``--checkpoint`` before an incremental verify's start: its entry, read alone."""
    stored = session.execute(sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == wanted[0])).scalar()
    if stored != wanted[1]:
        raise Broken(
            wanted[0],
            f"entry {wanted[0]} does not match the checkpoint: the history up to it has been "
            "changed",
        )


def _own_key(ctx: Context) -> tuple[bytes | None, str | None]:
    """This installation's key, or why there is none: it vouches for its own site's
    anchors and replays that site's days not yet revealed. Other sites of a network
    keep keys of their own."""
    try:
        return read_key(ctx.settings.key_file, group=ctx.settings.database_group), None
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
    kept: tuple[RoleEntries, ConsentEntries],
    start: tuple[int, str, dict[tuple[str, str], int]],
    only: str | None = None,
) -> dict[tuple[str, str], int]:
    """Walk the chain after entry ``start`` (its seq, its hash and the staff seen up to
    it); returns the staff digests its entries name (the first entry of each), which
    must each have their name in the database. ``only``: the site whose entries are
    read; another site's are links of the chain only (audit/one_site.py)."""
    roles, consents = kept
    next_seq, prev, staff = start[0] + 1, start[1], dict(start[2])
    rows = session.execute(
        sa.select(
            _LEDGER.c.seq,
            _LEDGER.c.at,
            _LEDGER.c.site,
            _LEDGER.c.kind,
            _LEDGER.c.uid,
            _LEDGER.c.login,
            _LEDGER.c.canonical,
            _LEDGER.c.hash,
        )
        .where(_LEDGER.c.seq >= next_seq)
        .order_by(_LEDGER.c.seq)
        .execution_options(yield_per=BATCH)
    )
    salts: dict[str, str] = dict(session.execute(sa.select(col(Site.name), col(Site.salt))).all())
    for seq, at, site, kind, uid, login, canonical, stored_hash in rows:
        if only is not None and site != only:
            check_foreign_link(seq, stored_hash, canonical, next_seq, prev, site, replay)
            follower.take(stored_hash, kind, site, commitment_body(kind, canonical))
            if wanted is not None and seq == wanted[0] and stored_hash != wanted[1]:
                raise Broken(seq, f"entry {seq} does not match the checkpoint: {_CHANGED}")
            prev, next_seq, report.entries = stored_hash, seq + 1, seq
            report.head = f"{seq}:{stored_hash}"
            if progress is not None and seq % BATCH == 0:
                progress(seq)
            continue
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
        if login is not None:
            _written_by(seq, site, login, actor, salts)
        if isinstance(actor, dict):
            for name in ("os_digest", "as_digest", "login_digest"):
                if name in actor and (site, actor[name]) not in staff:
                    staff[(site, actor[name])] = seq
        roles.judge(seq, site, kind, document.get("actor"), document["at"])
        consents.take(seq, site, kind, document["body"], actor)
        if kind == "role":
            roles.take(seq, site, document["body"])
            user = document["body"]["user"]
            if (site, user) not in staff:
                staff[(site, user)] = seq  # the user a role was granted to
        approver = document["body"].get("approver") if kind == "screening" else None
        if isinstance(approver, str) and (site, approver) not in staff:
            staff[(site, approver)] = seq  # an excusal's or a reversal's approver
        if wanted is not None and seq == wanted[0] and stored_hash != wanted[1]:
            raise Broken(
                seq,
                f"entry {seq} does not match the checkpoint: {_CHANGED}",
            )
        prev, next_seq = stored_hash, seq + 1
        report.entries = seq
        report.head = f"{seq}:{stored_hash}"
        if progress is not None and seq % BATCH == 0:
            progress(seq)
    return staff


def _written_by(seq: int, site: str, login: str, actor: Any, salts: dict[str, str]) -> None:
    """An entry written on PostgreSQL names as its writer the login that wrote its row:
    one login writing in another's name (a forged read in the access log, say) is named."""
    claimed = actor.get("login_digest") if isinstance(actor, dict) else None
    if claimed != private_digest(salts.get(site, ""), login):
        raise Broken(
            seq,
            f"entry {seq} was written by the database login {login!r}, but it names "
            "another user as its writer",
        )


def _instant_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def checkpoint(ctx: Context) -> str:
    with ctx.database.read() as session:
        last = head(session)
    if last is None:
        raise BadInput("the ledger is empty; run `screening init` first")
    return f"{last[0]}:{last[1]}"
