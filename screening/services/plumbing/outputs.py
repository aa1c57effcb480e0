"""Every file the program writes at a user's request goes through here: `--out`,
`select --csv`, `db backup PATH`, `audit export DIR` and the daily job's list files.

Two promises. The clinic's own files are never the target: the database (and its
-wal, -shm and -journal files), the master key, the witness key, the config, the
delivery record and the local witness folder are refused, also when reached through a
symlink or a hard link, because one mistyped `--out` would otherwise destroy the very
records the program exists to keep. And a file is whole or absent: it is written to a
temporary name in the same folder, flushed to disk and renamed into place, so a full
disk or a crash leaves the old file (or none), never half a report.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screening.config import Settings
from screening.errors import BadInput, EnvironmentProblem

# services/daily/delivery.py's record of what was delivered (kept here to stay free of SMTP).
DELIVERY_BOOK = "screening-deliveries.json"
# Names of open files (/dev/stdout, /dev/fd/1, /proc/self/fd/1): written directly, even
# when they name a regular file (the shell's redirection), never replaced.
_OPEN_FILE_NAMES = ("/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/")
SHOWN_PATH_CHARACTERS = 120


class WriteFailed(EnvironmentProblem):
    """Writing an output failed part-way (a full disk, a lost share): exit 3."""


def shown(path: Any) -> str:
    """A path as a one-line message can show it: bytes that are not UTF-8 as \\xNN, and
    a very long path cut in the middle (the user typed it; the ends identify it)."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = os.fsencode(text).decode("utf-8", "backslashreplace")
    if len(text) > SHOWN_PATH_CHARACTERS:
        half = SHOWN_PATH_CHARACTERS // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _cannot_start(error: OSError, what: str, real: str) -> Exception:
    """A file that cannot even be begun: a full disk or quota is the environment (exit
    3); a folder one may not write is the name given (exit 2)."""
    text = f"cannot write {what} to {shown(real)}: {_reason(error)}"
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
        return WriteFailed(text)
    return BadInput(text)


@dataclass(frozen=True)
class Guard:
    """The clinic's own files and folders, by absolute path, each with what it is."""

    files: tuple[tuple[str, str], ...]
    folders: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, settings: Settings, databases: Iterable[Path | None] = ()) -> Guard:
        """``databases``: the SQLite files in use (the config's and any --db given)."""
        files = [
            (settings.path, "the config"),
            (settings.key_file, "the master key"),
            (settings.witness_key_file, "the witness key"),
            (settings.folder / DELIVERY_BOOK, "the record of deliveries"),
        ]
        for database in databases:
            if database is None:
                continue
            files.append((database, "the clinic's database"))
            for suffix in ("-wal", "-shm", "-journal"):
                files.append((Path(f"{database}{suffix}"), f"the database's {suffix[1:]} file"))
        # The witness folders: an output there could pass for a witness's copy, or replace one.
        folders = [(settings.witness_folder, "the local witness folder")] + [
            (folder, "a witness folder") for folder in settings.witness_folders[1:]
        ]
        return cls(
            tuple((os.path.realpath(path), what) for path, what in files),
            tuple((os.path.realpath(path), what) for path, what in folders),
        )

    def check(self, path: Path, option: str) -> str:
        """The real path ``path`` names, or BadInput when writing there could harm the
        clinic's own files or cannot work (a folder, a missing folder, an unusable name)."""
        try:
            real = os.path.realpath(path)
            target = _stat(path)
        except OSError as error:
            raise BadInput(f"{option} {shown(path)}: {_reason(error)}; give another file") from None
        self._refuse_own(path, real, target, option, "file name")
        if target is not None and stat.S_ISDIR(target.st_mode):
            raise BadInput(f"{option} {shown(path)} is a folder; give a file name")
        if target is None and not os.path.isdir(os.path.dirname(real)):
            raise BadInput(
                f"{option} {shown(path)}: the folder {shown(os.path.dirname(real))} does not "
                "exist; create it first"
            )
        return real

    def check_folder(self, path: Path, option: str) -> str:
        """The real path of a folder to create or fill (an export), refused like a file."""
        try:
            real = os.path.realpath(path)
            target = _stat(path)
        except OSError as error:
            raise BadInput(
                f"{option} {shown(path)}: {_reason(error)}; give another folder"
            ) from None
        self._refuse_own(path, real, target, option, "folder")
        for protected, what in self.files:
            if _inside(protected, real):
                raise BadInput(
                    f"{option} {shown(path)} holds {what} ({shown(protected)}); "
                    "export into a new, empty folder"
                )
        if target is not None and not stat.S_ISDIR(target.st_mode):
            raise BadInput(f"{option} {shown(path)} is a file, not a folder; give a new folder")
        return real

    def _refuse_own(
        self, given: Path, real: str, target: os.stat_result | None, option: str, noun: str
    ) -> None:
        for protected, what in self.files:
            same = real == protected
            if not same and target is not None:
                other = _stat_quietly(protected)
                same = other is not None and (other.st_dev, other.st_ino) == (
                    target.st_dev,
                    target.st_ino,
                )
            if same:
                raise BadInput(
                    f"{option} {shown(given)} is {what} ({shown(protected)}); writing there "
                    f"would destroy it: give another {noun}"
                )
        for folder, what in self.folders:
            if _inside(real, folder):
                raise BadInput(
                    f"{option} {shown(given)} is inside {what} ({shown(folder)}), which only "
                    f"the program writes: give a {noun} elsewhere"
                )

    def write(self, path: Path, data: bytes | str, option: str, what: str) -> bool:
        """Write ``data`` to ``path``, owner-only (0600: lists and reports are treatment
        records), whole or not at all. ``what`` names it in an error ("the CSV"). False
        when ``path`` was a terminal, pipe or device, written as it is."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        staged = self.stage(path, payload, option, what)
        staged.place()
        return staged.temporary is not None

    def stage(self, path: Path, data: bytes, option: str, what: str) -> Staged:
        """``write`` in two steps, for an output that leaves only if its record commits:
        written and flushed to a 0600 temporary file now (a full disk fails here), put
        in place by ``place``, removed by ``discard``. A device is written now."""
        real = self.check(path, option)
        target = _stat(path)
        if target is not None and (
            not stat.S_ISREG(target.st_mode) or os.path.abspath(path).startswith(_OPEN_FILE_NAMES)
        ):
            _write_directly(path, data, what)
            return Staged(real, None, what)
        temporary = _filled_beside(real, lambda handle: handle.write(data), what)
        return Staged(real, temporary, what)


@dataclass
class Staged:
    """A file written but not yet in place (``Guard.stage``)."""

    real: str
    temporary: str | None  # None: a device, written already
    what: str

    def place(self) -> None:
        try:
            if self.temporary is not None:
                os.replace(self.temporary, self.real)
                sync_folder(os.path.dirname(self.real))
        except OSError as error:
            self.discard()
            said = f"writing {self.what} to {shown(self.real)} failed: {_reason(error)}"
            raise WriteFailed(said) from None

    def discard(self) -> None:
        if self.temporary is not None:
            _remove_quietly(self.temporary)


def guard(settings: Settings, database: Any = None) -> Guard:
    """The guard for a command: ``database`` is the one in use (services' Database), and
    the config's own SQLite file is protected too when --db points elsewhere."""
    from screening.db.engine import resolve_url, sqlite_path

    databases = [sqlite_path(database.url)] if database is not None else []
    with contextlib.suppress(BadInput):  # not a usable URL: then it names no file either
        databases.append(sqlite_path(resolve_url(settings.database_url, settings.folder)))
    return Guard.of(settings, databases)


@dataclass(frozen=True)
class Output:
    """A file the user asked for, checked before any work (or any write to the
    database) is done, and written at the end."""

    guard: Guard
    path: Path
    option: str

    def write(self, data: bytes | str, what: str) -> str:
        """Write; returns where, in words for the user."""
        private = self.guard.write(self.path, data, self.option, what)
        return f"written to {shown(self.path)}" + (" (readable by you only)" if private else "")

    def stage(self, data: bytes, what: str) -> Staged:
        """Write to a temporary file now, put in place later (``Guard.stage``)."""
        return self.guard.stage(self.path, data, self.option, what)


def output(settings: Settings, database: Any, path: Path | None, option: str) -> Output | None:
    """``path`` checked now (None: the terminal)."""
    if path is None:
        return None
    checked = guard(settings, database)
    checked.check(path, option)
    return Output(checked, path, option)


def _stat(path: Any) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ENOTDIR:
            return None
        raise


def _stat_quietly(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _write_directly(path: Path, payload: bytes, what: str) -> None:
    """A terminal, pipe or device (/dev/stdout, /dev/null): nothing to rename onto.
    Appending keeps what the shell's redirection already holds."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as error:
        raise BadInput(f"cannot write {what} to {shown(path)}: {_reason(error)}") from None
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(descriptor, view) :]
    except OSError as error:
        raise WriteFailed(f"writing {what} to {shown(path)} failed: {_reason(error)}") from None
    finally:
        os.close(descriptor)


def replace_atomically(real: str, fill: Callable[[Any], Any], what: str) -> None:
    """Create a 0600 temporary file beside ``real``, let ``fill`` write it, flush it to
    disk and rename it onto ``real``. On any failure the temporary file is removed and
    ``real`` is as it was."""
    Staged(real, _filled_beside(real, fill, what), what).place()


def _filled_beside(real: str, fill: Callable[[Any], Any], what: str) -> str:
    """A 0600 temporary file beside ``real`` that ``fill`` has written, flushed to disk
    (removed again if that fails); its path."""
    folder = os.path.dirname(real)
    temporary = os.path.join(folder, f".screening-{secrets.token_hex(6)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as error:
        raise _cannot_start(error, what, real) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        _remove_quietly(temporary)
        raise WriteFailed(f"writing {what} to {shown(real)} failed: {_reason(error)}") from None
    except BaseException:
        _remove_quietly(temporary)
        raise
    return temporary


def new_file_atomically(real: str, fill: Callable[[str], Any], what: str) -> None:
    """Like ``replace_atomically`` for a file that must not exist yet (a backup): ``fill``
    gets the temporary file's path; the result is linked into place, which fails rather
    than overwrite a file made meanwhile."""
    folder = os.path.dirname(real)
    temporary = os.path.join(folder, f".screening-{secrets.token_hex(6)}.tmp")
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as error:
        raise _cannot_start(error, what, real) from None
    try:
        fill(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(temporary, real)
        except FileExistsError:
            raise BadInput(
                f"{shown(real)} already exists; choose a new file name for {what}"
            ) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # A share without hard links: rename, having just seen the name is free.
            if os.path.lexists(real):
                raise BadInput(
                    f"{shown(real)} already exists; choose a new file name for {what}"
                ) from None
            os.replace(temporary, real)
        sync_folder(folder)
    except OSError as error:
        raise WriteFailed(f"writing {what} to {shown(real)} failed: {_reason(error)}") from None
    finally:
        _remove_quietly(temporary)


def new_folder_atomically(real: str, fill: Callable[[str], Any], what: str) -> None:
    """Build a folder under a temporary name beside ``real`` (mode 0700), flush every
    file in it to disk, and rename it onto ``real``, which must be absent or an empty
    folder (an empty folder is replaced, so the result is 0700 either way)."""
    parent = os.path.dirname(real)
    try:
        os.makedirs(parent, exist_ok=True)
        temporary = os.path.join(parent, f".screening-{secrets.token_hex(6)}.tmp")
        os.mkdir(temporary, 0o700)
    except OSError as error:
        raise BadInput(f"cannot write {what} to {shown(real)}: {_reason(error)}") from None
    try:
        fill(temporary)
        for here, folders, files in os.walk(temporary):
            for name in files:
                with open(os.path.join(here, name), "rb") as handle:
                    os.fsync(handle.fileno())
            for name in folders:
                sync_folder(os.path.join(here, name))
        sync_folder(temporary)
        os.rename(temporary, real)
        sync_folder(parent)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise BadInput(f"{shown(real)} is not empty; export into a new folder") from None
        raise WriteFailed(f"writing {what} to {shown(real)} failed: {_reason(error)}") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (some filesystems refuse; the data is synced)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
