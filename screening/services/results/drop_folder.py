"""The lab's drop folder (`results watch`, and `schedule run` every minute): each new file
imported once, then moved to ``done/`` or, refused, to ``refused/`` with a reason beside it.

No file is ever lost. The import commits first and the file is moved after; a crash
during the import rolls its transaction back and leaves the file where it was, and a
crash between the commit and the move leaves it too, to be taken again next sweep (an
HL7 message already imported is recognised and skipped; a CSV report already imported is
refused, and its reason file says so). Moves are renames within the folder's filesystem,
each folder synced after, so a power cut does not undo one.

A lab should write a file under a name we skip (``.name``, ``*.tmp``, ``*.part``,
``*~``) and rename it when it is complete; a file modified in the last two seconds is
left for the next sweep in case the lab is still writing it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from screening.errors import BadInput, EnvironmentProblem, RowErrors, ScreeningError
from screening.services.plumbing.context import Context
from screening.services.results.lab_files import import_file

LOCK = ".screening-watch.lock"
DONE, REFUSED, OTHERS = "done", "refused", "others"
OTHERS_WHY = (
    "This site recorded its own orders of this file; the rest are for specimens of other "
    "sites of the network.\nImport this file at each of those sites too (screening results "
    "import FILE): what one site recorded is recognised there and skipped.\n"
)
REASON = ".reason.txt"
SKIPPED_ENDINGS = (".tmp", ".part", "~")
# A lab still writing a file: its modification time moves. Real wall-clock seconds.
STILL_WRITING = 2.0

Outcome = Literal["imported", "refused", "left"]
Contexts = Context | Callable[[], Context]


@dataclass(frozen=True)
class Swept:
    """What a sweep did with one file: its name, ``imported``, ``refused`` or ``left``
    (where it was, for the next sweep), a one-line summary or reason, and where it went
    (``done/NAME``, ``refused/NAME-2.csv``) when it was moved. A sweep that found another
    sweeping the folder says so with an empty name."""

    name: str
    outcome: Outcome
    said: str
    moved_to: str | None = None

    def line(self) -> str:
        """What `results watch` prints: one line."""
        if not self.name:
            return self.said
        where = ""
        if self.moved_to is not None:
            folder, _, name = self.moved_to.partition("/")
            if name != self.name:
                where = f" (moved to {self.moved_to})"
            elif self.outcome == "refused":
                where = f" (moved to {folder}/)"
        return f"{self.outcome} {self.name}: {self.said}{where}"

    def log_line(self) -> str:
        """What the daily job logs: no names, no results (the reason of a refusal may
        quote a specimen id or an analyte, so it stays in the reason file)."""
        if not self.name:
            return self.said
        if self.outcome == "refused":
            return f"refused lab file {self.name}: see {self.moved_to}{REASON}"
        return f"{self.outcome} lab file {self.name}: {self.said}"


def sweep(
    contexts: Contexts,
    folder: Path,
    ack_dir: Path | None = None,
    stopping: Callable[[], bool] | None = None,
) -> list[Swept]:
    """One sweep of the drop folder: every file waiting, oldest first, each imported in
    its own transaction and then moved. ``contexts`` is a context, or a factory of one
    for each file (the clock read anew). An environment problem (the database away, a
    role revoked, a clock behind the ledger) leaves the file where it is and ends the
    sweep: the files after it would meet the same problem, and wait for the next one.
    ``stopping`` ends the sweep between files (a signal to stop)."""
    if not folder.is_dir():
        raise EnvironmentProblem(
            f"the drop folder {folder} is not a folder; create it, or correct "
            "[labs] drop_folder in the config"
        )
    swept: list[Swept] = []
    with _locked(folder) as mine:
        if not mine:
            return [Swept("", "left", f"another sweep of {folder} is under way; this one skipped")]
        for kept in (DONE, REFUSED, OTHERS):  # made open by an earlier version, or by hand
            if (folder / kept).is_dir():
                _closed(folder / kept)
        for path in waiting(folder):
            if stopping is not None and stopping():
                break
            if _still_writing(path):
                swept.append(Swept(path.name, "left", "still being written; taken next sweep"))
                continue
            done, go_on = _one(contexts, folder, path, ack_dir)
            swept.append(done)
            if not go_on:
                break
    return swept


def waiting(folder: Path) -> list[Path]:
    """The files to import: regular files directly in the folder (no links, no folders),
    not named as a file still being written, oldest first (then by name)."""
    found: list[tuple[float, str, Path]] = []
    for entry in os.scandir(folder):
        name = entry.name
        if name.startswith(".") or name.endswith(SKIPPED_ENDINGS):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # taken away since the listing
            continue
        if stat.S_ISREG(status.st_mode):
            found.append((status.st_mtime, name, Path(entry.path)))
    return [path for _, _, path in sorted(found)]


def _still_writing(path: Path) -> bool:
    """Modified within the last two seconds by the real clock (either way: a file share's
    clock may run ahead of ours)."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return False  # gone since the listing: said so when it is taken
    return abs(time.time() - modified) < STILL_WRITING


def _one(contexts: Contexts, folder: Path, path: Path, ack_dir: Path | None) -> tuple[Swept, bool]:
    """One file imported and moved; whether the sweep goes on."""
    name = path.name
    try:
        # A file we may not read (yet) is not the lab's mistake: it waits, unrefused.
        with path.open("rb"):
            pass
        before = _identity(path)
    except FileNotFoundError:
        return Swept(name, "left", "gone before it could be imported"), True
    except OSError as problem:
        return Swept(name, "left", f"cannot be read ({_os_reason(problem)})"), True
    try:
        ctx = contexts() if callable(contexts) else contexts
        done = import_file(ctx, path, ack_dir=ack_dir)
    except BadInput as refusal:
        if not path.is_file():
            return Swept(name, "left", "gone before it could be imported"), True
        if _identity(path) != before:
            return Swept(name, "left", CHANGED), True
        return _refuse(folder, path, refusal)
    except ScreeningError as problem:
        return Swept(name, "left", f"{problem.message}; tried again next sweep"), False
    except OSError as problem:
        return Swept(name, "left", f"{_os_reason(problem)}; tried again next sweep"), True
    except Exception as unexpected:  # a long-running watch outlives it; the file stays,
        # and the files after it are still taken (one file must not stop the folder)
        return Swept(name, "left", f"unexpected {type(unexpected).__name__}"), True
    if _identity(path) != before:
        # Written again (or replaced under the same name) while it was imported: what was
        # imported is recorded; the file as it is now is taken next sweep (an HL7
        # message already recorded is recognised), never moved unread.
        return Swept(name, "left", f"imported, but {CHANGED}"), True
    # Orders for other sites' specimens (a network's shared lab) are theirs to import:
    # the file waits for them in others/, with why beside it, rather than in done/.
    into = OTHERS if done.get("left") else DONE
    try:
        target_folder = _subfolder(folder, into)
        if into == OTHERS:
            target = _free_name(target_folder, path.name)
            _write_reason(target_folder / f"{target.name}{REASON}", OTHERS_WHY, folder)
        moved = _move(path, folder / into, folder)
    except OSError as problem:
        return (
            Swept(name, "left", f"imported, but not moved to {into}/ ({_os_reason(problem)})"),
            False,
        )
    return Swept(name, "imported", str(done["summary"]), f"{into}/{moved.name}"), True


def _refuse(folder: Path, path: Path, refusal: BadInput) -> tuple[Swept, bool]:
    lines = [refusal.message]
    if isinstance(refusal, RowErrors):
        lines += refusal.problems
    text = "".join(" ".join(line.split()) + "\n" for line in lines)
    try:
        target_folder = _subfolder(folder, REFUSED)
        target = _free_name(target_folder, path.name)
        # The reason first, then the file: a crash between them leaves the file to be
        # refused again, and its reason rewritten, next sweep.
        _write_reason(target_folder / f"{target.name}{REASON}", text, folder)
        _kept_private(path, folder)
        os.replace(path, target)
        _sync(target_folder, folder)
    except OSError as problem:
        return (
            Swept(path.name, "left", f"refused, but not moved ({_os_reason(problem)})"),
            True,
        )
    # What is printed and logged names no result: the reason (which may quote a level or
    # an analyte) is only in the reason file, beside the file it describes.
    count = len(refusal.problems) if isinstance(refusal, RowErrors) else 1
    said = f"{count} problem{'s' * (count != 1)}, nothing recorded; see {target.name}{REASON}"
    return Swept(path.name, "refused", said, f"{REFUSED}/{target.name}"), True


CHANGED = "the file changed while it was imported; taken again next sweep"


def _identity(path: Path) -> tuple[int, int, int] | None:
    """The file as it is: which file (inode), its size and when it last changed."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _kept_private(path: Path, folder: Path) -> None:
    """A lab's file kept in done/ or refused/ holds results: 0600, or 0660 when the drop
    folder is the group's (the lab may have written it readable by anyone)."""
    mode = 0o600 | (stat.S_IMODE(folder.stat().st_mode) & 0o060)
    with suppress(PermissionError):  # not ours to change: the folder's mode still guards it
        os.chmod(path, mode)


def _move(path: Path, into: Path, folder: Path) -> Path:
    target_folder = _subfolder(folder, into.name)
    target = _free_name(target_folder, path.name)
    _kept_private(path, folder)
    os.replace(path, target)
    _sync(target_folder, folder)
    return target


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem-2.ext``, ``stem-3.ext``... when it is taken:
    a file kept there is never overwritten (we hold the folder's lock)."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 1
    while os.path.lexists(candidate):
        number += 1
        candidate = folder / f"{stem}-{number}{suffix}"
    return candidate


def _closed(kept: Path) -> None:
    """A folder of kept files that other users could open is closed to them."""
    mode = stat.S_IMODE(kept.stat().st_mode)
    if mode & 0o007:
        with suppress(PermissionError):  # not ours to change
            os.chmod(kept, mode & ~0o007)


def _subfolder(folder: Path, name: str) -> Path:
    """``done/``, ``refused/`` or ``others/``, made on first need with the drop folder's
    mode and group (a clinic's group-shared folder, `init --group`, stays shared); one
    made open to other users (by an earlier version, or by hand) is closed to them."""
    made = folder / name
    if made.is_dir():
        _closed(made)
        return made
    status = folder.stat()
    made.mkdir(exist_ok=True)
    # Results are kept here: never open to other users, whatever the drop folder allows.
    os.chmod(made, stat.S_IMODE(status.st_mode) & 0o2770 | 0o700)
    with suppress(PermissionError):  # not one of our groups: the setgid bit gave it anyway
        if made.stat().st_gid != status.st_gid:
            os.chown(made, -1, status.st_gid)
    _sync(folder)
    return made


def _write_reason(path: Path, text: str, folder: Path) -> None:
    """The reason file, whole or not at all: 0600, or readable and writable by the drop
    folder's group when the folder is the group's."""
    mode = 0o600 | (stat.S_IMODE(folder.stat().st_mode) & 0o060)
    partial = path.with_name(f".{path.name}.tmp")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(handle, mode)  # whatever the umask
        os.write(handle, text.encode("utf-8"))
        os.fsync(handle)
    finally:
        os.close(handle)
    os.replace(partial, path)


def _sync(*folders: Path) -> None:
    """A folder's entries to disk: a rename is kept through a power cut only then."""
    for folder in folders:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@contextmanager
def _locked(folder: Path) -> Iterator[bool]:
    """One sweeper at a time per folder: whether this one holds the lock (the kernel
    lets it go when the process ends, however it ends)."""
    mode = 0o600 | (stat.S_IMODE(folder.stat().st_mode) & 0o040)
    path = folder / LOCK
    try:
        handle = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, mode)
    except OSError as problem:
        raise EnvironmentProblem(
            f"cannot open the drop folder's lock {path} ({_os_reason(problem)}); check "
            "that this user may write to the folder"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(handle)


def _os_reason(problem: OSError) -> str:
    return problem.strerror or type(problem).__name__


def log_sweep(contexts: Callable[[], Context], log: logging.Logger) -> None:
    """The daily job's sweep of ``[labs] drop_folder`` (every minute): one log line a
    file, naming no client and no result."""
    try:
        settings = contexts().settings
    except Exception as error:
        log.error("the drop folder cannot be swept now: %s", _safe(error))
        return
    labs = settings.labs
    folder = labs.folder(labs.drop_folder, settings.folder)
    if folder is None:
        return
    try:
        swept = sweep(contexts, folder, labs.folder(labs.ack_folder, settings.folder))
    except Exception as error:
        log.error("the drop folder cannot be swept now: %s", _safe(error))
        return
    for done in swept:
        (log.warning if done.outcome == "refused" else log.info)(done.log_line())


def _safe(error: Exception) -> str:
    """Our own messages may be logged; of anything else only its type (it might quote a
    row)."""
    if isinstance(error, ScreeningError):
        return error.message
    if isinstance(error, OSError):
        return _os_reason(error)
    return f"unexpected {type(error).__name__}"
