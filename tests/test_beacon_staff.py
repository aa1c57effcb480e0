"""The beacon as clinic staff meet it (issue 20, user test): what `today` says while the
day's round is awaited, a late draw whose relays fail, the beacon turned off in the
config while its relays are out of reach, a relay address copied with its chain and
round, and what the daily job logs when it draws without the beacon."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.beacon_chain import Relay, signed_round, use_test_chain
from tests.conftest import Clinic
from tests.test_beacon_draw import _bodies, _draw_count, _open, _with_beacon

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture
def clinic(backend: str, tmp_path: Path) -> Clinic:
    return Clinic(tmp_path, backend)


@ON_SQLITE
def test_today_names_the_round_the_draw_waits_for(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round) as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url])
        with freeze_time("2026-03-03T11:59:00Z"):  # 06:59: the round is a minute away
            early = clinic.ok("today")
        with freeze_time("2026-03-03T12:00:10Z"):
            ready = clinic.ok("today")
    assert "no draw yet for 2026-03-03: it waits for drand-quicknet round" in early.stderr
    assert "published at 07:00:03 EST; nobody can know the list before then" in early.stderr
    assert "(decided by drand-quicknet round" in ready.stderr
    assert "published at 07:00:03 EST); run `screening select`" in ready.stderr


@ON_SQLITE
def test_a_late_draw_whose_relays_fail_says_to_run_it_again_not_the_daily_job(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_chain(monkeypatch)
    _open(clinic, "2026-03-02T15:00:00Z", [DOWN], timeout_seconds=1)
    with freeze_time("2026-03-04T15:00:00Z"):
        refused = clinic.run("select", "--late", "2026-03-03", "--reason", "relays down")
    assert refused.exit_code == 3
    message = refused.stderr.strip()
    assert "nothing was drawn for 2026-03-03" in message
    assert "run `screening select --late 2026-03-03 --reason ...` again" in message
    assert "daily job" not in message and len(message.splitlines()) == 1


@ON_SQLITE
def test_turning_the_beacon_off_when_its_relays_are_out_of_reach_takes_effect_next_day(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused draw wrote nothing, so without the daily job the change in the config
    was never recorded and every later day stayed under the beacon: stuck for good."""
    use_test_chain(monkeypatch)
    _open(clinic, "2026-03-02T15:00:00Z", [DOWN], timeout_seconds=1)
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace('kind = "drand-quicknet"', 'kind = "none"'))
    with freeze_time("2026-03-03T12:30:00Z"):
        refused = clinic.run("select")
    assert refused.exit_code == 3
    assert "the config's [beacon] or run_at differs from the policy in force when 2026-03-03 " \
        "began, which decides it; the change is recorded now and takes effect on " \
        "2026-03-04" in refused.stderr  # fmt: skip
    assert "beacon" not in _bodies(clinic, "policy")[-1] and _draw_count(clinic) == 0
    with freeze_time("2026-03-03T12:40:00Z"):
        again = clinic.run("select")
    assert "a change takes effect the local day after it is recorded" in again.stderr
    assert len(_bodies(clinic, "policy")) == 3  # init's, the beacon's, and "none": once
    with freeze_time("2026-03-04T12:00:10Z"):
        clinic.ok("select")
    [body] = _bodies(clinic, "draw")
    assert body["date"] == "2026-03-04" and body["beacon_id"] == "none"
    assert "beacon" not in body


@pytest.mark.parametrize(
    "relay",
    [
        "https://api.drand.sh/52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
        "https://api.drand.sh/public/latest",
    ],
)
def test_a_relay_copied_with_its_chain_or_round_is_refused(clinic: Clinic, relay: str) -> None:
    with freeze_time("2026-03-02T15:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        _with_beacon(config, [relay])
        checked = clinic.run("config", "check")
    assert checked.exit_code == 2
    assert "write the relay's base URL only" in checked.stdout + checked.stderr


def test_a_relay_behind_a_path_is_kept(clinic: Clinic) -> None:
    with freeze_time("2026-03-02T15:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        _with_beacon(config, ["https://proxy.example/drand/"])
        clinic.ok("config", "check")
    assert json.dumps(["https://proxy.example/drand/"]) in config.read_text()


@ON_SQLITE
def test_the_daily_job_logs_a_draw_without_its_beacon_as_a_warning(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_schedule import _running

    use_test_chain(monkeypatch)
    _open(clinic, "2026-03-02T15:00:00Z", [DOWN], timeout_seconds=1, fallback="draw")
    caplog.set_level(logging.INFO, logger="screening.schedule")
    with _running(clinic) as job:
        with freeze_time("2026-03-03T12:00:00Z"):  # 07:00:00: the round is 3 s away
            job.draw()
        with freeze_time("2026-03-03T13:00:05Z"):  # the wait is over
            job.draw()
    waiting, drew = (r for r in caplog.records if "beacon" in r.getMessage())
    assert waiting.getMessage().startswith("waiting for the beacon: the draw of 2026-03-03")
    assert "screening select" not in waiting.getMessage()
    assert drew.levelno == logging.WARNING
    assert "WITHOUT its beacon (flagged in audits)" in drew.getMessage()
