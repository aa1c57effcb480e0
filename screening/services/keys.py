"""The master key file: 32 random bytes in hex, mode 0600, never in the database."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from screening.errors import EnvironmentProblem


def create_key(path: Path) -> bytes:
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def read_key(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"the key file {path} is missing; restore it from your backup "
            "(without it no further draws can be made)"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise EnvironmentProblem(
            f"the key file {path} is readable by other users; run `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except PermissionError:
        raise EnvironmentProblem(f"cannot read the key file {path}: permission denied") from None
    except (UnicodeDecodeError, ValueError):
        raise EnvironmentProblem(
            f"the key file {path} is damaged (not hex); restore it from your backup"
        ) from None
    if len(key) != 32:
        raise EnvironmentProblem(
            f"the key file {path} holds {len(key)} bytes, not 32; restore it from your backup"
        )
    return key
