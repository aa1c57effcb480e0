"""Signed notes (C2SP signed-note, Ed25519) holding checkpoints and anchors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from screening.core.checkpoint import (
    Anchor,
    BadNote,
    Checkpoint,
    anchors_text,
    key_id,
    open_note,
    origin_of,
    parse_anchors,
    parse_checkpoint,
    parse_vkey,
    public_bytes,
    sign,
    vkey,
)

SEED = bytes(range(32))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = public_bytes(KEY.public_key())
ORIGIN = origin_of("3f2a9c1d00aa11bb" + "0" * 48)


def test_a_checkpoint_signs_opens_and_reads_back() -> None:
    made = Checkpoint(
        ORIGIN, 42, bytes(range(32)), datetime(2026, 12, 6, 14, 0, tzinfo=UTC), "ab" * 32
    )
    note = sign(made.text(), ORIGIN, KEY)
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "42", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3:6] == ["time 2026-12-06T14:00:00Z", f"head {'ab' * 32}", ""]
    assert lines[6].startswith(f"\u2014 {ORIGIN} ")
    assert base64.b64decode(lines[6].split(" ")[2])[:4] == key_id(ORIGIN, PUBLIC)
    assert parse_checkpoint(open_note(note, ORIGIN, PUBLIC)) == made


def test_the_key_id_follows_c2sp() -> None:
    import hashlib

    assert (
        key_id("example.com/log", PUBLIC)
        == hashlib.sha256(b"example.com/log\n\x01" + PUBLIC).digest()[:4]
    )
    assert parse_vkey(vkey(ORIGIN, PUBLIC)) == (ORIGIN, PUBLIC)


def test_a_changed_byte_or_another_key_is_refused() -> None:
    made = Checkpoint(ORIGIN, 7, bytes(32), datetime(2026, 12, 6, tzinfo=UTC), "cd" * 32)
    note = sign(made.text(), ORIGIN, KEY)
    with pytest.raises(BadNote, match="changed after it was signed"):
        open_note(note.replace("\n7\n", "\n8\n"), ORIGIN, PUBLIC)
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    with pytest.raises(BadNote, match="not signed by this installation's witness key"):
        open_note(sign(made.text(), ORIGIN, other), ORIGIN, PUBLIC)
    with pytest.raises(BadNote, match="no signature"):
        open_note(made.text(), ORIGIN, PUBLIC)


def test_a_note_signed_by_several_keys_opens_with_ours() -> None:
    text = Checkpoint(ORIGIN, 1, bytes(32), datetime(2026, 12, 6, tzinfo=UTC), "00" * 32).text()
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    theirs = sign(text, "auditor.example/witness", other)
    ours = sign(text, ORIGIN, KEY).split("\n\n")[1]
    assert open_note(theirs + ours, ORIGIN, PUBLIC) == text


def test_anchors_round_trip_and_bad_lines_are_named() -> None:
    anchors = [
        Anchor("main", "2026-12", 32, "ef" * 32, 5),
        Anchor("main", "2027-01", 32, "01" * 32, 6),
    ]
    text = anchors_text(ORIGIN, anchors)
    assert parse_anchors(open_note(sign(text, ORIGIN, KEY), ORIGIN, PUBLIC)) == (ORIGIN, anchors)
    with pytest.raises(BadNote, match="is not an anchor line"):
        parse_anchors(text.replace("2027-01", "2027-13"))
