"""Witness folders written the way the publishing side writes them (docs/ledger-format.md),
with the core functions alone, so that the checking side is tested on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from screening.core.checkpoint import (
    Anchor,
    Checkpoint,
    anchors_text,
    origin_of,
    public_bytes,
    sign,
    vkey,
)
from screening.core.merkle import root_of
from screening.services.plumbing.keys import create_witness_key, read_witness_key
from tests.conftest import Clinic


def witness_key(clinic: Clinic) -> Ed25519PrivateKey:
    """The clinic's witness key, at the default ``[keys] witness_file``."""
    path = clinic.folder / "screening-witness.key"
    return read_witness_key(path) if path.exists() else create_witness_key(path)


def origin(clinic: Clinic) -> str:
    return origin_of(clinic.sql("SELECT hash FROM ledger WHERE seq = 1")[0][0])


def log_folder(clinic: Clinic, folder: Path | None = None) -> Path:
    base = (folder or clinic.folder / "screening-witness") / origin(clinic).replace("/", "-")
    for part in ("checkpoints", "anchors"):
        (base / part).mkdir(parents=True, exist_ok=True)
    return base


def publish(
    clinic: Clinic,
    folder: Path | None = None,
    at: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
) -> Path:
    """A checkpoint of the ledger as it is now, signed and written into ``folder``
    (default: the local ``screening-witness/`` beside the config)."""
    name = origin(clinic)
    own = witness_key(clinic)
    hashes = [row[0] for row in clinic.sql("SELECT hash FROM ledger ORDER BY seq")]
    made = (at or datetime.now(UTC)).replace(microsecond=0)
    checkpoint = Checkpoint(
        name, len(hashes), root_of([bytes.fromhex(h) for h in hashes]), made, hashes[-1]
    )
    base = log_folder(clinic, folder)
    (base / "witness.vkey").write_text(vkey(name, public_bytes(own.public_key())) + "\n")
    path = base / "checkpoints" / f"{len(hashes):012d}-{made:%Y%m%dT%H%M%SZ}.checkpoint"
    path.write_text(sign(checkpoint.text(), name, key or own), encoding="utf-8")
    return path


def publish_anchors(clinic: Clinic, folder: Path | None = None) -> list[Path]:
    """One anchors note per site and period, as the ledger's commitments say."""
    import json

    name, key = origin(clinic), witness_key(clinic)
    base = log_folder(clinic, folder)
    written = []
    for seq, text in clinic.sql(
        "SELECT seq, canonical FROM ledger WHERE kind = 'commitment' ORDER BY seq"
    ):
        entry = json.loads(text)
        body = entry["body"]
        anchor = Anchor(entry["site"], body["period"], body["length"], body["anchor"], seq)
        path = base / "anchors" / f"{anchor.site}-{anchor.period}.anchors"
        path.write_text(sign(anchors_text(name, [anchor]), name, key), encoding="utf-8")
        written.append(path)
    return written
