"""The key files: 32 random bytes in hex, 0600 (0640 for a group's clinic), never in the database.

The master key draws (DESIGN §5). The witness key is an Ed25519 seed that signs the
checkpoints and anchors sent to the witnesses (issue 14): kept apart, so that a key that
vouches for the record never also decides who is selected.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from screening.db.engine import exposed
from screening.errors import EnvironmentProblem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def create_key(path: Path) -> bytes:
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def read_key(
    path: Path,
    missing: str = "without it no further draws can be made",
    *,
    group: str | None = None,
) -> bytes:
    """The key; refused when others may read it. With ``group`` (the config's `[database]
    group`) that group may read it too (0640, `init --group`)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise EnvironmentProblem(
            f"the key file {path} is missing; restore it from your backup ({missing})"
        ) from None
    if exposed(status, group, stat.S_IRGRP):
        fix = f"chmod 600 {path}" if group is None else f"chgrp {group} {path} && chmod 640 {path}"
        raise EnvironmentProblem(
            f"the key file {path} is readable by other users (mode "
            f"{stat.S_IMODE(status.st_mode):04o}); run `{fix}`"
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


def create_witness_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(create_key(path))


def read_witness_key(path: Path, group: str | None = None) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = read_key(
        path,
        "the witnesses' checkpoints can be checked only with the key that signed them",
        group=group,
    )
    return Ed25519PrivateKey.from_private_bytes(seed)
