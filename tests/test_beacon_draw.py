"""`screening select` with the drand quicknet beacon (issue 20): the round of the day by
rule, fetched from the relays on 127.0.0.1 and checked here, a draw refused before its
round exists, relays that lie or fail, and the fallback the policy declares."""

from __future__ import annotations

import hashlib
import json
from datetime import date, time, timedelta
from pathlib import Path
from time import monotonic
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core import beacon
from screening.core.selection import day_key, day_seed, is_selected, parse_fraction, score
from tests.beacon_chain import (
    RECORDED,
    Relay,
    recorded_round,
    signed_round,
    use_test_chain,
)
from tests.conftest import Clinic, write_csv

NEW_YORK = ZoneInfo("America/New_York")
# The relays and the rounds do not depend on the database: one backend is enough.
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def clinic(backend: str, tmp_path: Path) -> Clinic:
    """A folder and database with no clinic yet: each test opens it at its own date
    (conftest's clinic is made today, and a ledger's clock never goes back)."""
    return Clinic(tmp_path, backend)


def _with_beacon(config: Path, relays: list[str], **extra: object) -> None:
    """The config's [beacon] table set to quicknet from ``relays``."""
    lines = ['kind = "drand-quicknet"', f"relays = {json.dumps(relays)}"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in extra.items()]
    text = config.read_text()
    assert '\nkind = "none"\n' in text
    config.write_text(text.replace('\nkind = "none"\n', "\n" + "\n".join(lines) + "\n", 1))


def _open(clinic: Clinic, when: str, relays: list[str], **extra: object) -> None:
    """A New York clinic drawing at 07:00, set up at ``when``, its beacon configured and
    recorded in its policy that day (the rule then governs from the next day)."""
    with freeze_time(when):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        # Every calendar day counts, so that each test's day has a pool to draw from, and
        # phase 1 is tested every day: a draw always selects someone (a third of the
        # clients), whatever the random key init made, and leaves others out.
        text = config.read_text().replace('run_at = "06:30"', 'run_at = "07:00"')
        text = text.replace('days = "meeting"', 'days = "calendar"')
        assert "\ntests_per_week = 2\n" in text
        config.write_text(text.replace("\ntests_per_week = 2\n", "\ntests_per_week = 7\n", 1))
        _with_beacon(config, relays, **extra)
        rows = [f"C-{i:02d},Client {i},morning,{1 + i % 3},{when[:10]}," for i in range(20)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))


def config_url(config: Path) -> str:
    """The one relay the config names."""
    return json.loads(config.read_text().split("relays = ", 1)[1].splitlines()[0])[0]


def _bodies(clinic: Clinic, kind: str) -> list[dict]:
    return [
        json.loads(text)["body"]
        for (text,) in clinic.sql(
            "SELECT canonical FROM ledger WHERE kind = :k ORDER BY seq", k=kind
        )
    ]


def _draw_count(clinic: Clinic) -> int:
    return clinic.sql("SELECT count(*) FROM draws")[0][0]


def _expected_selection(clinic: Clinic, body: dict) -> list[str]:
    """The selection recomputed from the key file and the beacon, as verify does."""
    master = bytes.fromhex((clinic.folder / "screening.key").read_text().strip())
    day = date.fromisoformat(body["date"])
    seed = day_seed(
        day_key(master, "main", day), "main", day, body["beacon_id"],
        bytes.fromhex(body["beacon_value"]),
    )  # fmt: skip
    return sorted(
        item["uid"]
        for item in body["pool"]
        if is_selected(score(seed, item["uid"]), parse_fraction(item["p"]))
    )


@ON_SQLITE
def test_a_published_round_decides_the_day_and_nobody_can_draw_before_it(
    clinic: Clinic,
) -> None:
    # DESIGN §5.1's example: New York, 07:00, 15 September 2023 -> round 657413.
    relay = Relay(beacon.QUICKNET, lambda n: recorded_round(n) if n in RECORDED else None)
    with relay:
        _open(clinic, "2023-09-14T15:00:00Z", [relay.url])
        with freeze_time("2023-09-15T11:00:02Z"):  # 07:00:02: the round is a second away
            early = clinic.run("select")
        assert early.exit_code == 2, early.stderr
        assert "round 657413, published at 07:00:03 EDT" in early.stderr
        assert "run `screening select` again after 07:00:03 EDT" in early.stderr
        assert relay.asked == [] and _draw_count(clinic) == 0
        with freeze_time("2023-09-15T11:00:05Z"):
            clinic.ok("select")
    [body] = _bodies(clinic, "draw")
    published = RECORDED[657413]
    assert body["beacon_id"] == "drand-quicknet:657413"
    assert body["beacon_value"] == published["randomness"]
    assert body["beacon"] == {
        "round": 657413,
        "signature": published["signature"],
        "draw_time": "2023-09-15T11:00:00Z",
    }
    assert [item["uid"] for item in body["selected"]] == _expected_selection(clinic, body)
    assert body["selected"] and len(body["pool"]) == 20
    # Without the beacon the same key would have drawn another list.
    without = {**body, "beacon_id": "none", "beacon_value": ""}
    assert _expected_selection(clinic, without) != _expected_selection(clinic, body)


@ON_SQLITE
@pytest.mark.parametrize("number", [123, 657413, 12040883])  # the three
def test_every_recorded_round_decides_the_day_whose_draw_time_precedes_it(
    clinic: Clinic, number: int
) -> None:
    """Each published round, at the clock of its own day: run_at 3 seconds before it."""
    published = beacon.round_time(beacon.QUICKNET, number)
    local = (published - timedelta(seconds=3)).astimezone(NEW_YORK)
    day_before = (published - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Relay(beacon.QUICKNET, recorded_round) as relay:
        _open(clinic, day_before, [relay.url])
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace('run_at = "07:00"', f'run_at = "{local:%H:%M:%S}"')
        )
        with freeze_time(day_before):
            clinic.ok("clients", "add", "C-50", "--track", "morning", "--phase", "1")
        with freeze_time(published + timedelta(seconds=1)):
            clinic.ok("select")
    [body] = _bodies(clinic, "draw")
    assert body["beacon_id"] == f"drand-quicknet:{number}"
    assert body["beacon_value"] == RECORDED[number]["randomness"]
    assert relay.asked == [number]


@ON_SQLITE
def test_a_second_relay_is_asked_when_the_first_lies(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round, mode="other_round") as liar, Relay(chain, signed_round) as good:
        _open(clinic, "2026-03-02T15:00:00Z", [liar.url, good.url])
        with freeze_time("2026-03-03T12:00:10Z"):
            clinic.ok("select")
        number = beacon.round_of_day(chain, date(2026, 3, 3), time(7), NEW_YORK)
        assert liar.asked == [number] and good.asked == [number]
    [body] = _bodies(clinic, "draw")
    assert body["beacon"]["round"] == number
    assert (
        body["beacon_value"]
        == hashlib.sha256(bytes.fromhex(body["beacon"]["signature"])).hexdigest()
    )


@ON_SQLITE
@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("other_round", "does not verify for round"),
        ("flipped", "is not a valid point: it is not on the curve"),
        ("outside_subgroup", "outside the prime-order subgroup"),
        ("garbage", "answered something that is not a drand round"),
        ("missing", "has no round"),
        ("no_randomness", "its randomness is not the SHA-256 of its signature"),
        ("slow", "did not answer"),
        ("drip", "did not answer (no whole answer within 1 s)"),
    ],
)
def test_a_relay_that_lies_or_fails_is_caught_and_nothing_is_drawn(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, mode: str, words: str
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round, mode=mode) as relay:
        relay.delay = 2.5
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url], timeout_seconds=1)
        with freeze_time("2026-03-03T12:00:10Z"):
            started = monotonic()
            refused = clinic.run("select")
            waited = monotonic() - started
    assert refused.exit_code == 3, refused.stderr
    # However slowly a relay answers, it gets timeout_seconds (1 s here), not more.
    assert waited < 5, waited
    message = refused.stderr.strip()
    assert words in message and relay.url in message
    assert "nothing was drawn for 2026-03-03" in message
    # Deliberately reworded (issue 20's user test): "keeps trying until 08:00, then ...
    # keep waiting" read as if the waiting ended at 08:00.
    assert "the daily job keeps trying, as the policy says to wait for the round" in message
    assert "however long it takes (fallback = wait)" in message and "until" not in message
    assert "Traceback" not in refused.stderr and len(message.splitlines()) == 1
    assert _draw_count(clinic) == 0 and _bodies(clinic, "draw") == []


@ON_SQLITE
def test_the_fallback_draws_without_the_beacon_once_the_wait_is_over(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round, mode="missing") as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url], wait_minutes=30, fallback="draw")
        with freeze_time("2026-03-03T12:29:00Z"):  # 07:29: still within the wait
            waiting = clinic.run("select")
        assert waiting.exit_code == 3
        assert "until 07:30:00 EST, then the policy says draw without it" in waiting.stderr
        with freeze_time("2026-03-03T12:31:00Z"):
            clinic.ok("select")
    [body] = _bodies(clinic, "draw")
    assert body["beacon_id"] == "none" and body["beacon_value"] == ""
    number = beacon.round_of_day(chain, date(2026, 3, 3), time(7), NEW_YORK)
    assert body["beacon"]["round"] == number
    assert body["beacon"]["draw_time"] == "2026-03-03T12:00:00Z"
    assert body["beacon"]["missing"].startswith("no valid round within 30 minutes: ")
    assert "has no round" in body["beacon"]["missing"]
    assert [item["uid"] for item in body["selected"]] == _expected_selection(clinic, body)
    # The reconciliation flags the day, for tools and for the eye.
    with Relay(chain, signed_round) as relay, freeze_time("2026-03-04T12:00:10Z"):
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace(json.dumps([config_url(config)]), json.dumps([relay.url]))
        )
        clinic.ok("select")
        rows = json.loads(clinic.ok("report", "reconcile", "--from", "2026-03-03", "--json").stdout)
        table = clinic.ok("report", "reconcile", "--from", "2026-03-03").stdout
    assert [(row["date"], row["draw"], row["beacon"]) for row in rows] == [
        ("2026-03-03", "drawn, no beacon", "missing"),
        ("2026-03-04", "drawn", f"drand-quicknet:{number + 28800}"),
    ]
    assert "drawn, no" in table and "beacon" in table  # the column wraps at 80


@ON_SQLITE
def test_with_fallback_wait_the_day_waits_however_late(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round, mode="missing") as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url], wait_minutes=30)
        with freeze_time("2026-03-03T20:00:00Z"):
            refused = clinic.run("select")
    assert refused.exit_code == 3
    assert "the policy says to wait for the round however long it takes (fallback = wait)" in (
        refused.stderr
    )
    assert _draw_count(clinic) == 0


@ON_SQLITE
def test_an_amendment_keeps_the_round_and_a_late_draw_takes_its_own_day(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round) as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url])
        with freeze_time("2026-03-04T12:00:10Z"):
            clinic.ok("select", "--late", "2026-03-03", "--reason", "the job was down")
            clinic.ok("select")
            clinic.ok("clients", "add", "C-99", "--track", "morning", "--phase", "1")
            clinic.ok("select", "--amend", "--reason", "a new client was missed")
    late, today = _bodies(clinic, "draw")
    [amended] = _bodies(clinic, "draw_amend")
    assert late["beacon"]["round"] == beacon.round_of_day(
        chain, date(2026, 3, 3), time(7), NEW_YORK
    )
    assert today["beacon"]["round"] == late["beacon"]["round"] + 86400 // 3
    for name in ("beacon_id", "beacon_value", "beacon"):
        assert amended[name] == today[name]
    # The amendment asked no relay: two rounds fetched, one per draw.
    assert len(relay.asked) == 2


@ON_SQLITE
def test_a_beacon_configured_today_decides_from_tomorrow(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round) as relay:
        _open(clinic, "2026-03-03T09:00:00Z", [relay.url])  # 04:00 the same day
        with freeze_time("2026-03-03T12:00:10Z"):
            clinic.ok("select")
        with freeze_time("2026-03-04T12:00:10Z"):
            clinic.ok("select")
    first, second = _bodies(clinic, "draw")
    assert first["beacon_id"] == "none" and "beacon" not in first
    assert second["beacon_id"].startswith("drand-quicknet:")
    # So does a change of the draw time: a round cannot be moved once its day began.
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace('run_at = "07:00"', 'run_at = "09:00"'))
    with Relay(chain, signed_round) as moved:
        config.write_text(config.read_text().replace(relay.url, moved.url))
        with freeze_time("2026-03-05T12:00:10Z"):  # 07:00:10, and the policy said 07:00
            clinic.ok("clients", "add", "C-98", "--track", "morning", "--phase", "1")
            clinic.ok("select")
    third = _bodies(clinic, "draw")[2]
    assert third["beacon"]["draw_time"] == "2026-03-05T12:00:00Z"
    assert _bodies(clinic, "policy")[-1]["beacon"]["run_at"] == "09:00"


@ON_SQLITE
def test_bad_beacon_settings_are_named_by_config_check(clinic: Clinic) -> None:
    with freeze_time("2026-03-02T15:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        _with_beacon(config, ["ftp://relay.example"])
        checked = clinic.run("config", "check")
    assert checked.exit_code == 2
    assert "is not a relay's address" in checked.stdout + checked.stderr
    # A secret in a relay's address would be written in logs and ledger entries.
    text = config.read_text().replace("ftp://relay.example", "https://me:s3cret@relay.example")
    config.write_text(text)
    with freeze_time("2026-03-02T15:00:00Z"):
        checked = clinic.run("config", "check")
    assert checked.exit_code == 2
    assert "takes no user name or password" in checked.stdout + checked.stderr
    assert "s3cret" not in checked.stdout + checked.stderr
    config.write_text(text.replace("https://me:s3cret@relay.example", "ftp://relay.example"))
    # A run_at so close to midnight that the day's round may fall on the next day.
    text = config.read_text().replace("ftp://relay.example", "https://api.drand.sh")
    config.write_text(text.replace('run_at = "06:30"', 'run_at = "23:59:58"'))
    with freeze_time("2026-03-02T15:00:00Z"):
        checked = clinic.run("config", "check")
    assert checked.exit_code == 0, checked.stderr
    assert "schedule.run_at 23:59:58 is within 3 seconds of midnight" in checked.stderr


@ON_SQLITE
def test_the_daily_job_waits_for_the_round_then_draws(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_schedule import _running, _Scheduler

    chain = use_test_chain(monkeypatch)
    scheduler = _Scheduler()
    with Relay(chain, signed_round) as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url])
        number = beacon.round_of_day(chain, date(2026, 3, 3), time(7), NEW_YORK)
        published = beacon.round_time(chain, number)
        with _running(clinic, scheduler) as job:
            with freeze_time("2026-03-03T12:00:00Z"):  # the job fires at 07:00:00
                job.draw()
            assert _draw_count(clinic) == 0
            [(function, options)] = scheduler.jobs
            assert options["id"] == "draw-beacon"
            assert options["run_date"] == published + timedelta(seconds=2)
            with freeze_time(options["run_date"]):
                function()
    assert _draw_count(clinic) == 1
    assert relay.asked == [number]


@ON_SQLITE
def test_the_daily_job_asks_again_within_a_minute_and_draws_when_the_wait_is_over(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_schedule import _running, _Scheduler

    chain = use_test_chain(monkeypatch)
    scheduler = _Scheduler()
    with Relay(chain, signed_round, mode="missing") as relay:
        _open(clinic, "2026-03-02T15:00:00Z", [relay.url], wait_minutes=30, fallback="draw")
        with _running(clinic, scheduler) as job:
            with freeze_time("2026-03-03T12:00:05Z"):  # 07:00:05: the round is out
                job.draw()
            with freeze_time("2026-03-03T12:29:40Z"):
                job.draw()
            planned = [options["run_date"] for _, options in scheduler.jobs]
            assert [str(when) for when in planned] == [
                "2026-03-03 12:01:05+00:00",  # a minute later
                "2026-03-03 12:30:00+00:00",  # the moment the wait is over, not later
            ]
            assert _draw_count(clinic) == 0
            with freeze_time(planned[-1]):
                scheduler.jobs[-1][0]()
    [body] = _bodies(clinic, "draw")
    assert "missing" in body["beacon"]


@ON_SQLITE
def test_a_change_of_the_beacon_rule_is_never_recorded_with_the_clock_set_back(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dated back before midnight, a change of run_at made after seeing the day's rounds
    would choose the day's round: refused when written, and by verify when forged."""
    from tests.conftest import forge

    chain = use_test_chain(monkeypatch)
    _open(clinic, "2026-03-02T15:00:00Z", ["http://127.0.0.1:9"])
    with freeze_time("2026-03-03T05:02:00Z"):  # 00:02 on 3 March in New York
        clinic.ok("clients", "add", "C-77", "--track", "morning", "--phase", "2")
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace('run_at = "07:00"', 'run_at = "07:04:30"'))
    with freeze_time("2026-03-03T04:59:59Z"):  # 23:59:59 on 2 March: 2 minutes back
        refused = clinic.run("clients", "add", "C-78", "--track", "morning", "--phase", "2")
    assert refused.exit_code == 3, refused.stderr
    assert "clock is behind the ledger's last entry" in refused.stderr
    assert [body["beacon"]["run_at"] for body in _bodies(clinic, "policy")[1:]] == ["07:00"]
    # Recorded with the clock right, then its time forged back before the entry above.
    with freeze_time("2026-03-03T05:10:00Z"):
        clinic.ok("clients", "add", "C-78", "--track", "morning", "--phase", "2")
        assert clinic.ok("audit", "verify").exit_code == 0
    [(seq,)] = clinic.sql("SELECT seq FROM ledger WHERE kind = 'policy' ORDER BY seq DESC LIMIT 1")
    forge(clinic, seq, lambda document: document.update(at="2026-03-03T04:59:59Z"))
    [(stored,)] = clinic.sql("SELECT at FROM ledger WHERE seq = :s", s=seq)
    clinic.sql(
        "UPDATE ledger SET at = :at WHERE seq = :s",
        at=str(stored).replace("05:10:00", "04:59:59"),
        s=seq,
    )
    with freeze_time("2026-03-03T05:11:00Z"):
        broken = clinic.run("audit", "verify")
    assert broken.exit_code == 1
    assert f"entry {seq}: it changes the beacon rule of 'main' but is dated" in (
        broken.stdout + broken.stderr
    )
    # So does the exported verifier, with the standard library alone.
    with freeze_time("2026-03-03T05:12:00Z"):
        clinic.ok("audit", "export", "export", "--recipient", "Auditor", "--purpose", "audit")
    from tests.test_beacon_verify import script

    alone = script(clinic.folder / "export", chain)
    assert alone.returncode == 1, alone.stdout
    assert f"entry {seq}: it changes the beacon rule of 'main' but is dated" in alone.stderr
