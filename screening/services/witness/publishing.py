"""Checkpoints that keep themselves (issue 14): the ledger's signed tree head, and the
anchors of every committed period, handed to witnesses outside the database.

A hash chain shows that no entry changed in place; it cannot show that the whole chain
was not rewritten, cut short or replaced. A checkpoint kept elsewhere can: `audit
verify` proves each one a prefix of the ledger (core/merkle.py). So one is made after
every committed draw, amendment or commitment, on `init`, once a day by the daily job
and on `audit checkpoint`, and goes to every witness: the folder ``screening-witness``
beside the config (always), the [witness] folders, e-mail addresses and commands.

The checkpoint is made after the transaction committed and never undoes it: a witness
that fails gets one warning naming it and the fix, and is sent the newest checkpoint
and any anchors it lacks the next time. What each witness has had is kept in
``screening-witness/deliveries.json`` (0600), locked while a checkpoint is made so that
two processes take turns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from screening.config import Settings
from screening.core import checkpoint as notes
from screening.core.merkle import Tree
from screening.db.engine import Database
from screening.db.models import LedgerRow, table_of
from screening.errors import CheckFailed, EnvironmentProblem, ScreeningError
from screening.services.plumbing.context import Context
from screening.services.plumbing.keys import create_witness_key, read_witness_key
from screening.services.plumbing.transport import DeliveryFailed
from screening.services.witness.delivery import (
    Alarm,
    DeliveryState,
    Note,
    Witness,
    log_folder,
    sync_folders,
    witnesses,
)

log = logging.getLogger("screening")
WITNESSED = frozenset({"draw", "draw_amend", "commitment"})
STATE = "deliveries.json"
BATCH = 5000
_LEDGER = table_of(LedgerRow)


@dataclass
class Published:
    """A checkpoint made and where it went."""

    checkpoint: notes.Checkpoint
    vkey: str
    file: Path | None  # in the local witness folder, once written there
    delivered: list[str] = field(default_factory=list)  # witnesses that have it
    failed: list[str] = field(default_factory=list)  # one warning per witness
    anchors: list[str] = field(default_factory=list)  # "site period" newly published
    key_created: Path | None = None
    first: bool = False  # the installation's first checkpoint

    def as_dict(self) -> dict[str, Any]:
        point = self.checkpoint
        return {
            "origin": point.origin,
            "size": point.size,
            "root": base64.b64encode(point.root).decode(),
            "head": point.head,
            "time": point.time.isoformat(),
            "file": str(self.file) if self.file else None,
            "vkey": self.vkey,
            "delivered": self.delivered,
            "failed": self.failed,
            "anchors": self.anchors,
        }


def checkpoint_name(point: notes.Checkpoint) -> str:
    return f"checkpoints/{point.size:012d}-{point.time:%Y%m%dT%H%M%SZ}.checkpoint"


def after_write(ctx: Context, kinds: set[str]) -> None:
    """The hook of every writing command (services/upkeep.writing): a checkpoint once a
    draw, amendment or commitment is committed (after a batch, once it commits)."""
    if kinds & WITNESSED:

        def witness() -> None:
            publish_quietly(ctx.settings, ctx.database, ctx.now, full=False)

        ctx.database.after_commit("witness", witness)


def publish_quietly(
    settings: Settings, database: Database, now: Any, daily: bool = False, full: bool = True
) -> Published | None:
    """``publish``, with any problem a warning: the write it follows is committed."""
    try:
        published = publish(settings, database, now, daily=daily, full=full)
    except ScreeningError as problem:
        log.warning("no checkpoint was made for the witnesses: %s", problem.message)
        return None
    except Exception as unexpected:  # never fail a committed write; say what failed
        log.warning(
            "no checkpoint was made for the witnesses (unexpected %s); "
            "run `screening audit checkpoint` to see why",
            type(unexpected).__name__,
        )
        return None
    if published is not None and published.key_created is not None:
        # A clinic older than witnessing, at its first checkpoint.
        log.warning(
            "created the witness key %s, which signs the checkpoints: back it up now, "
            "apart from the master key",
            published.key_created,
        )
    return published


def publish(
    settings: Settings, database: Database, now: datetime, daily: bool = False, full: bool = True
) -> Published | None:
    """Make, sign and deliver a checkpoint of the whole ledger, and the anchors notes
    not yet delivered. None when the ledger is empty, or when ``daily`` and a
    checkpoint was made today at the site already."""
    now = now.astimezone(UTC).replace(microsecond=0)
    with DeliveryState(settings.witness_folder / STATE) as state:
        last = state.last()
        if (
            daily
            and last is not None
            and _local_day(last["time"], settings) == _local_day(now.isoformat(), settings)
        ):
            return None
        made = _read_ledger(database, now, last, full)
        if made is None:
            return None
        point, anchors, changed, peaks = made
        witnessed = state.origin()
        if witnessed is not None and witnessed != point.origin:
            raise CheckFailed(
                f"this ledger's first entry is not the one the witnesses hold (log "
                f"{witnessed}; this ledger is {point.origin}): the ledger was replaced. No "
                "checkpoint was signed, so the witnesses keep vouching for the ledger they "
                "had; run `screening audit verify`"
            )
        if changed:
            # Never sign over a history that differs from the one signed before: a
            # witness that keeps only the newest checkpoint would then vouch for it.
            raise CheckFailed(
                f"{changed[0]}. No checkpoint was signed, so the witnesses keep vouching for "
                "the history as it was"
            )
        if witnessed is None:  # the first checkpoint of this ledger here
            last = None
            state.start(point.origin)
        key, created = _witness_key(settings, point.origin, _founder(database))
        name = point.origin
        vkey = notes.vkey(name, notes.public_bytes(key.public_key()))
        note = Note(
            "checkpoint",
            checkpoint_name(point),
            notes.sign(point.text(), name, key),
            f"screening checkpoint {point.origin} {point.size}",
        )
        anchor_notes = {
            f"{site} {period}": Note(
                "anchors",
                f"anchors/{site}-{period}.anchors",
                notes.sign(notes.anchors_text(point.origin, items), name, key),
                f"screening anchors {point.origin} {site} {period}",
            )
            for (site, period), items in anchors.items()
        }
        done = Published(point, vkey, None)
        done.key_created = settings.witness_key_file if created else None
        done.first = last is None and not _any_checkpoint(settings.witness_folder, point.origin)
        for witness in witnesses(settings):
            _deliver(settings, state, witness, point, vkey, note, anchor_notes, done)
        state.made(point, peaks)
    return done


def _deliver(
    settings: Settings,
    state: DeliveryState,
    witness: Witness,
    point: notes.Checkpoint,
    vkey: str,
    note: Note,
    anchor_notes: dict[str, Note],
    done: Published,
) -> None:
    """The checkpoint, then the anchors this witness has not had; one warning at most."""
    had = state.anchors(witness.key)
    local = witness.target == settings.witness_folder
    try:
        witness.deliver(settings, point.origin, vkey, note)
        if local:
            done.file = log_folder(witness.target, point.origin) / note.path
        for label, anchors_note in anchor_notes.items():
            digest = hashlib.sha256(anchors_note.text.encode()).hexdigest()
            if had.get(label) == digest:
                continue
            witness.deliver(settings, point.origin, vkey, anchors_note)
            had[label] = digest
            if local:
                done.anchors.append(label)
        if witness.kind == "folder":
            sync_folders(witness.target, point.origin)
    except DeliveryFailed as failure:
        state.failed(witness.key, str(failure))
        if isinstance(failure, Alarm):
            text = f"{witness.name}: {failure}"
        else:
            text = (
                f"the checkpoint of entries 1-{point.size} did not reach {witness.name}: "
                f"{failure}; {witness.fix}. It is sent again with the next checkpoint"
            )
        done.failed.append(text)
        log.warning(text)
        return
    state.delivered(witness.key, point)
    done.delivered.append(witness.name)


def _founder(database: Database) -> str | None:
    """The site whose `init` began the ledger (entry 1): the one that makes the witness
    key of a network of sites, which share one ledger and so one witness key."""
    with database.read() as session:
        return session.execute(sa.select(_LEDGER.c.site).where(_LEDGER.c.seq == 1)).scalar()


def _witness_key(settings: Settings, origin: str, founder: str | None) -> tuple[Any, bool]:
    """The witness key; made here the first time this installation is witnessed (on
    `init`, or the first checkpoint of a clinic older than witnessing), by the site that
    began the ledger. The other sites of a network copy it: checkpoints of one ledger
    signed by several keys would each make the others look forged."""
    path = settings.witness_key_file
    if path.exists() or path.is_symlink():
        return read_witness_key(path, settings.database_group), False
    if (log_folder(settings.witness_folder, origin) / "witness.vkey").exists():
        raise EnvironmentProblem(
            f"the witness key file {path} is missing; restore it from its backup "
            "(checkpoints already witnessed can be checked only with the key that signed them)"
        )
    if founder is not None and founder != settings.site.name:
        raise EnvironmentProblem(
            f"this ledger is shared with site {founder!r}, which began it: the sites of a "
            f"network share its witness key. Copy {founder}'s witness key file "
            f"(screening-witness.key beside its config) to {path}, mode 0600"
        )
    try:
        return create_witness_key(path), True
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot create the witness key file {path}: {error.strerror}"
        ) from None


def _any_checkpoint(folder: Path, origin: str) -> bool:
    checkpoints = log_folder(folder, origin) / "checkpoints"
    return checkpoints.is_dir() and any(checkpoints.glob("*.checkpoint"))


def _read_ledger(
    database: Database, now: datetime, last: dict[str, Any] | None, full: bool
) -> (
    tuple[notes.Checkpoint, dict[tuple[str, str], list[notes.Anchor]], list[str], list[bytes]]
    | None
):
    """The checkpoint of the ledger as it is, its commitments by site and period, and a
    warning when the ledger is no longer what the last checkpoint made here covered.

    After a write (not ``full``) the tree resumes from the last checkpoint's compact
    range when the ledger still holds its head entry: a rewrite with the chain
    recomputed changes that entry's hash, and the whole ledger is read again. Every
    other checkpoint (the daily one, by hand) reads every entry."""
    warnings: list[str] = []
    last_size = int(last["size"]) if last else 0
    with database.read() as session:
        genesis = session.execute(
            sa.select(_LEDGER.c.hash).order_by(_LEDGER.c.seq).limit(1)
        ).scalar()
        if genesis is None:
            return None
        tree, head = _resumed(session, last) if not full else (None, "")
        start = last_size if tree is not None else 0
        tree = tree or Tree()
        rows = session.execute(
            sa.select(_LEDGER.c.hash)
            .where(_LEDGER.c.seq > start)
            .order_by(_LEDGER.c.seq)
            .execution_options(yield_per=BATCH)
        ).scalars()
        for head in rows:
            tree.append(bytes.fromhex(head))
            if (
                last is not None
                and tree.size == last_size
                and base64.b64encode(tree.root()).decode() != last["root"]
            ):
                warnings.append(
                    f"the first {last_size} entries of the ledger no longer hash to the "
                    f"checkpoint made at {last['time']}: the history was changed; run "
                    "`screening audit verify`"
                )
        if last is not None and tree.size < last_size:
            warnings.append(
                f"the ledger holds {tree.size} entries, but the checkpoint made at "
                f"{last['time']} covered {last_size}: entries were removed, or the database "
                "was restored from an older backup; run `screening audit verify`"
            )
        commitments = _commitments(session, tree.size)
    anchors: dict[tuple[str, str], list[notes.Anchor]] = {}
    for seq, site, canonical in commitments:
        body = json.loads(canonical)["body"]
        anchors.setdefault((site, body["period"]), []).append(
            notes.Anchor(site, body["period"], int(body["length"]), body["anchor"], seq)
        )
    point = notes.Checkpoint(notes.origin_of(genesis), tree.size, tree.root(), now, head)
    return point, anchors, warnings, tree.peaks


def _commitments(session: Any, size: int) -> list[Any]:
    """The commitment entries among the first ``size``, in order: read by the ledger's
    (site, kind) index, one site at a time, not by a scan of the whole ledger (which
    every write's checkpoint made: half of a draw's time at 10^6 entries). The sites are
    the ledger's own, found by skipping from one to the next along the same index."""
    sites = sa.text(
        "WITH RECURSIVE s(site) AS (SELECT min(site) FROM ledger UNION ALL "
        "SELECT (SELECT min(site) FROM ledger WHERE site > s.site) FROM s "
        "WHERE s.site IS NOT NULL) SELECT site FROM s WHERE site IS NOT NULL"
    )
    names = list(session.execute(sites).scalars())
    rows = session.execute(
        sa.select(_LEDGER.c.seq, _LEDGER.c.site, _LEDGER.c.canonical).where(
            _LEDGER.c.site.in_(names), _LEDGER.c.kind == "commitment"
        )
    ).all()
    return sorted((row for row in rows if row[0] <= size), key=lambda row: row[0])


def _resumed(session: Any, last: dict[str, Any] | None) -> tuple[Tree | None, str]:
    """The last checkpoint's tree, if the ledger still ends its first entries with the
    head it covered; else None (the ledger is read from its start)."""
    if last is None or not isinstance(last.get("peaks"), list) or not last.get("head"):
        return None, ""
    size = int(last["size"])
    stored = session.execute(sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == size)).scalar()
    if stored != last["head"]:
        return None, ""
    try:
        peaks = [base64.b64decode(peak, validate=True) for peak in last["peaks"]]
        tree = Tree.resume(size, peaks)
    except (ValueError, TypeError):
        return None, ""
    if base64.b64encode(tree.root()).decode() != last["root"]:
        return None, ""
    return tree, stored


def _local_day(instant: str, settings: Settings) -> str:
    return datetime.fromisoformat(instant).astimezone(settings.zone).date().isoformat()
