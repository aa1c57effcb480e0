"""PostgreSQL as a network's engine (issue 21): the write lock is per site, so two sites
of one database draw at the same time and wait for each other only while one appends
to the shared ledger chain (db/locks.py). PostgreSQL only.

The module's network of two sites (north, south) lives in a fresh schema.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from screening.cli import app
from screening.db.locks import APPEND_LOCK, SITE_CLASS, site_key
from tests.conftest import WORKING_ROLES, _pg_schema_url, isolate, run_sql

pytestmark = pytest.mark.postgresql
runner = CliRunner()
WAIT = 60  # seconds a write that should not wait is given (a loaded machine is slow)


@dataclass
class Network:
    folder: Path
    url: str

    def ok(self, site: str, *args: str) -> Any:
        config = self.folder / site / "screening.toml"
        result = runner.invoke(app, ["--db", self.url, "--config", str(config), *args])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def context(self, site: str) -> Any:
        from screening import config
        from screening.db.engine import Database, resolve_url
        from screening.services.plumbing.context import Actor, Context

        settings = config.load(self.folder / site / "screening.toml")
        now = datetime.now(UTC)
        user = sa.make_url(self.url).username or ""
        return Context(
            settings,
            Database(resolve_url(self.url, self.folder)),
            Actor(user, None, login=user),
            now,
            now.astimezone(settings.zone).date(),
        )

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        return run_sql(self.url, statement)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    folder = tmp_path_factory.mktemp("network")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(folder, monkeypatch)
        urls = _pg_schema_url()
        made = Network(folder, next(urls))
        user = sa.make_url(made.url).username or ""
        try:
            for site in ("north", "south"):
                made.ok(site, "init", "--site", site, "--timezone", "UTC")
                made.ok(site, "access", "grant", user, *WORKING_ROLES, "--site", site)
                for n in range(1, 4):
                    made.ok(site, "clients", "add", f"{site[0].upper()}-{n}", "--track",
                            "morning", "--phase", "1")  # fmt: skip
            yield made
        finally:
            urls.close()


@dataclass
class Held:
    """A lock held by another connection (another process, for the program)."""

    connection: sa.Connection

    def release(self) -> None:
        self.connection.rollback()


@pytest.fixture
def hold(network: Network) -> Iterator[Callable[[str], Held]]:
    engine = sa.create_engine(network.url)
    held: list[sa.Connection] = []

    def take(statement: str) -> Held:
        connection = engine.connect()
        held.append(connection)
        connection.execute(sa.text(statement))
        return Held(connection)

    try:
        yield take
    finally:
        for connection in held:
            connection.rollback()  # never leave a writer waiting, whatever failed
            connection.close()
        engine.dispose()


def _in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as error:  # noqa: BLE001 - the test reads it
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _draw(network: Network, site: str) -> Any:
    from screening.services import draws

    ctx = network.context(site)
    try:
        return draws.select_day(ctx)
    finally:
        ctx.database.dispose()


def _site_lock(site: str) -> str:
    return f"SELECT pg_advisory_xact_lock({SITE_CLASS}, {site_key(site)})"


def test_site_keys_are_stable_signed_32_bit_ints() -> None:
    # CRC-32 of the name: the same in every process, unlike Python's salted hash().
    assert site_key("north") == site_key("north") != site_key("south")
    assert all(-(2**31) <= site_key(name) < 2**31 for name in ("north", "south", "é" * 40))
    # Fixed for good: processes of two versions must take the same site's lock.
    assert (site_key("main"), site_key("north")) == (-1087845020, -601214782)


def test_a_site_draws_while_another_sites_write_is_under_way(
    network: Network, hold: Callable[[str], Held]
) -> None:
    """North's write holds north's lock and has not appended yet (as a draw does while
    it computes): south's draw neither waits for it nor is seen waiting."""
    north = hold(_site_lock("north"))
    thread, outcome = _in_thread(lambda: _draw(network, "south"))
    thread.join(WAIT)
    assert not thread.is_alive(), "south's draw waited for north's write"
    assert not isinstance(outcome[0], BaseException), outcome
    assert outcome[0].site == "south" and outcome[0].created
    north.release()
    assert network.sql("SELECT count(*) FROM draws WHERE site = 'south'") == [(1,)]


def test_a_sites_second_draw_waits_for_its_first_and_shows_it(
    network: Network, hold: Callable[[str], Held]
) -> None:
    """Two writes of one site wait for each other from their start: a draw that began
    while north's write was under way sees that write's draw once it commits."""
    north = hold(_site_lock("north"))
    thread, outcome = _in_thread(lambda: _draw(network, "north"))
    thread.join(3)
    assert thread.is_alive() and outcome == [], "north's draw did not wait for north's lock"
    north.release()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert not isinstance(outcome[0], BaseException), outcome
    assert outcome[0].site == "north"
    again = _draw(network, "north")  # the day is drawn once: the second shows the first
    assert not again.created and again.day == outcome[0].day
    assert network.sql("SELECT count(*) FROM draws WHERE site = 'north'") == [(1,)]


def test_a_site_waits_for_the_chain_only_to_append(
    network: Network, hold: Callable[[str], Held]
) -> None:
    """Held by another write's append, the chain's lock holds up south's write (it
    appends), and south's write goes on as soon as it is free."""
    chain = hold(f"SELECT pg_advisory_xact_lock({APPEND_LOCK})")
    thread, outcome = _in_thread(
        lambda: network.ok("south", "clients", "add", "S-9", "--track", "morning", "--phase", "1")
    )
    thread.join(3)
    assert thread.is_alive() and outcome == []
    chain.release()
    thread.join(WAIT)
    assert not thread.is_alive() and not isinstance(outcome[0], BaseException), outcome


def test_a_sites_write_takes_the_chains_lock_at_its_first_append(network: Network) -> None:
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor
    from screening.services.plumbing.ledger import LedgerWriter

    advisory = (
        "SELECT classid::bigint << 32 | objid::bigint, objsubid FROM pg_locks "
        "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    )
    database = Database(resolve_url(network.url, network.folder))
    try:
        with database.write("north") as session:
            writer = LedgerWriter(session, Actor("staff1", None), datetime.now(UTC))
            writer.check_clock()
            before = set(session.execute(sa.text(advisory)).all())
            writer.append("north", "viewed", {"command": "clients list", "clients": []})
            after = set(session.execute(sa.text(advisory)).all())
            session.rollback()
    finally:
        database.dispose()
    north = ((SITE_CLASS << 32) | (site_key("north") & 0xFFFFFFFF), 2)
    assert north in before and (APPEND_LOCK, 1) not in before
    assert north in after and (APPEND_LOCK, 1) in after


def test_both_sites_writing_at_once_make_one_chain_that_verifies(network: Network) -> None:
    """Two sites' enrolments interleave on one chain: no seq twice, no fork, and the
    whole network's verify passes."""
    from screening.services import clients

    def enrol(site: str) -> None:
        ctx = network.context(site)
        try:
            for n in range(10, 16):
                clients.add(ctx, f"{site[0].upper()}-{n}", "morning", "1")
        finally:
            ctx.database.dispose()

    runs = [_in_thread(lambda site=site: enrol(site)) for site in ("north", "south", "north")]
    for thread, _ in runs:
        thread.join(WAIT * 2)
    failures = [item for _, outcome in runs for item in outcome if item is not None]
    # The third writer enrols north's codes again: each code once, the rest refused.
    assert all(not thread.is_alive() for thread, _ in runs)
    assert len(failures) == 1 and "already" in str(failures[0])
    seqs = [seq for (seq,) in network.sql("SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert network.sql("SELECT count(DISTINCT site) FROM ledger WHERE kind = 'client'") == [(2,)]
    assert "ledger intact" in network.ok("north", "audit", "verify").stdout


def _sent_during(action: Callable[[], Any]) -> list[str]:
    """The statements sent while ``action`` runs, in order."""
    from sqlalchemy import event

    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    return sent


def _after_the_chains_lock(sent: list[str], check: str) -> bool:
    """Whether the first statement holding ``check`` comes after the chain's lock is
    taken in the writing transaction (the role checks before it read grants too): a
    check of what other sites write, run before it, races their writes."""
    began = next(i for i, s in enumerate(sent) if "pg_advisory_xact_lock_shared" in s)
    locked = next(i for i, s in enumerate(sent) if "pg_advisory_xact_lock(%(append)s)" in s)
    checked = next(i for i, s in enumerate(sent) if i > began and check in s)
    return began < locked < checked


def test_what_other_sites_write_is_checked_under_the_chains_lock(network: Network) -> None:
    """A specimen label, a login's grants and whether the ledger is empty are the
    network's, not one site's: their checks wait for any other site's write that is
    appending (two sites once recorded the same label, granted one login auditor at one
    site and clinician at the other, and left a site with no admin)."""
    user = sa.make_url(network.url).username or ""
    made = network.ok("south", "results", "for-cause", "S-1", "--reason", "a test").stderr
    screening = made.split("for-cause screening ", 1)[1].split()[0]  # S-1 may be drawn too
    recorded = _sent_during(
        lambda: network.ok(
            *("south", "results", "record", "S-1", "--specimen-id", "LAB-77"),
            *("--screening", screening),
        )
    )
    assert _after_the_chains_lock(recorded, "lower(results.specimen_id)")
    network.sql(f"CREATE ROLE lock_test_login LOGIN; GRANT {user} TO lock_test_login")
    try:
        granted = _sent_during(
            lambda: network.ok("south", "access", "grant", "lock_test_login", "staff")
        )
        assert _after_the_chains_lock(granted, "FROM access_grants")
        revoked = _sent_during(
            lambda: network.ok(
                "south", "access", "revoke", "lock_test_login", "staff", "--site", "south"
            )
        )
        assert _after_the_chains_lock(revoked, "FROM access_grants")
    finally:
        network.sql("DROP ROLE IF EXISTS lock_test_login")


def test_two_sites_set_up_at_once_begin_one_chain(tmp_path: Path) -> None:
    """Two `init`s of new sites on an empty database at the same moment, as two admins
    would run them: one creates the tables and writes the genesis entry, the other
    waits and joins the chain it began (the second once failed creating the tables)."""
    import subprocess
    import sys

    urls = _pg_schema_url()
    made = Network(tmp_path, next(urls))
    user = sa.make_url(made.url).username or ""
    try:
        inits = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "screening",
                    "--db",
                    made.url,
                    "--config",
                    str(tmp_path / site / "screening.toml"),
                    "init",
                    "--site",
                    site,
                    "--timezone",
                    "UTC",
                ],  # fmt: skip
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for site in ("east", "west")
        ]
        for init in inits:
            _, err = init.communicate(timeout=WAIT * 2)
            assert init.returncode == 0, err
        assert made.sql("SELECT count(*) FROM ledger WHERE kind = 'genesis'") == [(1,)]
        seqs = [seq for (seq,) in made.sql("SELECT seq FROM ledger ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        for site in ("east", "west"):
            made.ok(site, "access", "grant", user, "auditor", "--site", site)
            assert "ledger intact" in made.ok(site, "audit", "verify").stdout
    finally:
        urls.close()
