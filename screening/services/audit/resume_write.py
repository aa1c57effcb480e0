"""Where `audit verify --write-checkpoint FILE` may write, and the writing itself
(services/audit/resume.py says what the two files hold).

FILE is refused before the verify starts when it is one of the clinic's own files (the
database, a key, the config: plumbing/outputs.py's guard), the state file of the
checkpoint the verify goes on from, or any existing file that is not a verify
checkpoint. The write is all or nothing: both files are written to temporaries in
FILE's folder and flushed; the state is renamed to a name of its own
(``FILE.<sha12>.state``, never the old checkpoint's state), then the text over FILE
(the commit point), and only then is the old checkpoint's state deleted. A failure or
an interrupt before the commit removes the temporaries and leaves the old pair whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
from datetime import datetime
from pathlib import Path

from screening.errors import BadInput, EnvironmentProblem
from screening.services.audit.resume import FAMILY, Checkpoint
from screening.services.plumbing.context import Context
from screening.services.plumbing.outputs import guard, shown, sync_folder
from screening.services.plumbing.spill import SpillFile

OPTION = "--write-checkpoint"


def check_target(ctx: Context, file: Path, since: Checkpoint | None) -> None:
    """Refuse (exit 2) a ``file`` whose writing could destroy anything but an earlier
    verify checkpoint; and a checkpoint dated before the one it goes on from."""
    protect = guard(ctx.settings, ctx.database)
    protect.check(file, OPTION)
    protect.check(file.with_name(file.name + ".state"), OPTION)
    if since is not None and os.path.realpath(file) == os.path.realpath(since.state):
        raise BadInput(
            f"{OPTION} {shown(file)} is the state file of the checkpoint this verify goes "
            f"on from ({shown(since.file)}): give the checkpoint's own name or a new one"
        )
    if file.exists() and not is_checkpoint(file):
        raise BadInput(
            f"{OPTION} {shown(file)} exists and is not a verify checkpoint: writing there "
            "would destroy it; give a new file name or an earlier checkpoint's"
        )
    if since is not None and ctx.now < since.verified:
        raise BadInput(
            clock_behind(ctx.now, since) + ": set it right before writing a checkpoint after it"
        )


def clock_behind(now: datetime, since: Checkpoint) -> str:
    return (
        f"this computer's clock ({now:%Y-%m-%d %H:%M} UTC) is behind the time the "
        f"checkpoint {shown(since.file)} was verified ({since.verified:%Y-%m-%d %H:%M} UTC)"
    )


def is_checkpoint(file: Path) -> bool:
    """Whether ``file`` begins as a verify checkpoint (of any version) does."""
    try:
        with open(file, "rb") as handle:
            return handle.read(len(FAMILY)) == FAMILY.encode()
    except OSError:
        return False


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
    """``file`` and its state ``FILE.<sha12>.state`` beside it, each 0600, all or
    nothing (module docstring)."""
    seq, hash_ = head.split(":")
    folder = file.parent
    token = secrets.token_hex(6)
    text_temporary = folder / f".{file.name}.{token}.tmp"
    state_temporary = folder / f".{file.name}.{token}.state.tmp"
    temporaries = [text_temporary, state_temporary, Path(f"{state_temporary}.partial")]
    old_states = _states_of(file)
    placed: Path | None = None  # the new state, in place before its checkpoint
    try:
        digest = spill.save(state_temporary, parts)
        _sync(state_temporary)
        state = file.with_name(f"{file.name}.{digest[:12]}.state")
        checkpoint = Checkpoint(
            file, origin, int(seq), hash_, now, since.full if since else now, site, state, digest
        )
        descriptor = os.open(text_temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(checkpoint.text())
            out.flush()
            os.fsync(out.fileno())
        os.replace(state_temporary, state)
        placed = state if state not in old_states else None
        os.replace(text_temporary, file)  # the commit point
        placed = None
        sync_folder(str(folder))
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise EnvironmentProblem(
            f"the checkpoint {shown(file)} cannot be written in the folder "
            f"{shown(folder.resolve())} ({reason}): choose another folder for {OPTION}"
        ) from None
    finally:
        for temporary in [*temporaries, placed]:  # placed: written, its checkpoint not
            if temporary is not None:
                with contextlib.suppress(OSError):
                    temporary.unlink(missing_ok=True)
    for old in old_states - {checkpoint.state}:
        with contextlib.suppress(OSError):  # the new pair is in place: a leftover at worst
            old.unlink(missing_ok=True)
    return checkpoint


def _states_of(file: Path) -> set[Path]:
    """The state files of the checkpoint ``file`` replaces: only names a checkpoint of
    that name gives its state (a hand-edited state line deletes nothing else)."""
    if not is_checkpoint(file):
        return set()
    own = re.compile(re.escape(file.name) + r"(\.[0-9a-f]{12})?\.state")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    return {
        file.with_name(line.split(" ", 1)[1])
        for line in lines
        if line.startswith("state ") and own.fullmatch(line.split(" ", 1)[1])
    }


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
