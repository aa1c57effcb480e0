"""Handing one signed note to one witness (a folder, an e-mail address, a command), and
the state of what each witness has had.

A folder keeps every note as its own file, written to a temporary name in the same
folder, flushed to disk and then linked into place: a file already there is never
overwritten, and one that differs from what would be written is an alarm, not a retry.
Notes hold hashes only (nothing that identifies a client), so files are 0644 and e-mail
may carry them. E-mail and commands reuse services/daily/delivery.py's SMTP and command code.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.core.checkpoint import Checkpoint
from screening.errors import EnvironmentProblem
from screening.services.plumbing.outputs import sync_folder
from screening.services.plumbing.transport import DeliveryFailed, run_command, send_email


class Alarm(DeliveryFailed):
    """What the witness already holds differs from what the ledger says now: never
    overwritten, and said as a sign of a changed history, not a delivery to retry."""


@dataclass(frozen=True)
class Note:
    what: str  # "checkpoint" or "anchors": SCREENING_WITNESS_WHAT for a command
    path: str  # where a folder keeps it, under the log's folder
    text: str  # the signed note
    subject: str  # the e-mail's subject


@dataclass(frozen=True)
class Witness:
    kind: str  # "folder", "email" or "command"
    target: Any  # a Path, an address, or an argv list

    @property
    def key(self) -> str:
        """How the delivery state names this witness."""
        if self.kind == "command":
            return "command " + " ".join(self.target)
        return f"{self.kind} {self.target}"

    @property
    def name(self) -> str:
        """The witness in words, for a warning."""
        if self.kind == "folder":
            return f"the witness folder {self.target}"
        if self.kind == "email":
            return f"the witness e-mail address {self.target}"
        return f"the witness command {self.target[0]}"

    @property
    def fix(self) -> str:
        if self.kind == "folder":
            return "check that the folder (disk or share) is there and this user may write to it"
        if self.kind == "email":
            return "check [notify.smtp] and the address under [witness] email"
        return "run the command by hand to see why it fails"

    def deliver(self, settings: Settings, origin: str, vkey: str, note: Note) -> None:
        if self.kind == "folder":
            to_folder(self.target, origin, vkey, note)
        elif self.kind == "email":
            send_email(settings, [self.target], note.subject, note.text)
        else:
            run_command(list(self.target), note.text, {"SCREENING_WITNESS_WHAT": note.what})


def witnesses(settings: Settings) -> list[Witness]:
    """Every witness, the local folder first (it is always written)."""
    return [
        *(Witness("folder", folder) for folder in settings.witness_folders),
        *(Witness("email", address) for address in settings.witness.email),
        *(Witness("command", tuple(argv)) for argv in settings.witness.commands),
    ]


def log_folder(folder: Path, origin: str) -> Path:
    """The log's own folder in a witness folder: ``screening/3f2a…`` → ``screening-3f2a…``."""
    return folder / origin.replace("/", "-")


def to_folder(folder: Path, origin: str, vkey: str, note: Note) -> None:
    if not folder.is_dir():
        # Never made here: an unmounted share's mount point would take the checkpoints
        # onto this machine's own disk, and seem to witness them.
        raise DeliveryFailed(f"the folder {folder} does not exist (is the disk or share mounted?)")
    base = log_folder(folder, origin)
    target = base / note.path
    _make_folder(base)
    place(
        base / "witness.vkey",
        vkey + "\n",
        lambda _: Alarm(
            f"{base / 'witness.vkey'} holds another witness public key than this "
            "installation's: the folder witnesses a key that was replaced or another "
            "installation; restore this installation's witness key from its backup, or "
            "give a new, empty folder (the checkpoints there stay as they are)"
        ),
    )
    _make_folder(target.parent)
    place(
        target,
        note.text,
        lambda path: Alarm(
            f"{path} already holds a different {note.what} note, which is kept: the "
            "ledger no longer says what was witnessed; run `screening audit verify`"
        ),
    )


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as error:
        raise DeliveryFailed(f"cannot create {path}: {error.strerror}") from None


def place(path: Path, text: str, differs: Any) -> bool:
    """Write ``text`` at ``path`` unless that file is there already; the same text there
    counts as delivered, different text raises ``differs(path)``. True when written.
    The caller syncs the folder afterwards (``sync_folders``)."""
    data = text.encode()
    if _same_or_alarm(path, data, differs):
        return False
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            _link_into_place(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except FileExistsError:  # another process placed it meanwhile: judged as above
        return not _same_or_alarm(path, data, differs)
    except OSError as error:
        raise DeliveryFailed(f"cannot write {path}: {error.strerror}") from None
    return True


def _same_or_alarm(path: Path, data: bytes, differs: Any) -> bool:
    try:
        held = path.read_bytes()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise DeliveryFailed(f"cannot read {path}: {error.strerror}") from None
    if held.strip() != data.strip():
        raise differs(path)
    return True


def _link_into_place(temporary: Path, path: Path) -> None:
    """A hard link never replaces a file (a rename would); shares without hard links
    get a rename after a check, which the delivery lock keeps from racing our own."""
    try:
        os.link(temporary, path)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.rename(temporary, path)


def sync_folders(folder: Path, origin: str) -> None:
    """Make the names of the files just placed durable: once per delivery, not per file
    (each file's content was synced before it was linked into place)."""
    base = log_folder(folder, origin)
    for path in (base / "checkpoints", base / "anchors", base, folder):
        sync_folder(str(path))


class DeliveryState:
    """The delivery state: the last checkpoint made here, and per witness the newest
    checkpoint it has and the anchors notes it has (by digest). Hashes and sizes only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._book: dict[str, Any] = {}
        self._text = ""

    def __enter__(self) -> DeliveryState:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise EnvironmentProblem(
                f"cannot open {self.path}: {error.strerror}; check that this user may "
                f"write to {self.path.parent}"
            ) from None
        self._file = os.fdopen(descriptor, "r+", encoding="utf-8")
        fcntl.flock(self._file, fcntl.LOCK_EX)  # two processes publish in turn
        text = self._text = self._file.read()
        try:
            book = json.loads(text) if text.strip() else {}
        except ValueError:
            book = {}  # damaged: at worst some anchors are sent again
        self._book = book if isinstance(book, dict) else {}
        return self

    def __exit__(self, *_: object) -> None:
        text = json.dumps(self._book, sort_keys=True, indent=1)
        try:
            if text != self._text:  # the daily job looks every few minutes: write on change
                self._file.seek(0)
                self._file.truncate()
                self._file.write(text)
                self._file.flush()
                os.fsync(self._file.fileno())
        finally:
            self._file.close()  # releases the lock

    def origin(self) -> str | None:
        origin = self._book.get("origin")
        return origin if isinstance(origin, str) else None

    def start(self, origin: str) -> None:
        self._book = {"origin": origin, "witnesses": {}}

    def last(self) -> dict[str, Any] | None:
        last = self._book.get("last")
        return last if isinstance(last, dict) and "time" in last else None

    def made(self, point: Checkpoint, peaks: list[bytes]) -> None:
        """The last checkpoint made here, with its tree's compact range: the next one
        after a write goes on from it (services/witness._read_ledger)."""
        self._book["last"] = summary(point) | {
            "head": point.head,
            "peaks": [base64.b64encode(peak).decode() for peak in peaks],
        }

    def _witness(self, key: str) -> dict[str, Any]:
        entry: dict[str, Any] = self._book.setdefault("witnesses", {}).setdefault(key, {})
        entry.setdefault("anchors", {})
        return entry

    def anchors(self, key: str) -> dict[str, str]:
        return self._witness(key)["anchors"]

    def delivered(self, key: str, point: Checkpoint) -> None:
        entry = self._witness(key)
        entry["checkpoint"] = summary(point)
        entry.pop("failing", None)

    def failed(self, key: str, reason: str) -> None:
        self._witness(key)["failing"] = reason


def summary(point: Checkpoint) -> dict[str, Any]:
    return {
        "size": point.size,
        "root": base64.b64encode(point.root).decode(),
        "time": point.time.isoformat(),
    }
