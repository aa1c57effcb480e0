"""`screening init`: config, database, key, genesis, policy, anchors; never twice."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.cli import app
from screening.core.selection import anchor
from tests.conftest import ME, Clinic

runner = CliRunner()


def _ledger(clinic: Clinic) -> list[dict]:
    return [json.loads(text) for (text,) in clinic.sql("SELECT canonical FROM ledger ORDER BY seq")]


def test_init_writes_config_database_and_key_owner_only(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--site", "main", "--timezone", "America/New_York"])
    assert result.exit_code == 0, result.stderr
    for name in ("screening.toml", "screening.db", "screening.key"):
        assert (tmp_path / name).exists(), name
    for name in ("screening.db", "screening.key", "screening.toml", "screening-witness.key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    assert len(bytes.fromhex((tmp_path / "screening.key").read_text().strip())) == 32
    witness_key = (tmp_path / "screening-witness.key").read_text().strip()
    assert len(bytes.fromhex(witness_key)) == 32
    assert witness_key != (tmp_path / "screening.key").read_text().strip()
    text = (tmp_path / "screening.toml").read_text()
    assert 'name = "main"' in text and 'timezone = "America/New_York"' in text
    assert "Back up" in result.stderr and "screening.key" in result.stderr
    # The witness key is said, with where to keep it: apart from the master key.
    assert f"witness key: {tmp_path / 'screening-witness.key'}" in result.stderr
    assert "not in the same place as the master key" in result.stderr
    assert "first checkpoint: " + str(tmp_path / "screening-witness") in result.stderr


def test_init_ledger_holds_genesis_site_policy_and_thirteen_anchors(clinic: Clinic) -> None:
    entries = _ledger(clinic)
    assert [entry["kind"] for entry in entries[:3]] == ["genesis", "site", "policy"]
    assert entries[1]["body"] == {"action": "create", "timezone": "America/New_York"}
    commitments = [entry["body"] for entry in entries if entry["kind"] == "commitment"]
    assert len(commitments) == 13
    periods = [body["period"] for body in commitments]
    assert periods == sorted(periods) and len(set(periods)) == 13
    key = bytes.fromhex((clinic.folder / "screening.key").read_text().strip())
    for body in commitments:
        assert body["anchor"] == anchor(key, "main", body["period"]).hex()
    policy = entries[2]["body"]
    assert policy["phases"]["1"]["p"] == {"evening": "1/1", "morning": "2/3"}
    assert policy["tracks"] == {"evening": ["tue", "thu"], "morning": ["mon", "wed", "fri"]}
    assert entries[0]["prev"] == "0" * 64
    # The login name enters the ledger as a salted digest; the name stays in the database.
    # On PostgreSQL the database login too, whose roles count there (core/access.py).
    actor = entries[0]["actor"]
    names = {"os_digest": ME} | ({} if clinic.is_sqlite else {"login_digest": clinic.user})
    assert set(actor) == set(names) and all(len(digest) == 64 for digest in actor.values())
    stored = dict(clinic.sql("SELECT digest, name FROM staff_names"))
    assert {stored[digest] for digest in actor.values()} == set(names.values())
    # Init's user is the site's admin, granted last (the tests' fixture grants it the
    # working roles after that).
    grant = next(entry for entry in entries if entry["kind"] == "role")
    assert grant["seq"] == 17 and grant["body"]["role"] == "admin"
    assert stored[grant["body"]["user"]] == clinic.user


def test_second_init_refuses_and_changes_nothing(clinic: Clinic) -> None:
    before = {p.name: p.read_bytes() for p in clinic.folder.iterdir() if p.is_file()}
    result = clinic.run("init", "--site", "main", "--timezone", "America/New_York")
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    after = {p.name: p.read_bytes() for p in clinic.folder.iterdir() if p.is_file()}
    assert after == before
    # 16 entries of init, its admin's grant and the fixture's three grants.
    assert clinic.sql("SELECT count(*) FROM ledger") == [(20,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "not an IANA time zone"),
        (["--site", "Main Street", "--timezone", "UTC"], "not a site name"),
    ],
)
def test_bad_init_leaves_no_files(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == []


def test_init_refuses_an_existing_key_file(tmp_path: Path) -> None:
    (tmp_path / "screening.key").write_text("precious\n")
    result = runner.invoke(app, ["init", "--timezone", "UTC"])
    assert result.exit_code == 2
    assert "key file already exists" in result.stderr
    assert (tmp_path / "screening.key").read_text() == "precious\n"
    assert not (tmp_path / "screening.toml").exists()
    assert not (tmp_path / "screening.db").exists()


def test_a_second_site_joins_a_shared_database(backend: str, tmp_path: Path) -> None:
    """A network of sites shares one ledger: one genesis, anchors per site."""
    first, second = tmp_path / "north", tmp_path / "south"
    for folder, site in ((first, "north"), (second, "south")):
        result = runner.invoke(
            app,
            [
                "--db",
                backend,
                "--config",
                str(folder / "screening.toml"),
                "init",
                "--site",
                site,
                "--timezone",
                "America/Chicago",
            ],
        )
        assert result.exit_code == 0, result.stderr
    clinic = Clinic(first, backend)
    kinds = clinic.sql("SELECT site, kind FROM ledger ORDER BY seq")
    assert kinds.count(("north", "genesis")) == 1
    assert ("south", "genesis") not in kinds
    assert kinds.count(("south", "commitment")) == 13
    again = runner.invoke(
        app,
        [
            "--db",
            backend,
            "--config",
            str(tmp_path / "x" / "screening.toml"),
            "init",
            "--site",
            "south",
            "--timezone",
            "UTC",
        ],
    )
    assert again.exit_code == 2
    assert "already initialised" in again.stderr


def test_the_sites_of_a_network_share_the_founding_sites_witness_key(
    backend: str, tmp_path: Path
) -> None:
    """One ledger, one witness key: a joining site does not make its own (its checkpoints
    would make the founding site's look forged) but says to copy the founder's."""
    first, second = tmp_path / "north", tmp_path / "south"
    share = tmp_path / "share"
    share.mkdir()

    def run(folder: Path, *args: str):  # type: ignore[no-untyped-def]
        config = folder / "screening.toml"
        return runner.invoke(app, ["--db", backend, "--config", str(config), *args])

    for folder, site in ((first, "north"), (second, "south")):
        result = run(folder, "init", "--site", site, "--timezone", "America/Chicago")
        assert result.exit_code == 0, result.stderr
        config = folder / "screening.toml"
        config.write_text(config.read_text().replace("folders = []", f'folders = ["{share}"]', 1))
    assert (first / "screening-witness.key").exists()
    assert not (second / "screening-witness.key").exists()
    assert (
        "this ledger is shared with site 'north', which began it: the sites of a network "
        f"share its witness key. Copy north's witness key file (screening-witness.key beside "
        f"its config) to {second / 'screening-witness.key'}, mode 0600"
    ) in result.stderr
    shutil.copy2(first / "screening-witness.key", second / "screening-witness.key")
    for folder in (second, first):
        assert run(folder, "audit", "checkpoint").exit_code == 0
    for folder in (first, second):
        verified = run(folder, "audit", "verify")
        assert verified.exit_code == 0, verified.stderr
        assert "witnessed: " in verified.stdout and "another key" not in verified.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_init_records_a_typed_database_url_and_the_next_command_uses_it(
    backend: str, tmp_path: Path, where: str
) -> None:
    """`screening --db URL init` (or `init --db URL`): the config names that database,
    so that the commands after it need no --db (issue 16)."""
    args = ["init", "--timezone", "America/New_York"]
    args = ["--db", backend, *args] if where == "before" else [*args, "--db", backend]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert f"url = {json.dumps(backend)}" in (tmp_path / "screening.toml").read_text()
    listed = runner.invoke(app, ["clients", "list", "--json"])
    assert (listed.exit_code, listed.stdout.strip()) == (0, "[]"), listed.stderr
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://clinic:s3cret@db/screening",
        "postgresql+psycopg://clinic@db/screening?sslmode=require&Password=s3cret",
    ],
)
def test_init_refuses_a_password_in_the_url_it_would_record(tmp_path: Path, url: str) -> None:
    result = runner.invoke(app, ["init", "--timezone", "UTC", "--db", url])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the database URL holds a password, and init writes the URL into the config; "
        "leave the password out of the URL and give it through PGPASSWORD or ~/.pgpass "
        "(mode 0600) instead\n"
    )
    assert "s3cret" not in result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == []


def test_init_away_from_a_terminal_requires_the_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server's zone is often UTC: taking it silently puts "today" hours off."""
    monkeypatch.setattr("screening.cli.setup._local_timezone", lambda: "America/Phoenix")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --timezone is required: the clinic's IANA time zone, which decides its "
        '"today" (e.g. --timezone America/Phoenix, this machine\'s)\n'
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == []


def test_init_at_a_terminal_asks_for_the_time_zone_offering_the_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screening.cli.setup._on_terminal", lambda: True)
    monkeypatch.setattr("screening.cli.setup._local_timezone", lambda: "Europe/Berlin")
    offered = runner.invoke(app, ["init"], input="\n")
    assert offered.exit_code == 0, offered.stderr
    assert "[Europe/Berlin]" in offered.stderr
    assert 'timezone = "Europe/Berlin"' in (tmp_path / "screening.toml").read_text()
    typed = runner.invoke(
        app, ["--config", str(tmp_path / "b" / "screening.toml"), "init"], input="America/Denver\n"
    )
    assert typed.exit_code == 0, typed.stderr
    assert 'timezone = "America/Denver"' in (tmp_path / "b" / "screening.toml").read_text()


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("america/new_york", "America/New_York"), ("new york", "America/New_York")],
)
def test_a_misspelt_time_zone_gets_a_did_you_mean(
    tmp_path: Path, typed: str, suggested: str
) -> None:
    result = runner.invoke(app, ["init", "--timezone", typed])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {typed!r} is not an IANA time zone; did you mean {suggested}?\n"
    )
    assert not (tmp_path / "screening.toml").exists()


@pytest.mark.parametrize("typed", ["EST", "EST5EDT", "Etc/GMT+5", "PST8PDT", "GB"])
def test_a_fixed_offset_is_refused_for_it_keeps_no_daylight_saving(
    tmp_path: Path, typed: str
) -> None:
    """EST is UTC-5 all year: a New York clinic set up with it would decide "today" and
    every deadline an hour off all summer."""
    result = runner.invoke(app, ["init", "--timezone", typed])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {typed!r} names no place (an old alias")
    assert not (tmp_path / "screening.toml").exists()


def test_a_server_in_utc_is_not_offered_as_the_clinics_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screening.cli.setup._local_timezone", lambda: "Etc/UTC")
    monkeypatch.setattr("screening.cli.setup._on_terminal", lambda: False)
    piped = runner.invoke(app, ["init"])
    assert piped.exit_code == 2
    assert "e.g. --timezone America/New_York)" in piped.stderr and "UTC" not in piped.stderr
    monkeypatch.setattr("screening.cli.setup._on_terminal", lambda: True)
    asked = runner.invoke(app, ["init"], input="\nAmerica/Chicago\n")
    assert asked.exit_code == 0, asked.stderr
    assert "[Etc/UTC]" not in asked.stderr
    assert 'timezone = "America/Chicago"' in (tmp_path / "screening.toml").read_text()


@pytest.mark.parametrize(("typed", "kept"), [("utc", "UTC"), ("Etc/UTC", "Etc/UTC")])
def test_utc_said_on_purpose_is_kept_in_any_case(tmp_path: Path, typed: str, kept: str) -> None:
    result = runner.invoke(app, ["init", "--timezone", typed])
    assert result.exit_code == 0, result.stderr
    assert f'timezone = "{kept}"' in (tmp_path / "screening.toml").read_text()


def test_an_empty_time_zone_is_refused_not_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screening.cli.setup._on_terminal", lambda: False)
    result = runner.invoke(app, ["init", "--timezone", ""])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: '' is not an IANA time zone")
