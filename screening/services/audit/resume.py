"""Checkpoints of `audit verify` (issue 21): a verify that found nothing wrong writes
one (``--write-checkpoint FILE``), and a later one goes on from it
(``--from-checkpoint FILE``), reading only the entries appended since.

FILE is a few lines of text: the format, the ledger it belongs to (its first entry),
the head it was written at, when, the name and SHA-256 of the state file beside it
(its base name: the pair may be moved together), and a ``check`` line, the SHA-256 of
the others, so that a checkpoint edited by hand is refused as damaged rather than read
as a ledger changed.
The state file holds everything the replay needs to go on from that head: its maps
(a copy of verify's spill file, services/plumbing/spill.py) and its in-memory parts,
the role and consent trackers, the witnesses' tree, the anchors counted, the staff
digests seen, each table's highest id. Uids, digests and dates only: no names. Both
files are readable by their owner only. The state is read back only if its digest is
the one FILE names, and unpickled only into the classes a replay holds
(core/replay/saved.py). Writing them: services/audit/resume_write.py.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
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
from screening.errors import BadInput
from screening.services.audit.access_rows import RoleEntries
from screening.services.audit.consent_rows import ConsentEntries
from screening.services.plumbing.spill import DigestMismatch, SpillFile

FAMILY = "screening verify checkpoint "  # every version's first line begins so
FORMAT = FAMILY + "2"
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
        """The file's lines, the last a SHA-256 over the others (``check``)."""
        body = "\n".join(
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
        return body + f"check {_check(body)}\n"


def _check(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _full_verify(file: Path) -> str:
    return f"run a full `audit verify --write-checkpoint {file}`"


def read(file: Path) -> Checkpoint:
    """The checkpoint ``file`` names; refused (exit 2) unless it is one this version
    writes, whole (its ``check`` line matches the others)."""
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInput(
            f"no checkpoint file {file}: give the file an earlier `audit verify "
            "--write-checkpoint` wrote, or write one now with a full `audit verify "
            f"--write-checkpoint {file}`"
        ) from None
    except UnicodeDecodeError:
        raise BadInput(f"{file} is not a verify checkpoint: {_full_verify(file)}") from None
    except OSError as error:
        raise BadInput(
            f"the checkpoint file {file} cannot be read ({error.strerror or error})"
        ) from None
    lines = text.splitlines()
    if not lines or not lines[0].startswith(FAMILY):
        raise BadInput(f"{file} is not a verify checkpoint: {_full_verify(file)}")
    if lines[0] != FORMAT:
        raise BadInput(
            f"{file} is not a checkpoint of this version of `audit verify` (its first line "
            f"is not {FORMAT!r}): {_full_verify(file)}"
        )
    body, _, check = text.rpartition("check ")
    if not body.endswith("\n") or check.strip() != _check(body):
        raise BadInput(
            f"the checkpoint file {file} is damaged or was edited (its check line does not "
            f"match the others): {_full_verify(file)}"
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
        raise BadInput(f"the checkpoint file {file} is malformed: {_full_verify(file)}")
    return checkpoint


def spill_from(checkpoint: Checkpoint) -> SpillFile:
    """A spill file that starts as the checkpoint's state, checked against its digest."""
    state, file = checkpoint.state, checkpoint.file
    if not state.is_file():
        raise BadInput(
            f"the state file {state} of checkpoint {file} is gone (a checkpoint's state "
            f"must stay beside it under that name): {_full_verify(file)}"
        )
    try:
        spill = SpillFile(saved=state, digest=checkpoint.digest, loads=saved_state.loads)
    except DigestMismatch:
        raise BadInput(
            f"the state file {state} is not the one checkpoint {file} names (its SHA-256 "
            "differs): run a full `audit verify`"
        ) from None
    except sqlite3.DatabaseError:
        raise _damaged(checkpoint) from None
    except OSError as error:
        raise BadInput(
            f"the state file {state} cannot be read ({error.strerror or error})"
        ) from None
    if spill.part("layout") is None:
        spill.close()
        raise _damaged(checkpoint)
    return spill


def _damaged(checkpoint: Checkpoint) -> BadInput:
    return BadInput(
        f"the state file {checkpoint.state} is damaged (not a verify state): "
        f"{_full_verify(checkpoint.file)}"
    )


def check_origin(checkpoint: Checkpoint, site: str, first: str | None) -> None:
    """The checkpoint is of this ledger (``first``: its first entry's hash) and was
    written by this site's verify; else exit 2."""
    if first != checkpoint.origin:
        raise BadInput(
            f"the checkpoint {checkpoint.file} was written for another ledger: it belongs "
            "to another clinic's ledger or --db points elsewhere; use that clinic's "
            "checkpoint or run a full `audit verify`"
        )
    if site != checkpoint.site:
        raise BadInput(
            f'the checkpoint {checkpoint.file} was written by the verify of site "'
            f'{checkpoint.site}", not of site "{site}": run it with that site\'s config, or '
            f"write a new one with a full `audit verify --write-checkpoint FILE`"
        )


def check_head(session: Session, checkpoint: Checkpoint) -> None:
    """The ledger still holds the checkpoint's head; else the history up to it changed."""
    stored = session.execute(
        sa.select(_LEDGER.c.hash).where(_LEDGER.c.seq == checkpoint.seq)
    ).scalar()
    if stored != checkpoint.hash:
        raise Broken(
            checkpoint.seq,
            f"entry {checkpoint.seq}, the head of checkpoint {checkpoint.file}, is "
            + ("gone" if stored is None else "not the one the checkpoint names")
            + ": the history up to the checkpoint has changed (run a full `audit verify` "
            "to see where)",
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
            raise _damaged(checkpoint)
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


def summary(start: Checkpoint, last: int, compared: int) -> dict[str, Any]:
    """What an incremental verify read and did not read, for its report."""
    return {
        "file": str(start.file),
        "after": start.seq,
        "first": start.seq + 1,
        "last": last,
        "verified": start.verified.isoformat(),
        "full_verify": start.full.isoformat(),
        "rows_compared": compared,
        "read": (
            f"entries {start.seq + 1}..{last} and the rows they made or changed"
            if last > start.seq
            else "no entry: none was written after the checkpoint"
        ),
        "not_read": f"entries 1..{start.seq} and every other row: a full verify reads them",
    }
