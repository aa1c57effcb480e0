"""The key vouches for the anchors: a history the clinic's key did not write is refused.

A New York clinic draws Monday to Wednesday, 2026-11-02 to 11-04. Someone with write
access to its database, but not to its key file, builds a history of their own: a
second installation with the same config and the same clients, its own key, the same
commands on the same days (so other draws wherever chance decides). They copy every row
of it over the clinic's database. That history is consistent in itself (its reveals open
its anchors, its draws replay from its keys); only the clinic's key shows that it did
not make those anchors. `audit verify` names the first commitment the key does not make,
and Thursday's `select` refuses to draw on top of it (exit 1, nothing written).

Smaller forgeries: a future month's commitment rewritten with every later hash and link
recomputed fails verify, naming the month; a second commitment for the current month
slipped in after the first stops the draw and the reveal of the days before (a key
that opens one anchor of the month but not the other stays out of the ledger). Without
the key file, verify still passes what it can check and says the anchors were not
derived from the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from screening.core.canonical import canonical_text, sha256_hex
from screening.core.selection import anchor
from tests.conftest import Clinic, _pg_schema_url, forge
from tests.scenarios.conftest import Story

CLIENTS = (
    "C-101,Ann Example,morning,1,2026-11-02,",
    *(f"C-30{i},Client {i} Example,morning,3,2026-11-02," for i in range(1, 7)),
)
NOT_DERIVED = (
    "anchors were checked only against the reveals and the witnessed copies, "
    "not derived from the key"
)
OTHER_KEY = bytes(range(32))


class _Elsewhere(Clinic):
    """An installation in another folder: its config named outright."""

    def run(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return super().run("--config", str(self.folder / "screening.toml"), *args, env=env)


@pytest.fixture
def intruder(story: Story, tmp_path: Path) -> Iterator[Story]:
    """A second installation of the same clinic, with its own key and its own database
    (a second SQLite file, or a second PostgreSQL schema)."""
    folder = tmp_path / "intruder"
    schemas = None if story.clinic.is_sqlite else _pg_schema_url()
    url = f"sqlite:///{folder / 'screening.db'}" if schemas is None else next(schemas)
    try:
        made = Story(_Elsewhere(folder, url))
        made.ok("2026-11-01 09:00", "init", "--site", "main", "--timezone", "America/New_York")
        made.config.write_text(story.config.read_text())
        yield made
    finally:
        if schemas is not None:
            next(schemas, None)


def _three_days(story: Story) -> None:
    story.enrol("2026-11-02 06:50", *CLIENTS)
    for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
        story.ok(f"{day} 07:00", "select")


def _replace_database(target: Clinic, source: Clinic) -> None:
    """What an intruder with write access does: every row of ``target`` replaced by
    ``source``'s, the ledger's append-only guard dropped first."""
    target.drop_ledger_guard()
    reader, writer = source.engine(), target.engine()
    try:
        tables = sa.MetaData()
        tables.reflect(reader)
        ordered = [t for t in tables.sorted_tables if t.name != "alembic_version"]
        with reader.connect() as rows, writer.begin() as into:
            for table in reversed(ordered):
                into.execute(table.delete())
            for table in ordered:
                copied = rows.execute(table.select().order_by(*table.primary_key.columns))
                batch = [dict(row._mapping) for row in copied]
                if batch:
                    into.execute(table.insert(), batch)
    finally:
        reader.dispose()
        writer.dispose()


def _verify_fails(story: Story, local: str) -> str:
    result = story.run(local, "audit", "verify")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def _commitment_seq(story: Story, period: str) -> int:
    rows = story.clinic.sql(
        "SELECT seq, canonical FROM ledger WHERE kind = 'commitment' ORDER BY seq"
    )
    return next(seq for seq, text in rows if json.loads(text)["body"]["period"] == period)


def test_a_history_written_with_another_key_is_refused(story: Story, intruder: Story) -> None:
    _three_days(story)
    _three_days(intruder)
    assert "ledger intact" in story.verify("2026-11-04 18:00")
    real_key = (story.folder / "screening.key").read_text()
    # Every forged day revealed: no draw is left for the local key to replay, so only
    # the anchors themselves can give the forgery away.
    intruder.ok("2026-11-05 00:30", "audit", "reveal")

    _replace_database(story.clinic, intruder.clinic)

    assert (story.folder / "screening.key").read_text() == real_key  # never touched
    first = _commitment_seq(story, "2026-11")
    # Warnings about the witnesses may come first; the failure is the last line.
    assert _verify_fails(story, "2026-11-05 06:00").strip().splitlines()[-1] == (
        f"error: ledger check failed: entry {first} commits 2026-11 to an anchor that this "
        "clinic's key does not make: the history was written with another key, or the "
        "commitment was rewritten"
    )
    size = story.ledger_size()
    refused = story.refused("2026-11-05 07:00", 1, "select")
    assert f"does not match the anchor committed for 2026-11 in entry {first}" in refused
    assert "nothing was drawn" in refused
    assert "restore the original from your backup" in refused
    assert "run `screening audit verify`" in refused
    assert len(refused.strip().splitlines()) == 1
    assert story.clinic.sql("SELECT count(*) FROM draws WHERE date = '2026-11-05'") == [(0,)]
    assert story.ledger_size() == size  # not even the day keys the draw would reveal


def test_a_rewritten_future_commitment_fails_verify(story: Story) -> None:
    """March 2027's anchor replaced by one of another key, the chain recomputed after it:
    every hash and link holds, and no draw of March exists yet to replay."""
    story.enrol("2026-11-02 06:50", *CLIENTS[:2])
    story.ok("2026-11-02 07:00", "select")
    seq = _commitment_seq(story, "2027-03")

    def rewrite(document: dict[str, Any]) -> None:
        document["body"]["anchor"] = anchor(OTHER_KEY, "main", "2027-03").hex()

    forge(story.clinic, seq, rewrite)
    problem = _verify_fails(story, "2026-11-02 09:00")
    assert f"entry {seq} commits 2027-03 to an anchor that this clinic's key does not make" in (
        problem
    )
    report = json.loads(story.run("2026-11-02 09:00", "audit", "verify", "--json").stdout)
    assert (report["ok"], report["problem_seq"], report["anchors_from_key"]) == (
        False,
        seq,
        True,
    )


def test_a_second_commitment_for_the_month_stops_the_draw(story: Story) -> None:
    """Appended at the tail after Monday's draw, with a valid link: the month's first
    anchor is still the key's, but nothing may be drawn or revealed while any anchor of
    the month is not."""
    story.enrol("2026-11-02 06:50", *CLIENTS[:2])
    story.ok("2026-11-02 07:00", "select")
    clinic = story.clinic
    ((seq, prev, at, last),) = clinic.sql(
        "SELECT seq, hash, at, canonical FROM ledger ORDER BY seq DESC LIMIT 1"
    )
    document = {
        **json.loads(last),
        "seq": seq + 1,
        "kind": "commitment",
        "body": {
            "period": "2026-11",
            "length": 31,
            "anchor": anchor(OTHER_KEY, "main", "2026-11").hex(),
        },
        "prev": prev,
    }
    text = canonical_text(document)
    clinic.sql(
        "INSERT INTO ledger (seq, at, site, kind, uid, canonical, hash) "
        "VALUES (:seq, :at, 'main', 'commitment', NULL, :text, :hash)",
        seq=seq + 1,
        at=at,
        text=text,
        hash=sha256_hex(text.encode()),
    )
    # Tuesday's first write would reveal Monday's key: a key that opens Monday's anchor
    # but not the other, kept out of the ledger while the two disagree. Enrolment goes on.
    added = story.run(
        "2026-11-03 06:00",
        *("clients", "add", "C-401", "--track", "evening", "--phase", "1"),
        *("--admitted", "2026-11-03"),
    )
    assert added.exit_code == 0, added.stderr
    assert (
        "keys of past draws not revealed: the key file "
        f"{story.folder / 'screening.key'} does not match the anchor committed for 2026-11 "
        f"in entry {seq + 1}"
    ) in added.stderr
    assert clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'reveal'") == [(0,)]

    refused = story.refused("2026-11-03 07:00", 1, "select")
    assert f"does not match the anchor committed for 2026-11 in entry {seq + 1}" in refused
    assert clinic.sql("SELECT count(*) FROM draws") == [(1,)]  # Monday's only
    assert f"entry {seq + 1}: a second commitment for main 2026-11" in _verify_fails(
        story, "2026-11-03 07:05"
    )


def test_without_the_key_verify_says_the_anchors_were_not_derived(story: Story) -> None:
    story.enrol("2026-11-02 06:50", *CLIENTS[:2])
    story.ok("2026-11-02 07:00", "select")
    with_key = story.verify("2026-11-02 09:00")
    assert "anchors derived from this clinic's key: 13 commitments of site main match" in (with_key)
    assert NOT_DERIVED not in with_key
    report = story.json("2026-11-02 09:00", "audit", "verify")
    assert (report["anchors_from_key"], report["anchors_derived"]) == (True, 13)

    key = story.folder / "screening.key"
    key.rename(story.folder / "elsewhere.key")
    without = story.verify("2026-11-02 09:10")
    assert f"{NOT_DERIVED}: the key file {key} is missing" in without
    assert "anchors derived" not in without
    report = story.json("2026-11-02 09:10", "audit", "verify")
    assert (report["ok"], report["anchors_from_key"], report["anchors_derived"]) == (
        True,
        False,
        0,
    )
    assert report["anchors"].startswith(NOT_DERIVED)
