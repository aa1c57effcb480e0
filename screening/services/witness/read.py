"""The witness folders read back: the signed checkpoints and anchors notes that `audit
verify` checks the ledger against and `audit export` ships (issue 14).

Each folder (the local ``screening-witness/`` beside the config, and every one in
``[witness] folders``) holds, for this installation's log ``screening/<hex>``:

    screening-<hex>/witness.vkey
    screening-<hex>/checkpoints/<size:012d>-<YYYYMMDDTHHMMSSZ>.checkpoint
    screening-<hex>/anchors/<site>-<period>.anchors

Every note must open with this installation's witness key (the key file beside the
config, never a key found in a folder: whoever could write a note could write a key
beside it). A note that does not is a failure naming its file; a folder that cannot be
read is a warning, as a share that is not mounted is not tampering.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.core.checkpoint import (
    MAX_NOTE,
    BadNote,
    open_note,
    parse_anchors,
    parse_checkpoint,
    parse_vkey,
    public_bytes,
)
from screening.core.ledger import rfc3339
from screening.core.witnessing import Seen, SeenAnchor, age_words
from screening.errors import BadInput, EnvironmentProblem

DEFAULT_MAX_AGE_DAYS = 2
LOG_DIR = re.compile(r"^screening-([0-9a-f]{16})$")


def configured(settings: Settings) -> tuple[list[Path], int]:
    """The witness folders besides the local one (``[witness] folders``, resolved as
    the config says) and ``max_age_days``."""
    return settings.witness_folders[1:], settings.witness.max_age_days


def log_dir(origin: str) -> str:
    return origin.replace("/", "-")


def witness_public(settings: Settings) -> tuple[bytes | None, str | None]:
    """This installation's witness public key, or why there is none."""
    from screening.services.plumbing.keys import read_witness_key

    try:
        return public_bytes(
            read_witness_key(settings.witness_key_file, settings.database_group).public_key()
        ), None
    except EnvironmentProblem as problem:
        return None, problem.message


@dataclass
class Notes:
    """Everything the witness folders hold for this ledger."""

    folders: list[str] = field(default_factory=list)  # the folders that could be read
    configured: int = 0  # how many folders [witness] names
    checkpoints: list[Seen] = field(default_factory=list)
    anchors: list[SeenAnchor] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # failures, each naming a file
    checked: bool = True  # False when there is no witness key to check notes with
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    config: str = ""


def read_note(path: Path) -> str:
    """A note file's text; ``BadNote`` when it cannot be one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_NOTE + 1)
    except OSError as error:
        raise BadNote(f"it cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_NOTE:
        raise BadNote(f"it is larger than {MAX_NOTE} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadNote("it is not UTF-8 text") from None


def open_checkpoint(path: Path, origin: str, public: bytes) -> Seen:
    cp = parse_checkpoint(open_note(read_note(path), origin, public))
    if cp.origin != origin:
        raise BadNote(f"it is a checkpoint of another log ({cp.origin})")
    return Seen(str(path), cp)


def read_all(settings: Settings, origin: str | None) -> Notes:
    """The notes of every witness folder for the log ``origin`` (None: an empty ledger)."""
    extra, max_age = configured(settings)
    notes = Notes(configured=len(extra), max_age_days=max_age, config=str(settings.path))
    folders = [settings.witness_folder, *extra]
    public, missing = witness_public(settings)
    seen: set[str] = set()
    for number, folder in enumerate(folders):
        if number and folder.absolute() == folders[0].absolute():
            continue
        if not folder.is_dir():
            if number:
                notes.warnings.append(
                    f"the witness folder {folder} is not there; check that its disk or share "
                    "is mounted (its checkpoints were not read)"
                )
            continue
        if not os.access(folder, os.R_OK | os.X_OK):
            notes.warnings.append(f"the witness folder {folder} cannot be read: permission denied")
            continue
        notes.folders.append(str(folder))
        if public is None:
            notes.checked = False
            continue
        _other_logs(folder, origin, public, notes)
        if origin is None:
            continue
        _read_log(folder / log_dir(origin), origin, public, notes, seen)
    if missing and notes.folders:
        notes.warnings.append(
            f"{missing}; the witnessed checkpoints and anchors were not checked without it"
        )
    if origin is not None and notes.checked and public is not None:
        _removed_notes(settings, origin, notes)
    return notes


def _removed_notes(settings: Settings, origin: str, notes: Notes) -> None:
    """What the delivery record says was put in the local folder must still be there: a
    checkpoint or anchors note removed from it is evidence removed."""
    book_path = settings.witness_folder / "deliveries.json"
    try:
        book = json.loads(book_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no record (or a damaged one): nothing to hold the folder to
    if not isinstance(book, dict) or book.get("origin") != origin:
        return
    witnesses = book.get("witnesses")
    witnesses = witnesses if isinstance(witnesses, dict) else {}
    # The local folder, by its path then (a clinic folder moved) by its name.
    local: Any = witnesses.get(f"folder {settings.witness_folder}") or next(
        (
            entry
            for key, entry in witnesses.items()
            if key.startswith("folder ") and key.endswith(f"/{settings.witness_folder.name}")
        ),
        {},
    )
    if not isinstance(local, dict) or local.get("failing"):
        return  # its last delivery failed: the record says more than the folder got
    made = local.get("checkpoint")
    if isinstance(made, dict) and isinstance(made.get("size"), int):
        sizes = {seen.checkpoint.size for seen in notes.checkpoints}
        if not any(size >= made["size"] for size in sizes):
            notes.problems.append(
                f"the delivery record {book_path} says a checkpoint of {made['size']} "
                f"entries (made {made.get('time')}) was put in {settings.witness_folder}, "
                "but no witness folder holds a checkpoint that large: checkpoints were "
                "removed"
            )
    labels = local.get("anchors", {})
    labels = labels if isinstance(labels, dict) else {}
    held = {f"{seen.anchor.site} {seen.anchor.period}" for seen in notes.anchors}
    gone = sorted(label for label in labels if label not in held)
    if gone:
        notes.problems.append(
            f"the delivery record {book_path} says the anchors of {gone[0]} were put in "
            f"{settings.witness_folder}, but no witness folder holds them: witnessed "
            "anchors were removed"
        )


def _read_log(base: Path, origin: str, public: bytes, notes: Notes, seen: set[str]) -> None:
    vkey = base / "witness.vkey"
    if vkey.exists():
        try:
            name, key = parse_vkey(read_note(vkey))
            if (name, key) != (origin, public):
                raise BadNote("it names another key than this installation's witness key")
        except BadNote as why:
            notes.problems.append(f"{vkey}: {why}")
    for kind, suffix in (("checkpoints", ".checkpoint"), ("anchors", ".anchors")):
        try:
            names = sorted(p for p in (base / kind).iterdir() if p.suffix == suffix)
        except FileNotFoundError:
            continue
        except OSError as error:
            notes.warnings.append(f"{base / kind} cannot be read ({error.strerror})")
            continue
        for path in names:
            try:
                text = read_note(path)
                if text in seen:
                    continue  # the same note in another folder
                seen.add(text)
                if kind == "checkpoints":
                    notes.checkpoints.append(open_checkpoint(path, origin, public))
                    continue
                log, anchors = parse_anchors(open_note(text, origin, public))
                if log != origin:
                    raise BadNote(f"it lists the anchors of another log ({log})")
                notes.anchors += [SeenAnchor(str(path), anchor) for anchor in anchors]
            except BadNote as why:
                notes.problems.append(f"the witnessed note {path} cannot be trusted: {why}")


def _other_logs(folder: Path, origin: str | None, public: bytes, notes: Notes) -> None:
    """A log this installation's witness key signed under another origin: the ledger's
    first entry is not the one witnessed, so the whole ledger was replaced (or, with no
    entry at all, emptied)."""
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        match = LOG_DIR.match(child.name)
        if match is None or (origin is not None and child.name == log_dir(origin)):
            continue
        other = f"screening/{match.group(1)}"
        try:
            if parse_vkey(read_note(child / "witness.vkey"))[1] != public:
                continue
            if origin is None:
                notes.problems.append(
                    f"the ledger holds no entry, but {child} holds checkpoints signed by this "
                    f"installation's witness key for the log {other}: the ledger was emptied"
                )
            else:
                notes.problems.append(
                    f"{child} holds checkpoints signed by this installation's witness key for "
                    f"the log {other}, but this ledger's first entry makes it {origin}: the "
                    "ledger was replaced, from its first entry on"
                )
        except BadNote:
            continue


def checkpoint_file(settings: Settings, origin: str, path: Path) -> Seen:
    """`audit verify --checkpoint PATH`: a checkpoint note kept by hand. ``BadNote`` when
    it does not open with this installation's witness key (verify fails on it)."""
    if not path.is_file():
        raise BadInput(f"--checkpoint {path}: no such file (give SEQ:HASH or a .checkpoint file)")
    try:
        text = read_note(path)
    except (BadNote, OSError):
        text = ""
    if "\n\n\u2014 " not in text:  # not a signed note at all: a file given by mistake
        raise BadInput(
            f"--checkpoint {path} is not a checkpoint file (a signed note from a witness "
            "folder's checkpoints/); give SEQ:HASH or a .checkpoint file"
        )
    public, missing = witness_public(settings)
    if public is None:
        raise EnvironmentProblem(f"{missing}; a checkpoint file is checked with it")
    return open_checkpoint(path, origin, public)


def summary(notes: Notes, outcome: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """What verify says of its witnesses (the JSON ``witness`` field), with its warnings:
    no witness, only the local one, a folder not read, the newest checkpoint too old."""
    warnings = list(notes.warnings)
    found = notes.checkpoints
    oldest = min(found, key=lambda s: (s.checkpoint.size, s.checkpoint.time), default=None)
    newest = max(found, key=lambda s: (s.checkpoint.time, s.checkpoint.size), default=None)
    if not notes.folders:
        warnings.append(
            "no witness folder: nothing outside the database vouches for this ledger, so a "
            "rewrite of the whole chain or a removed tail would go unseen; "
            "`screening audit checkpoint` writes the first checkpoint"
        )
    elif notes.checked and not found and not notes.problems:
        # (With a problem found, the advice to sign a checkpoint would vouch for it.)
        warnings.append(
            "the witness folders hold no checkpoint of this ledger yet; "
            "`screening audit checkpoint` writes one"
        )
    if notes.folders and not notes.configured:
        warnings.append(
            f"the only witness is the folder {notes.folders[0]} beside the database, which "
            "whoever can change the database may reach too: add a folder on another disk "
            f"or share to [witness] folders in {notes.config}"
        )
    data: dict[str, Any] = {
        "folders": notes.folders,
        "checked": notes.checked,
        "checkpoints": len(found),
        "anchors": len(notes.anchors),
        "witnessed_from": oldest.checkpoint.size if oldest else None,
        "first_time": rfc3339(oldest.checkpoint.time) if oldest else None,
        # Whether the ledger was begun well before its first checkpoint (a clinic older
        # than witnessing) rather than with it (at `init`): services/audit/walk.py.
        "before_witnessing": False,
        "newest": None,
        "consistency": (outcome or {}).get("consistency"),
        "max_age_days": notes.max_age_days,
        "warnings": warnings,
    }
    if newest is not None:
        made = newest.checkpoint.time
        data["newest"] = {
            "file": newest.where,
            "size": newest.checkpoint.size,
            "time": rfc3339(made),
            "age": age_words(made, now),
            "age_days": round((now - made).total_seconds() / 86400, 2),
        }
        if made - now > timedelta(minutes=5):
            warnings.append(
                f"the newest witnessed checkpoint is dated {rfc3339(made)}, after this "
                f"computer's clock ({rfc3339(now)}): this clock, or the one of the computer "
                "that made it, is wrong; its age cannot be told until the clocks are fixed"
            )
        elif now - made > timedelta(days=notes.max_age_days):
            warnings.append(
                f"the newest witnessed checkpoint was made {age_words(made, now)} "
                f"({rfc3339(made)}), more than [witness] max_age_days = {notes.max_age_days}: "
                "checkpoints are written after every draw and by the daily job; check that "
                "`screening schedule run` runs and that the witnesses can be written"
            )
    return data
