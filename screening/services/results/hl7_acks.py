"""HL7 ACKs for a lab's interface engine: one file per message, AA when it was recorded
(or recognised as already recorded), AE when it was refused (saying where, not what: the
ACK leaves the clinic), AR when it was not recorded because another message of the same
file was refused (a file is all or nothing)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from screening.core.hl7v2 import Message, ack
from screening.errors import EnvironmentProblem
from screening.services.plumbing.context import Context

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
TEXT_LIMIT = 80  # MSA-3 is an ST of 80 characters


def write_acks(
    ctx: Context,
    path: Path,
    messages: list[Message],
    folder: Path,
    problems: list[str] | None,
) -> list[Path]:
    """Write each message's ACK into ``folder``; ``problems`` is None when the file was
    recorded, else every problem of the refused file (each says its line)."""
    at = ctx.now.strftime("%Y%m%d%H%M%S+0000")
    ends = [m.line for m in messages[1:]] + [10**12]
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for number, (message, end) in enumerate(zip(messages, ends, strict=True), start=1):
            if problems is None:
                code, text = "AA", "recorded"
            else:
                own = [p for p in problems if message.line <= _line(p) < end]
                code, text = (
                    ("AE", _located(own[0]))
                    if own
                    else ("AR", "not recorded: another message in the same file was refused")
                )
            # Unique to this file, message and moment: engines match ACKs by it.
            seed = f"{path.name}\x1f{number}\x1f{message.control_id}\x1f{ctx.now.isoformat()}"
            control = "A" + hashlib.sha256(seed.encode()).hexdigest()[:19].upper()
            name = f"{_SAFE.sub('_', path.stem)}.{_SAFE.sub('_', message.control_id)}.ack.hl7"
            written.append(
                _write(folder / name, ack(message, code, text[:TEXT_LIMIT], control, at))
            )
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write the lab's ACK into {folder}: {error.strerror or error}; the "
            "import itself is done (or refused) as said"
        ) from None
    return written


def _located(problem: str) -> str:
    """What an ACK says of a problem: where it is, never what it quotes (a level, the
    clinic's own collection time, a text value that may hold a name)."""
    found = re.match(r"(line \d+(?:, segment [A-Z0-9]{3}(?: [^:]*)?)?)", problem)
    where = found.group(1) if found else "the message"
    return f"{where}: refused; the clinic has the details"


def _line(problem: str) -> int:
    found = re.search(r"line (\d+)", problem)
    return int(found.group(1)) if found else 0


def _write(target: Path, data: bytes) -> Path:
    """Beside the target under a temporary name, then renamed: never half an ACK; a name
    taken gets -2, -3, ... (an ACK is never overwritten)."""
    number = 1
    final = target
    while final.exists():
        number += 1
        final = target.with_name(f"{target.name.removesuffix('.ack.hl7')}-{number}.ack.hl7")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".ack-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return final
