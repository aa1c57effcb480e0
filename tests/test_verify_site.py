"""`audit verify --site NAME` on a network's shared database (issue 21): every entry's
link is checked, but only the site's entries are replayed and only its rows compared.
Both backends (a SQLite file may hold a network's sites too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from screening.cli import app
from tests.conftest import ME, WORKING_ROLES, run_sql

runner = CliRunner()


class Network:
    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.user = ME if url.startswith("sqlite") else (sa.make_url(url).username or ME)

    def run(self, site: str, *args: str) -> Any:
        config = self.folder / site / "screening.toml"
        return runner.invoke(app, ["--db", self.url, "--config", str(config), *args])

    def ok(self, site: str, *args: str) -> Any:
        result = self.run(site, *args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def sql(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        return run_sql(self.url, statement, **params)


@pytest.fixture
def network(backend: str, tmp_path: Path) -> Network:
    made = Network(backend, tmp_path)
    for site in ("north", "south"):
        made.ok(site, "init", "--site", site, "--timezone", "UTC")
        made.ok(site, "access", "grant", made.user, *WORKING_ROLES, "--site", site)
        for n in (1, 2):
            made.ok(site, "clients", "add", f"{site[0].upper()}-{n}", "--track", "morning",
                    "--phase", "1")  # fmt: skip
        made.ok(site, "select")
        made.ok(site, "results", "for-cause", f"{site[0].upper()}-1", "--reason", "impairment")
        [(cause,)] = made.sql(
            "SELECT s.id FROM screenings s JOIN clients c ON c.id = s.client_id "
            f"WHERE c.code = '{site[0].upper()}-1' AND s.reason = 'for_cause'"
        )
        made.ok(site, "results", "record", f"{site[0].upper()}-1", "--screening", str(cause),
                "--positive", "THC")  # fmt: skip
    return made


def _verify(network: Network, *args: str) -> Any:
    return network.run("north", "audit", "verify", *args)


def test_a_sites_verify_says_what_it_checked_and_counts_its_own_rows(network: Network) -> None:
    whole = _verify(network, "--json")
    north = _verify(network, "--site", "north", "--json")
    south = _verify(network, "--site", "south", "--json")
    assert (whole.exit_code, north.exit_code, south.exit_code) == (0, 0, 0), south.stderr
    whole_report, north_report = json.loads(whole.stdout), json.loads(north.stdout)
    south_report = json.loads(south.stdout)
    # The chain is one: each site's verify walks every entry to the same head.
    assert whole_report["head"] == north_report["head"] == south_report["head"]
    assert (north_report["site"], whole_report["site"]) == ("north", None)
    for kind in ("clients", "screenings", "results", "draws"):
        assert north_report[kind] + south_report[kind] == whole_report[kind] > 0, kind
    text = _verify(network, "--site", "north").stdout
    assert "site north only: every entry's hash and link checked" in text
    assert "other sites' entries and rows, and whole-table ids and links, not checked" in text


def test_a_changed_row_of_one_site_is_found_by_its_verify_not_the_others(
    network: Network,
) -> None:
    network.sql("UPDATE clients SET track = 'evening' WHERE code = 'S-2'")
    for args in ((), ("--site", "south")):
        refused = _verify(network, *args)
        assert refused.exit_code == 1 and "differs from the ledger in track" in refused.stderr
    assert _verify(network, "--site", "north").exit_code == 0


def test_a_sites_verify_does_not_read_another_sites_result_versions(network: Network) -> None:
    """A south version whose stored outcome list cannot be read: the full verify names
    it; north's verify never reads it."""
    network.sql(
        "UPDATE result_versions SET measures = 'not a list' WHERE result_id IN (SELECT r.id "
        "FROM results r JOIN screenings s ON s.id = r.screening_id JOIN clients c ON "
        "c.id = s.client_id WHERE c.site = 'south')"
    )
    assert _verify(network).exit_code == 1
    assert _verify(network, "--site", "south").exit_code == 1
    verified = _verify(network, "--site", "north")
    assert verified.exit_code == 0, verified.stderr


def test_a_changed_entry_of_another_site_breaks_every_sites_verify(network: Network) -> None:
    """The chain runs through every site's entries: an entry of south changed (its hash
    recomputed or not) is named by north's verify too."""
    if network.url.startswith("sqlite"):
        network.sql("DROP TRIGGER IF EXISTS ledger_no_update")
    else:
        network.sql("DROP TRIGGER IF EXISTS ledger_append_only ON ledger")
    [(seq, text)] = network.sql(
        "SELECT seq, canonical FROM ledger WHERE site = 'south' AND kind = 'client' "
        "ORDER BY seq LIMIT 1"
    )
    network.sql(
        "UPDATE ledger SET canonical = :text WHERE seq = :seq",
        text=text.replace("morning", "evening"),
        seq=seq,
    )
    for args in ((), ("--site", "north"), ("--site", "south")):
        refused = _verify(network, *args)
        assert refused.exit_code == 1, args
        assert f"entry {seq}: its contents do not match its hash" in refused.stderr, args


def test_an_unknown_site_is_named_with_the_sites_there_are(network: Network) -> None:
    refused = _verify(network, "--site", "east")
    assert refused.exit_code == 2, refused.stderr
    assert "there is no site 'east' in this database (its sites: north, south)" in refused.stderr
