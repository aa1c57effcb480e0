"""What every writing command does first: record a changed policy, keep anchors ahead.

DESIGN §5: the ledger holds the anchor of every period before any draw in it; `init`
commits the current and the next 12 periods and later writes keep 12 ahead. DESIGN §6:
the policy in force is written whenever it changes.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from screening.config import Settings
from screening.core.access import WORKING
from screening.core.policy import policy_body, policy_digest
from screening.core.selection import anchor, chain_length, day_key, next_period, period_of
from screening.db.models import Draw, LedgerRow, table_of
from screening.errors import CheckFailed, EnvironmentProblem
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import read_key
from screening.services.plumbing.ledger import BY_SEQ, LedgerWriter, bodies, latest_body

log = logging.getLogger("screening")
PERIODS_AHEAD = 12
_LEDGER = table_of(LedgerRow)
_KEPT_UP = "screening.kept_up"  # the session's last upkeep: the day and the config


def periods_from(today: date, ahead: int = PERIODS_AHEAD) -> list[str]:
    periods = [period_of(today)]
    for _ in range(ahead):
        periods.append(next_period(periods[-1]))
    return periods


def record_policy(session: Session, writer: LedgerWriter, settings: Settings) -> bool:
    """Append a policy entry when the configured policy differs from the last recorded."""
    body = policy_body(settings)
    last = latest_body(session, settings.site.name, "policy")
    if last is not None and policy_digest(last) == policy_digest(body):
        return False
    writer.head()
    moved = (last or {}).get("beacon") != body.get("beacon")
    if moved and writer.head_at is not None and writer.now < writer.head_at:
        # The beacon rule decides from the next local day by this entry's time: with the
        # clock set back past midnight, a change could move a day's round after seeing
        # it (docs/threat-model.md). `audit verify` refuses such an entry too.
        raise EnvironmentProblem(
            "the config changes [beacon] or run_at, which decide the days after they are "
            "recorded, but this computer's clock is behind the ledger's last entry "
            f"({writer.head_at:%Y-%m-%d %H:%M:%S} UTC); nothing was written. Fix the clock "
            "and run the command again"
        )
    writer.append(settings.site.name, "policy", body)
    return True


def commit_anchors(
    session: Session,
    writer: LedgerWriter,
    settings: Settings,
    today: date,
    master: bytes | None = None,
) -> list[str]:
    """Append commitments for any of the next periods that have none. Returns them."""
    site = settings.site.name
    wanted = periods_from(today)
    latest = latest_body(session, site, "commitment")
    if latest is not None and latest["period"] == wanted[-1]:
        # Each write commits every missing period up to 12 ahead, in order, so the last
        # one being there means all are: the common case reads one entry, not them all.
        return []
    committed = {body["period"] for body in bodies(session, site, "commitment")}
    missing = [period for period in wanted if period not in committed]
    if not missing:
        return []
    if master is None:
        try:
            master = read_key(settings.key_file, group=settings.database_group)
        except EnvironmentProblem as problem:
            # Losing the key stops future draws but must not stop enrolment or results.
            log.warning("anchors for %s not committed: %s", ", ".join(missing), problem.message)
            return []
    for period in missing:
        writer.append(
            site,
            "commitment",
            {
                "period": period,
                "length": chain_length(period),
                "anchor": anchor(master, site, period).hex(),
            },
        )
    return missing


def reveal_due(
    session: Session,
    writer: LedgerWriter,
    settings: Settings,
    today: date,
    master: bytes | None = None,
    warn: bool = True,
) -> list[date]:
    """Reveal the day key of every drawn day that is over at the site (DESIGN §5), so
    that auditors can check yesterday's draw today. Returns the days revealed. When it
    cannot, ``writer.not_revealed`` says why, and so does a warning unless not ``warn``
    (`audit reveal` says it as its error)."""
    site = settings.site.name
    draws = session.exec(
        select(Draw)
        .where(Draw.site == site, Draw.day < today, col(Draw.revealed_seq).is_(None))
        .order_by(col(Draw.day))
    ).all()
    if not draws:
        return []
    if master is None:
        try:
            master = read_key(settings.key_file, group=settings.database_group)
        except EnvironmentProblem as problem:
            writer.not_revealed = problem
            if warn:
                log.warning("keys of past draws not revealed: %s", problem.message)
            return []
    for period in sorted({period_of(draw.day) for draw in draws}):
        # A key that did not make the period's anchor would reveal keys that open
        # nothing, for good: the ledger would never verify again. Enrolment and results
        # go on, as without a key.
        foreign = foreign_anchor(session, site, period, master)
        if foreign is not None:
            writer.not_revealed = CheckFailed(
                f"the key file {settings.key_file} does not match the anchor committed "
                f"for {period} in entry {foreign}; if it was replaced, restore the "
                "original from your backup, otherwise run `screening audit verify`"
            )
            if warn:
                log.warning("keys of past draws not revealed: %s", writer.not_revealed.message)
            return []
    for draw in draws:
        entry = writer.append(
            site,
            "reveal",
            {"date": draw.day.isoformat(), "key": day_key(master, site, draw.day).hex()},
        )
        draw.revealed_seq = entry.seq
        session.add(draw)
    return [draw.day for draw in draws]


def foreign_anchor(session: Session, site: str, period: str, master: bytes) -> int | None:
    """The entry of the first commitment of ``site`` for ``period`` that ``master`` did
    not make, or of the first that cannot be read (it names no period, so it could be
    any); None when the key made every one (or there is none).

    There is no key rotation yet (``key_rotation`` is a reserved kind): every anchor of a
    site is its one key's."""
    made = anchor(master, site, period)
    rows = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == "commitment")
        .order_by(BY_SEQ)  # by the (site, kind) index: plumbing/ledger.py
    )
    for seq, canonical in rows:
        try:
            body = json.loads(canonical)["body"]
            if body["period"] != period:
                continue
            if hmac.compare_digest(made, bytes.fromhex(body["anchor"])):
                continue
        except (ValueError, TypeError, KeyError):
            pass  # unreadable: not the key's
        return int(seq)
    return None


def keep_up(
    session: Session, writer: LedgerWriter, settings: Settings, today: date, warn: bool = True
) -> list[date]:
    """Policy, anchors and reveals: what any write brings up to date first."""
    record_policy(session, writer, settings)
    commit_anchors(session, writer, settings, today)
    return reveal_due(session, writer, settings, today, warn=warn)


@contextmanager
def writing(ctx: Context, warn: bool = True) -> Iterator[tuple[Session, LedgerWriter]]:
    """One writing transaction with its ledger writer, after the common upkeep; once it
    has committed, a checkpoint for the witnesses if it drew or committed anchors.
    ``warn``: warn when past days' keys cannot be revealed (`audit reveal` says why as
    its error instead)."""
    from screening.services.records.sites import before_writing
    from screening.services.witness.publishing import after_write

    with ctx.database.write(ctx.site) as session:
        writer = LedgerWriter(session, ctx.actor, ctx.now, ctx.settings.zone)
        # Before anything is written: a clock behind the ledger's head is refused.
        writer.check_clock()
        notice = before_writing(session, writer, ctx.settings, ctx.now)
        if notice:
            log.warning(notice)
        # In a batch (Database.batch) the session outlives the command: once the upkeep
        # of a day and config has been made and kept, it need not be made again.
        kept = session.info.get(_KEPT_UP)
        if kept is None or kept[0] != ctx.today or kept[1] is not ctx.settings:
            writer.revealed = keep_up(session, writer, ctx.settings, ctx.today, warn)
        yield session, writer
        # Last, so that a collection recorded just now is not first swept into a no-show.
        from screening.services.records.screenings import sweep_overdue

        session.flush()
        sweep_overdue(session, writer, ctx, ctx.now)
        session.info[_KEPT_UP] = (ctx.today, ctx.settings)
    # Committed now (or, in a batch, when the batch commits: Database.after_commit).
    after_write(ctx, writer.kinds)


@contextmanager
def recording(ctx: Context) -> Iterator[tuple[Session, LedgerWriter]]:
    """A transaction that only records what someone did (an export's disclosure), for a
    user who may change nothing else: the clock is checked as for every write, but none
    of the clinic's upkeep is made (an auditor's login may not make it on PostgreSQL).
    A user who holds a working role uses ``writing``, which also keeps the clinic up."""
    if ctx.roles & set(WORKING) or not ctx.roles:
        with writing(ctx) as opened:
            yield opened
        return
    with ctx.database.write(ctx.site) as session:
        writer = LedgerWriter(session, ctx.actor, ctx.now, ctx.settings.zone)
        writer.check_clock()
        yield session, writer
