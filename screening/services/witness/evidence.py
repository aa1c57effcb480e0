"""What the witness folders say of a ledger the database no longer holds.

An empty database beside a clinic whose witness folders keep checkpoints (or anchors) is
a ledger lost, not a clinic to begin: creating the schema there would start a new ledger
and orphan the witnessed one. Read by `db upgrade` before it creates a schema, and by
every command that finds no schema or an empty ledger (services/site/maintenance.py).

The files are judged by their names (``checkpoints/<size>-<time>.checkpoint``,
``anchors/<site>-<period>.anchors``), not by their signatures: this only decides whether
to stop and restore, and a forged note is a reason to stop as well. A log counts in the
local folder beside the config, and in a ``[witness]`` folder (which other clinics may
share) when its ``witness.vkey`` names this installation's witness key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from screening.config import Settings
from screening.core.checkpoint import BadNote, parse_vkey
from screening.db.engine import describe, sqlite_path
from screening.errors import EnvironmentProblem
from screening.services.witness.read import LOG_DIR, read_note, witness_public

_CHECKPOINT = re.compile(r"^(\d{12})-(\d{8}T\d{6}Z)\.checkpoint$")


@dataclass(frozen=True)
class Witnessed:
    """The largest ledger a witness folder vouches for, or only its anchors."""

    folder: Path
    size: int  # entries of the largest checkpoint (0: anchors only)
    newest: datetime | None  # when the newest checkpoint was made
    anchors: int  # anchors notes

    def words(self) -> str:
        if self.size:
            made = f" (the newest {self.newest:%Y-%m-%d})" if self.newest else ""
            return (
                f"{self.folder} holds checkpoints of a ledger of {self.size:,} "
                f"{'entry' if self.size == 1 else 'entries'}{made}"
            )
        notes = "note" if self.anchors == 1 else "notes"
        return f"{self.folder} holds {self.anchors} witnessed anchors {notes} of a ledger"


def witnessed_ledger(settings: Settings) -> Witnessed | None:
    """The witness folder vouching for the largest ledger of this installation, or None
    when no folder holds a checkpoint or anchors note of it."""
    public, _ = witness_public(settings)
    found: list[Witnessed] = []
    for number, folder in enumerate(settings.witness_folders):
        try:
            logs = [child for child in folder.iterdir() if LOG_DIR.match(child.name)]
        except OSError:
            continue  # absent, unmounted or unreadable: nothing it says
        sizes: list[tuple[int, datetime]] = []
        anchors = 0
        for log in logs:
            if number and not _signed_by(log, public):
                continue  # another installation's log in a shared folder
            sizes += [_size_and_time(path) for path in _names(log / "checkpoints")]
            anchors += sum(1 for name in _names(log / "anchors") if name.suffix == ".anchors")
        sizes = [pair for pair in sizes if pair[0]]
        if sizes or anchors:
            found.append(
                Witnessed(
                    folder,
                    max((size for size, _ in sizes), default=0),
                    max((made for _, made in sizes), default=None),
                    anchors,
                )
            )
    return max(found, key=lambda seen: (seen.size, seen.anchors), default=None)


def refuse_a_new_ledger(settings: Settings, url: URL, state: str) -> None:
    """Refuse, saying what the witnesses hold and to restore the database, when a ledger
    of this installation was witnessed; ``state`` says what the database is ("is empty")."""
    seen = witnessed_ledger(settings)
    if seen is None:
        return
    file = sqlite_path(url)
    restore = (
        f"restore {file} from a backup (a copy `screening db backup` made)"
        if file is not None
        else "restore the database from its backup (pg_dump's, with pg_restore)"
    )
    raise EnvironmentProblem(
        f"the database at {describe(url)} {state}, but {seen.words()}: {restore}; "
        "starting a new ledger here would orphan that record"
    )


def _names(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _size_and_time(path: Path) -> tuple[int, datetime]:
    match = _CHECKPOINT.match(path.name)
    if match is None:
        return 0, datetime.min.replace(tzinfo=UTC)
    made = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return int(match.group(1)), made


def _signed_by(log: Path, public: bytes | None) -> bool:
    if public is None:
        return False
    try:
        return parse_vkey(read_note(log / "witness.vkey"))[1] == public
    except BadNote:
        return False
