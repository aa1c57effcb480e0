"""Canonical JSON, entries and concurrent appends (DESIGN §6)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screening.core.canonical import NotCanonical, canonical_text, lp, private_digest
from screening.core.ledger import GENESIS_PREV, BrokenLink, check_link, make_entry
from tests.conftest import Clinic

AT = datetime(2026, 11, 27, 14, 3, 5, 123456, tzinfo=UTC)


def test_length_prefix() -> None:
    assert lp("main") == b"\x00\x00\x00\x04main"
    assert lp("é") == b"\x00\x00\x00\x02\xc3\xa9"
    assert lp(b"") == b"\x00\x00\x00\x00"


def test_canonical_text_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_text({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'


@pytest.mark.parametrize("value", [{"rate": 0.5}, {"n": 2**53}, {"é": 1}, {"d": {1, 2}}])
def test_values_outside_the_safe_subset_are_refused(value: object) -> None:
    with pytest.raises(NotCanonical):
        canonical_text(value)


def test_private_digest_depends_on_salt_and_hides_text() -> None:
    one, two = private_digest("aa", "Jo Smith"), private_digest("bb", "Jo Smith")
    assert one != two and len(one) == 64 and "Jo" not in one
    assert private_digest("aa", None) is None


def test_entry_shape_and_hash() -> None:
    entry = make_entry(
        seq=1,
        prev=GENESIS_PREV,
        at=AT,
        actor={"os": "staff1"},
        site="main",
        kind="genesis",
        body={"installation": "x"},
    )
    document = json.loads(entry.canonical)
    assert document == {
        "v": 1,
        "seq": 1,
        "at": "2026-11-27T14:03:05Z",
        "actor": {"os": "staff1"},
        "site": "main",
        "kind": "genesis",
        "body": {"installation": "x"},
        "prev": GENESIS_PREV,
    }
    assert entry.canonical.startswith('{"actor":')
    import hashlib

    assert entry.hash == hashlib.sha256(entry.canonical.encode()).hexdigest()
    checked = check_link(
        seq=1,
        stored_hash=entry.hash,
        canonical=entry.canonical,
        expected_seq=1,
        expected_prev=GENESIS_PREV,
    )
    assert checked["kind"] == "genesis"


def test_unknown_kind_and_naive_time_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown ledger kind"):
        make_entry(seq=1, prev=GENESIS_PREV, at=AT, actor={}, site="m", kind="gossip", body={})
    with pytest.raises(ValueError, match="naive"):
        make_entry(
            seq=1,
            prev=GENESIS_PREV,
            at=AT.replace(tzinfo=None),
            actor={},
            site="m",
            kind="genesis",
            body={},
        )


def test_non_canonical_text_is_a_broken_link() -> None:
    import hashlib

    text = '{"v": 1}'
    with pytest.raises(BrokenLink, match="not in canonical form"):
        check_link(
            seq=1,
            stored_hash=hashlib.sha256(text.encode()).hexdigest(),
            canonical=text,
            expected_seq=1,
            expected_prev=GENESIS_PREV,
        )


def _context(clinic: Clinic, actor: str):  # type: ignore[no-untyped-def]
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(Path(clinic.folder) / "screening.toml")
    now = datetime.now(UTC)
    return Context(
        settings,
        Database(resolve_url(clinic.url, clinic.folder)),
        Actor("staff1", actor),
        now,
        now.astimezone(settings.zone).date(),
    )


def test_concurrent_writers_append_one_unbroken_chain(clinic: Clinic) -> None:
    """Six writers at once: every enrolment lands, seqs stay unique, the chain verifies."""
    from screening.services import clients

    failures: list[BaseException] = []

    def writer(number: int) -> None:
        ctx = _context(clinic, f"writer {number}")
        try:
            for index in range(5):
                clients.add(ctx, f"W{number}-{index}", "morning", "1")
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            ctx.database.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert clinic.sql("SELECT count(*) FROM clients") == [(30,)]
    seqs = [seq for (seq,) in clinic.sql("SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert "30 clients" in clinic.ok("audit", "verify").stdout
