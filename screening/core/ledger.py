"""Ledger entries (DESIGN §6): canonical form, hash, and the checks on one link.

Pure: the services layer stores what ``make_entry`` returns and `audit verify` feeds
stored rows back through ``check_link``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from screening.core.canonical import (
    MAX_SAFE_INTEGER,
    NotCanonical,
    canonical_text,
    parsed_if_canonical,
    reference_text,
    sha256_hex,
)

VERSION = 1
GENESIS_PREV = "0" * 64
KINDS = frozenset(
    {
        "genesis",
        "policy",
        "commitment",
        "reveal",
        "client",
        "hold",
        "closure",
        "draw",
        "draw_amend",
        "screening",
        "result",
        "amendment",
        "disclosure",
        "key_rotation",
        "site",
        # who may do what (core/access.py), and who looked at whose chart
        "role",
        "viewed",
        # consents to disclose and clients' restrictions (42 CFR Part 2; issue 18)
        "consent",
    }
)


def rfc3339(instant: datetime) -> str:
    """UTC, whole seconds, with a Z: ``2026-11-27T14:03:05Z``."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: the ledger records instants in UTC")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """An instant as ``rfc3339`` writes it. The common case (its separators where they
    belong) through ``fromisoformat``, whose digits are ASCII digits; anything else, or
    an impossible date, through ``strptime``, which decides and words the error."""
    if (
        type(text) is str
        and len(text) == 20
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
        and text[19] == "Z"
    ):
        try:
            return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    site: str
    kind: str
    body: dict[str, Any]
    canonical: str
    hash: str


def make_entry(
    *,
    seq: int,
    prev: str,
    at: datetime,
    actor: dict[str, str],
    site: str,
    kind: str,
    body: dict[str, Any],
) -> Entry:
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    document = {
        "v": VERSION,
        "seq": seq,
        "at": rfc3339(at),
        "actor": actor,
        "site": site,
        "kind": kind,
        "body": body,
        "prev": prev,
    }
    text = canonical_text(document)
    at_second = at.astimezone(UTC).replace(microsecond=0)
    return Entry(seq, at_second, site, kind, body, text, sha256_hex(text.encode("utf-8")))


def _no_float(text: str) -> Any:
    raise NotCanonical(f"{text} is not an integer; floats are not allowed")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise NotCanonical(f"integer {value} is outside ±(2^53-1)")
    return value


class BrokenLink(Exception):
    """One entry fails a check; the message says what differs."""


def _reference_parse(canonical: str) -> Any:
    """The standard library's parse and re-encoding: what decides, and words the
    problem, when ``parsed_if_canonical`` does not accept a text at once."""
    try:
        document = json.loads(
            canonical,
            parse_float=_no_float,
            parse_int=_safe_int,
            parse_constant=_no_float,
        )
        # With floats and unsafe integers refused while parsing, only keys are left to
        # check, and an all-ASCII text has ASCII keys: the common case skips the walk.
        if not canonical.isascii():
            canonical_text(document)  # refuses what is outside the subset
        recanonical = reference_text(document)
    except (ValueError, NotCanonical) as error:
        raise BrokenLink(f"its text is not canonical JSON ({error})") from None
    if recanonical != canonical:
        raise BrokenLink("its text is not in canonical form")
    return document


def check_link(
    *,
    seq: int,
    stored_hash: str,
    canonical: str,
    expected_seq: int,
    expected_prev: str,
    columns: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check one stored entry against its predecessor; return the parsed document.

    ``columns`` are the row's own copies of fields (site, kind) that must agree with the
    hashed text.
    """
    if seq != expected_seq:
        if seq > expected_seq:
            raise BrokenLink(f"entries {expected_seq} to {seq - 1} are missing")
        raise BrokenLink(f"sequence number {seq} repeats or goes backwards")
    data = canonical.encode("utf-8")
    actual = hashlib.sha256(data).hexdigest()
    if actual != stored_hash:
        raise BrokenLink(
            f"its contents do not match its hash (stored {stored_hash[:12]}…, "
            f"contents hash to {actual[:12]}…)"
        )
    document = parsed_if_canonical(data)
    if document is None:
        document = _reference_parse(canonical)
    if not isinstance(document, dict) or document.get("v") != VERSION:
        raise BrokenLink(f"unknown entry version {document.get('v')!r}")
    if document.get("seq") != seq:
        raise BrokenLink(f"it is stored as entry {seq} but says it is entry {document.get('seq')}")
    if document.get("prev") != expected_prev:
        raise BrokenLink(
            "its link to the previous entry is wrong (prev does not match "
            "the hash of the entry before it)"
        )
    if document.get("kind") not in KINDS:
        raise BrokenLink(f"unknown kind {document.get('kind')!r}")
    for name, value in (columns or {}).items():
        if document.get(name) != value:
            raise BrokenLink(
                f"its {name} column says {value!r} but the entry says {document.get(name)!r}"
            )
    return document


def subject(kind: str, body: dict[str, Any]) -> str | None:
    """The client an entry is about, if it is about one: the ledger keeps it in an indexed
    column so that one client's history is read without touching anyone else's."""
    uid: str | None = None
    if kind == "client":
        uid = body["client"]["uid"]
    elif kind == "hold":
        uid = body["hold"]["uid"]
    elif kind in ("result", "amendment"):
        uid = body["uid"]
    elif kind == "screening":
        uid = body["uid"] if body["action"] == "create" else body["screening"][1]
    elif kind in ("consent", "disclosure"):
        uid = body.get("client")  # an export's disclosure is about no one client
    return uid
