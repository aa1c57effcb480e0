"""Checkpoints and anchors as signed notes, for the witnesses kept outside the database.

Formats (docs/ledger-format.md gives them with an example):

- A **checkpoint** is a C2SP tlog-checkpoint: the log's origin, the number of entries,
  and the RFC 6962 tree head of their hashes in base64, one per line; then our two
  extension lines, ``time <UTC instant>`` and ``head <hash of the last entry>``.
- An **anchors note** lists the commitments of one site and period as the ledger holds
  them: ``<origin>/anchors``, then ``<site> <period> <length> <anchor hex> <seq>`` lines.
- Both are C2SP signed notes: the text, a blank line, and ``— <name> <base64(key id ||
  Ed25519 signature)>``, signed with the witness key (never the master key, which draws).

Pure: the caller reads and writes files; this module only formats, signs and checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from screening.core.ledger import parse_rfc3339, rfc3339

ED25519 = b"\x01"
DASH = "\u2014"
_NAME = re.compile(r"^[^\s+]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_SITE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_NOTE = 64 * 1024


class BadNote(Exception):
    """A note that cannot be trusted; the message says why, in plain words."""


def origin_of(genesis_hash: str) -> str:
    """One log per installation, named after its first entry (all sites share it)."""
    return f"screening/{genesis_hash[:16]}"


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def vkey(name: str, public: bytes) -> str:
    """The verifier key an auditor keeps: ``<name>+<key id hex>+<base64(0x01 || key)>``."""
    return f"{name}+{key_id(name, public).hex()}+{base64.b64encode(ED25519 + public).decode()}"


def parse_vkey(text: str) -> tuple[str, bytes]:
    """A verifier key's name and raw Ed25519 public key."""
    parts = text.strip().split("+")
    # The base64 may itself contain "+": the name and id come first, the rest is key.
    if len(parts) < 3:
        raise BadNote("the witness public key is not of the form NAME+ID+KEY")
    name, hex_id, encoded = parts[0], parts[1], "+".join(parts[2:])
    try:
        raw = base64.b64decode(encoded, validate=True)
        wanted = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise BadNote("the witness public key is damaged (not hex and base64)") from None
    if not _NAME.match(name) or len(raw) != 33 or raw[:1] != ED25519:
        raise BadNote("the witness public key is not an Ed25519 key of this format")
    if key_id(name, raw[1:]) != wanted:
        raise BadNote("the witness public key's id does not match the key")
    return name, raw[1:]


def sign(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """The signed note: ``text`` (ending in a newline), a blank line, one signature."""
    _check_text(text)
    if not _NAME.match(name):
        raise ValueError(f"{name!r} cannot name a key (no spaces or '+')")
    public = public_bytes(private.public_key())
    signature = private.sign(text.encode())
    encoded = base64.b64encode(key_id(name, public) + signature).decode()
    return f"{text}\n{DASH} {name} {encoded}\n"


def open_note(note: str, name: str, public: bytes) -> str:
    """The note's text, once a signature by ``name``'s key is found and verified."""
    if len(note) > MAX_NOTE:
        raise BadNote(f"it is larger than {MAX_NOTE} bytes")
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise BadNote("it has no signature (no blank line before a signature line)")
    text += "\n"
    _check_text(text)
    wanted_id = key_id(name, public)
    verifier = Ed25519PublicKey.from_public_bytes(public)
    lines = signatures.split("\n")
    if lines[-1] != "" or len(lines) < 2:
        raise BadNote("its last line does not end in a newline")
    found = False
    for line in lines[:-1]:
        match = re.fullmatch(DASH + r" (\S+) (\S+)", line)
        if match is None:
            raise BadNote(f"{line[:40]!r} is not a signature line")
        try:
            blob = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise BadNote("a signature is not base64") from None
        if match.group(1) != name or blob[:4] != wanted_id:
            continue  # another key's signature: ignored, as the spec says
        try:
            verifier.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise BadNote(
                "its signature by this installation's witness key does not verify: "
                "the note was changed after it was signed"
            ) from None
        found = True
    if not found:
        raise BadNote("it is not signed by this installation's witness key")
    return text


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise BadNote("its text does not end in a newline")
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise BadNote("its text holds control characters")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime
    head: str  # hex hash of entry ``size`` (64 zeros for an empty ledger)

    def text(self) -> str:
        return (
            f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
            f"time {rfc3339(self.time)}\nhead {self.head}\n"
        )


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise BadNote("it is not a checkpoint (origin, size and root hash, one per line)")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or not _SIZE.match(size):
        raise BadNote("its origin or size line is not valid")
    try:
        raw_root = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise BadNote("its root hash is not base64") from None
    if len(raw_root) != 32:
        raise BadNote("its root hash is not 32 bytes")
    extensions = dict(line.split(" ", 1) for line in lines[3:-1] if " " in line)
    try:
        time = parse_rfc3339(extensions["time"])
    except (KeyError, ValueError):
        raise BadNote("it has no valid `time` line") from None
    head = extensions.get("head", "")
    if not _HEX64.match(head):
        raise BadNote("it has no valid `head` line")
    return Checkpoint(origin, int(size), raw_root, time, head)


@dataclass(frozen=True)
class Anchor:
    """One commitment as the ledger holds it."""

    site: str
    period: str
    length: int
    anchor: str
    seq: int


def anchors_text(origin: str, anchors: list[Anchor]) -> str:
    lines = [f"{origin}/anchors"]
    lines += [f"{a.site} {a.period} {a.length} {a.anchor} {a.seq}" for a in anchors]
    return "\n".join(lines) + "\n"


def parse_anchors(text: str) -> tuple[str, list[Anchor]]:
    """The origin and the anchors of an anchors note's text."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[-1] != "" or not lines[0].endswith("/anchors"):
        raise BadNote("it is not an anchors note")
    anchors = []
    for line in lines[1:-1]:
        parts = line.split(" ")
        if (
            len(parts) != 5
            or not _SITE.match(parts[0])
            or not _PERIOD.match(parts[1])
            or not parts[2].isdigit()
            or not _HEX64.match(parts[3])
            or not _SIZE.match(parts[4])
        ):
            raise BadNote(f"{line[:60]!r} is not an anchor line (site period length anchor seq)")
        anchors.append(Anchor(parts[0], parts[1], int(parts[2]), parts[3], int(parts[4])))
    return lines[0].removesuffix("/anchors"), anchors
