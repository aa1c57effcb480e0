"""Database.batch: many writing commands in one transaction (bench/generate.py's path)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening import config
from screening.db.engine import Database, resolve_url
from screening.errors import BadInput
from screening.services import clients
from screening.services.plumbing.context import Actor, Context
from tests.conftest import Clinic


@pytest.fixture
def clinic(backend: str, tmp_path: Path) -> Clinic:
    """A clinic set up on 2026-11-20, before the days these tests live through: the clock
    only moves forward (a write behind the ledger's clock is refused)."""
    made = Clinic(tmp_path, backend)
    with freeze_time("2026-11-20T12:00:00Z"):
        made.ok("init", "--site", "main", "--timezone", "America/New_York")
    return made


def _context(clinic: Clinic, database: Database) -> Context:
    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.now(UTC)
    return Context(settings, database, Actor("staff1"), now, now.astimezone(settings.zone).date())


def _kinds(clinic: Clinic) -> list[str]:
    return [row[0] for row in clinic.sql("SELECT kind FROM ledger ORDER BY seq")]


@freeze_time("2026-11-24T15:00:00Z")
def test_a_batch_commits_its_commands_together_and_a_refused_one_alone_is_undone(
    clinic: Clinic,
) -> None:
    database = Database(resolve_url(clinic.url, clinic.folder))
    ctx = _context(clinic, database)
    before = _kinds(clinic)
    with database.batch():
        clients.add(ctx, "C-01", "morning", "1")
        with pytest.raises(BadInput, match="already enrolled"):
            clients.add(ctx, "C-01", "evening", "2")
        clients.add(ctx, "C-02", "evening", "2")
        # Within the batch, its own writes are read back; outside it, nothing yet.
        assert [c["code"] for c in clients.listing(ctx)] == ["C-01", "C-02"]
        assert _kinds(clinic) == before
    # The list read in the batch is recorded with it (services/access/viewing.py).
    assert _kinds(clinic) == [*before, "client", "client", "viewed"]
    with pytest.raises(RuntimeError, match="the whole batch"), database.batch():
        clients.add(ctx, "C-03", "morning", "1")
        raise RuntimeError("the whole batch goes")
    assert _kinds(clinic) == [*before, "client", "client", "viewed"]
    database.dispose()
    clinic.ok("audit", "verify")


def test_a_batch_that_spans_two_days_keeps_up_each_day(clinic: Clinic) -> None:
    """The upkeep made once a day in a batch: the next day's first command still reveals
    the key of the day before, as it would outside a batch."""
    from screening.services import draws

    database = Database(resolve_url(clinic.url, clinic.folder))
    monday = datetime(2026, 11, 23, 12, tzinfo=UTC)  # 07:00 in New York
    with freeze_time(monday), database.batch():
        ctx = _context(clinic, database)
        clients.add(ctx, "C-01", "morning", "1", admitted="2026-11-02")
        draws.select_day(ctx)
        clients.add(ctx, "C-02", "morning", "1")
        tuesday = monday.replace(day=24)
        later = Context(ctx.settings, database, ctx.actor, tuesday, tuesday.date())
        clients.add(later, "C-03", "morning", "1")
        clients.add(later, "C-04", "morning", "1")
    kinds = _kinds(clinic)
    # Monday: two clients and the draw; Tuesday's first command first reveals Monday's
    # key (and, after that command, sweeps C-01's missed screening to a no-show).
    draw = kinds.index("draw")
    assert kinds[draw:] == ["draw", "client", "reveal", "client", "screening", "client"]
    database.dispose()
    with freeze_time(tuesday):
        clinic.ok("audit", "verify")


@freeze_time("2026-11-24T15:00:00Z")
def test_a_command_undone_after_writing_leaves_the_next_one_its_place_in_the_chain(
    clinic: Clinic,
) -> None:
    """What a transaction reads once (the ledger's head, the next row ids, db/memo.py) is
    forgotten with a command undone half-way: the next command of the batch takes the
    entry and the client id the undone one had taken, and the chain verifies."""
    from screening.services.records.upkeep import writing

    database = Database(resolve_url(clinic.url, clinic.folder))
    ctx = _context(clinic, database)
    with database.batch():
        clients.add(ctx, "C-01", "morning", "1")
        with pytest.raises(BadInput, match="undone"), writing(ctx):
            clients.add(ctx, "C-02", "morning", "1")  # a savepoint within the savepoint
            raise BadInput("undone after its entry and its row were written")
        clients.add(ctx, "C-03", "evening", "2")
    rows = clinic.sql("SELECT code, id FROM clients ORDER BY id")
    assert rows == [("C-01", 1), ("C-03", 2)]
    seqs = [row[0] for row in clinic.sql("SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    database.dispose()
    clinic.ok("audit", "verify")
