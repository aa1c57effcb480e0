"""Checkpoints of `audit verify` (issue 21): a verify that found nothing wrong writes
one (``--write-checkpoint FILE``), and a later one goes on from it
(``--from-checkpoint FILE``), reading only the entries appended since.

FILE is a few lines of text: the format, the ledger it belongs to (its first entry),
the head it was written at, when, and the name and SHA-256 of the state file beside it.
The state file holds everything the replay needs to go on from that head: its maps
(a copy of verify's spill file, services/plumbing/spill.py) and its in-memory parts,
the role and consent trackers, the witnesses' tree, the anchors counted, the staff
digests seen, each table's highest id. Uids, digests and dates only: no names. Both
files are readable by their owner only. The state is read back only if its digest is
the one FILE names, and unpickled only into the classes a replay holds
(core/replay/saved.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.core.anchors import KeyAnchors
from screening.core.ledger import parse_rfc3339, rfc3339
from screening.core.replay import Broken, Replay, Store
from screening.core.replay import saved as saved_state
from screening.core.witnessing import Follower
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput, EnvironmentProblem
from screening.services.audit.access_rows import RoleEntries
from screening.services.audit.consent_rows import ConsentEntries
from screening.services.plumbing.spill import DigestMismatch, SpillFile

FORMAT = "screening verify checkpoint 1"
_LEDGER = table_of(LedgerRow)
_HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_ANCHOR_COUNTS = ("derived", "not_derived", "other_sites", "rotated_seq")


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint file says."""

    file: Path
    origin: str  # the hash of the ledger's first entry: which ledger it is
    seq: int
    hash: str
    verified: datetime  # when the verify that wrote it ended
    full: datetime  # when the full verify it goes back to ended
    site: str
    state: Path
    digest: str

    def text(self) -> str:
        return "\n".join(
            [
                FORMAT,
                f"ledger {self.origin}",
                f"head {self.seq}:{self.hash}",
                f"verified {rfc3339(self.verified)}",
                f"full {rfc3339(self.full)}",
                f"site {self.site}",
                f"state {self.state.name}",
                f"state-sha256 {self.digest}",
                "",
            ]
        )


def read(file: Path) -> Checkpoint:
    """The checkpoint ``file`` names; refused (exit 2) unless it is one this version
    writes."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BadInput(f"no checkpoint file {file}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"the checkpoint file {file} cannot be read ({error})") from None
    if not lines or lines[0] != FORMAT:
        raise BadInput(
            f"{file} is not a checkpoint of this version of `audit verify` (its first line "
            f"is not {FORMAT!r}): run a full `audit verify --write-checkpoint FILE`"
        )
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    try:
        head = _HEAD.match(fields["head"])
        state = fields["state"]
        checkpoint = Checkpoint(
            file=file,
            origin=fields["ledger"],
            seq=int(head.group(1)) if head else -1,
            hash=head.group(2) if head else "",
            verified=parse_rfc3339(fields["verified"]),
            full=parse_rfc3339(fields["full"]),
            site=fields["site"],
            state=file.with_name(state),
            digest=fields["state-sha256"],
        )
    except (KeyError, ValueError):
        checkpoint = None
    if (
        checkpoint is None
        or checkpoint.seq < 1
        or not _DIGEST.match(checkpoint.digest)
        or not _DIGEST.match(checkpoint.origin)
        or "/" in state
        or state in ("", ".", "..")
    ):
        raise BadInput(
            f"the checkpoint file {file} is malformed: write it again with a full verify"
        )
    return checkpoint


def spill_from(checkpoint: Checkpoint) -> SpillFile:
    """A spill file that starts as the checkpoint's state, checked against its digest."""
    if not checkpoint.state.is_file():
        raise BadInput(f"the state file {checkpoint.state} of checkpoint {checkpoint.file} is gone")
    try:
        return SpillFile(saved=checkpoint.state, digest=checkpoint.digest, loads=saved_state.loads)
    except DigestMismatch:
        raise BadInput(
            f"the state file {checkpoint.state} is not the one checkpoint {checkpoint.file} "
            "names (its SHA-256 differs): run a full `audit verify`"
        ) from None
    except OSError as error:
        raise BadInput(f"the state file {checkpoint.state} cannot be read ({error})") from None


def check_origin(checkpoint: Checkpoint, site: str, first: str | None) -> None:
    """The checkpoint is of this ledger (``first``: its first entry's hash) and was
    written by this site's verify; else exit 2."""
    if first != checkpoint.origin:
        raise BadInput(f"the checkpoint {checkpoint.file} was written for another ledger")
    if site != checkpoint.site:
        raise BadInput(
            f"the checkpoint {checkpoint.file} was written by site {checkpoint.site!r}'s "
            f"verify, not {site!r}'s"
        )


def check_head(session: Session, checkpoint: Checkpoint) -> None:
    """The ledger still holds the checkpoint's head; else the history up to it changed."""
    stored = session.execute(
        sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == checkpoint.seq)
    ).scalar()
    if stored != checkpoint.hash:
        raise Broken(
            checkpoint.seq,
            f"entry {checkpoint.seq} is "
            + ("gone" if stored is None else "not the one the checkpoint names")
            + f": the history up to the checkpoint has changed ({checkpoint.file})",
        )


def _layout(replay: Replay, consents: ConsentEntries) -> dict[str, str]:
    """Which spill table holds which map: a state of another version has others."""
    maps = {f"replay.{k}": v for k, v in replay.maps().items()}
    maps.update({f"consents.{k}": v for k, v in vars(consents).items() if isinstance(v, Store)})
    return {name: getattr(store, "name", "") for name, store in maps.items()}


def _in_memory(consents: ConsentEntries) -> dict[str, Any]:
    """The consent tracker's own parts besides its maps (its clients are the replay's)."""
    return {k: v for k, v in vars(consents).items() if not isinstance(v, Store)}


def snapshot(
    replay: Replay,
    roles: RoleEntries,
    consents: ConsentEntries,
    follower: Follower,
    anchors: KeyAnchors,
    staff: dict[tuple[str, str], int],
    highs: dict[str, int],
) -> dict[str, bytes]:
    """What the walk leaves, as bytes, taken before the draws waiting for their key are
    replayed with the local key (a later verify replays them from the reveal)."""
    layout = _layout(replay, consents)
    parts: dict[str, Any] = {
        "layout": layout,
        "replay": replay.in_memory(),
        "roles": vars(roles),
        "consents": _in_memory(consents),
        "follower": follower,
        "anchors": {name: getattr(anchors, name) for name in _ANCHOR_COUNTS},
        "staff": staff,
        "highs": highs,
    }
    return {name: saved_state.dumps(value) for name, value in parts.items()}


def restore(
    spill: SpillFile,
    replay: Replay,
    roles: RoleEntries,
    consents: ConsentEntries,
    follower: Follower,
    anchors: KeyAnchors,
    checkpoint: Checkpoint,
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """The saved parts back in place; returns the staff digests seen and the highest ids."""

    def part(name: str, kind: type = dict) -> Any:
        data = spill.part(name)
        if data is None:
            raise BadInput(f"the state file {checkpoint.state} has no {name}: write it again")
        try:
            value = saved_state.loads(data)
        except saved_state.Refused as why:
            raise BadInput(f"the state file {checkpoint.state}: {why}") from None
        if not isinstance(value, kind):
            raise BadInput(f"the state file {checkpoint.state} has a malformed {name}")
        return value

    if part("layout") != _layout(replay, consents):
        raise BadInput(
            f"the state file {checkpoint.state} was written by another version of screening: "
            "run a full `audit verify --write-checkpoint FILE`"
        )
    try:
        replay.go_on_from(part("replay"))
        _same_parts(vars(roles), part("roles"))
        vars(roles).update(part("roles"))
        _same_parts(_in_memory(consents), part("consents"))
        vars(consents).update(part("consents"))
    except ValueError:
        raise BadInput(
            f"the state file {checkpoint.state} was written by another version of screening"
        ) from None
    saved: Follower = part("follower", Follower)
    # Witnessed sizes after the checkpoint are taken as the walk reaches them; those
    # before it are the ones the full verify took (a newer one before the checkpoint is
    # left to a full verify: the entries it covers are not read again).
    later = {size for size in follower.sizes if size > checkpoint.seq}
    if later:
        saved.sizes |= later
        saved._tail = bytearray()  # noqa: SLF001 (the tail runs from the newest size)
    vars(follower).update(vars(saved))
    for name, value in part("anchors").items():
        setattr(anchors, name, value)
    return part("staff"), part("highs")


def _same_parts(mine: dict[str, Any], saved: Any) -> None:
    if not isinstance(saved, dict) or set(saved) != set(mine):
        raise ValueError("other parts")


def write(
    spill: SpillFile,
    file: Path,
    parts: dict[str, bytes],
    head: str,
    origin: str,
    site: str,
    now: datetime,
    since: Checkpoint | None,
) -> Checkpoint:
    """``file`` and its state file beside it (``FILE.state``), each 0600."""
    seq, hash_ = head.split(":")
    state = file.with_name(file.name + ".state")
    try:
        digest = spill.save(state, parts)
        checkpoint = Checkpoint(
            file, origin, int(seq), hash_, now, since.full if since else now, site, state, digest
        )
        partial = file.with_name(file.name + ".partial")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(checkpoint.text())
        os.replace(partial, file)
    except OSError as error:
        raise EnvironmentProblem(f"the checkpoint {file} cannot be written ({error})") from None
    return checkpoint
