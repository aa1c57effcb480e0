"""`screening select`, `today`, `policy show`, `audit reveal`, and verify's replay."""

from __future__ import annotations

import json
import stat
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening.core.selection import day_key, day_seed, is_selected, key_matches_anchor, score
from tests.conftest import Clinic, Inits, forge, write_csv

MONDAY = "2026-11-23T12:00:00Z"  # 07:00 in New York
TUESDAY = "2026-11-24T12:00:00Z"


@pytest.fixture
def site(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """A clinic with 30 clients enrolled on 1 November, on the Monday before Thanksgiving."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_select: site", _site)
    return clinic


def _site(clinic: Clinic) -> None:
    with freeze_time(MONDAY):
        clinic.ok("init", "--timezone", "America/New_York")
        rows = [
            f"C-{i:02d},Client {i},{('morning', 'evening')[i % 2]},{1 + i % 3},2026-11-01,"
            for i in range(30)
        ]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))


def _master(clinic: Clinic) -> bytes:
    return bytes.fromhex((clinic.folder / "screening.key").read_text().strip())


def _bodies(clinic: Clinic, kind: str) -> list[dict]:
    return [
        json.loads(t)["body"]
        for (t,) in clinic.sql("SELECT canonical FROM ledger WHERE kind = :k ORDER BY seq", k=kind)
    ]


def _selected_codes(clinic: Clinic, day: str) -> dict[str, str]:
    return dict(
        clinic.sql(
            "SELECT c.code, s.reason FROM screenings s JOIN clients c ON c.id = s.client_id "
            "WHERE s.date = :d",
            d=day,
        )
    )


def test_select_draws_once_and_the_outcomes_follow_the_key(site: Clinic) -> None:
    with freeze_time(MONDAY):
        first = site.ok("select", "--json")
    drawn = json.loads(first.stdout)
    assert drawn["date"] == "2026-11-23" and drawn["pool"] == 15
    assert drawn["left_out"] == {"not_a_meeting_day": 15}  # the evening track meets Tue/Thu
    (body,) = _bodies(site, "draw")
    seed = day_seed(day_key(_master(site), "main", date(2026, 11, 23)), "main", date(2026, 11, 23))
    randomly = {
        item["uid"]
        for item in body["pool"]
        if is_selected(score(seed, item["uid"]), Fraction(item["p"]))
    }
    assert {s["uid"] for s in body["selected"] if s["why"] == "random"} == randomly
    assert len(drawn["selected"]) == len(body["selected"]) > 0
    assert all(
        row["status"] == "pending" and row["collect_by"] == "19:00" for row in drawn["selected"]
    )
    size = site.sql("SELECT count(*) FROM ledger")[0][0]
    with freeze_time("2026-11-23T20:00:00Z"):
        again = site.ok("select", "--json")
    assert json.loads(again.stdout)["selected"] == drawn["selected"]
    # Nothing drawn again: the only entry is the record that the list was shown again.
    later = site.sql("SELECT kind, canonical FROM ledger WHERE seq > :s ORDER BY seq", s=size)
    assert [kind for kind, _ in later] == ["viewed"], "a second select drew"
    shown = json.loads(later[0][1])["body"]
    assert shown == {"command": "select", "clients": sorted(s["uid"] for s in body["selected"])}
    assert site.sql("SELECT count(*) FROM draws") == [(1,)]


def test_select_table_csv_and_today(site: Clinic) -> None:
    with freeze_time(MONDAY):
        none_yet = site.ok("today")
        assert "no draw yet for 2026-11-23" in none_yet.stderr
        shown = site.ok("select", "--csv", "list.csv")
        today = site.ok("today")
    assert "Screening list for 2026-11-23" in shown.stdout
    assert "in the pool" in shown.stderr and "left out: 15 not a meeting day" in shown.stderr
    listed = (site.folder / "list.csv").read_text().splitlines()
    assert listed[0] == "code,name,track,phase,why,collect_by,status"
    assert stat.S_IMODE((site.folder / "list.csv").stat().st_mode) == 0o600
    assert len(listed) - 1 == len(_selected_codes(site, "2026-11-23"))
    assert f"{len(listed) - 1} pending, 0 done" in today.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--late", "2026-11-24", "--reason", "x"], "in the future: nobody may draw or preview"),
        (["--late", "2026-11-23", "--reason", "x"], "today's draw is not late"),
        (["--late", "2026-11-20"], "--reason (why the draw was missed) is empty"),
        (["--reason", "because"], "--reason goes with --amend or --late DATE"),
        (["--amend", "--reason", "late hold"], "there is no draw for 2026-11-23 to amend"),
        (["--amend", "--late", "2026-11-20", "--reason", "x"], "cannot be combined"),
        (["--late", "someday", "--reason", "x"], "is not a date"),
    ],
)
def test_bad_select_is_refused_and_writes_nothing(
    site: Clinic, args: list[str], message: str
) -> None:
    size = site.sql("SELECT count(*) FROM ledger")[0][0]
    with freeze_time(MONDAY):
        result = site.run("select", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert site.sql("SELECT count(*) FROM ledger")[0][0] == size


def test_late_draw_is_flagged_and_revealed_at_once(site: Clinic) -> None:
    with freeze_time(TUESDAY):
        first = site.ok("select", "--late", "2026-11-20", "--reason", "server was down")
        again = site.ok("select", "--late", "2026-11-20", "--reason", "server was down")
        report = site.ok("audit", "verify")
    assert "already drawn" not in first.stderr
    # Asked again, the day is shown as it was drawn, and the user is told nothing was written.
    assert again.stderr.startswith("2026-11-20 was already drawn at ")
    assert "nothing written" in again.stderr and again.stdout == first.stdout
    (body,) = _bodies(site, "draw")
    assert body["date"] == "2026-11-20" and body["late"] is True
    assert "server" not in json.dumps(body)
    (reveal,) = _bodies(site, "reveal")
    assert reveal["date"] == "2026-11-20"
    assert "flag: late draw main 2026-11-20" in report.stdout
    assert "replayed from revealed keys: 1" in report.stdout


def test_late_draw_before_a_discharge_still_pools_the_discharged_client(site: Clinic) -> None:
    """Verify keeps in memory only clients still in the program; a late draw for a day
    before someone's discharge, and their readmission, must bring them back."""
    uid = site.sql("SELECT uid FROM clients WHERE code = 'C-00'")[0][0]
    with freeze_time(MONDAY):
        site.ok("clients", "discharge", "C-00", "--on", "2026-11-20")
        site.ok("select")
    with freeze_time(TUESDAY):
        site.ok("select", "--late", "2026-11-18", "--reason", "server was down")
        site.ok("clients", "readmit", "C-00", "--phase", "1")
        site.ok("select")
        report = site.ok("audit", "verify")
    draws = {body["date"]: body for body in _bodies(site, "draw")}
    assert uid in {item["uid"] for item in draws["2026-11-18"]["pool"]}
    considered = {
        day: {item["uid"] for item in body["pool"] + body["left_out"]}
        for day, body in draws.items()
    }
    assert uid not in considered["2026-11-23"] and uid in considered["2026-11-24"]
    assert "replayed from revealed keys: 2" in report.stdout


def test_next_days_write_reveals_yesterdays_key(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok("select")
        assert "no key to reveal" in site.ok("audit", "reveal").stderr
        assert _bodies(site, "reveal") == []
    with freeze_time(TUESDAY):
        assert "revealed the keys of 2026-11-23" in site.ok("audit", "reveal").stderr
    (reveal,) = _bodies(site, "reveal")
    anchor = next(b for b in _bodies(site, "commitment") if b["period"] == "2026-11")["anchor"]
    assert key_matches_anchor(
        bytes.fromhex(reveal["key"]), date(2026, 11, 23), bytes.fromhex(anchor)
    )
    assert site.sql("SELECT revealed_seq IS NOT NULL FROM draws") in ([(1,)], [(True,)])
    with freeze_time(TUESDAY):
        assert "replayed from revealed keys: 1" in site.ok("audit", "verify").stdout


def test_holds_and_closures_leave_clients_out(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok(
            "clients",
            "hold",
            "C-00",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-25",
            "--reason",
            "hospital",
        )
        site.ok("close", "2026-11-26", "--reason", "Thanksgiving")
        drawn = json.loads(site.ok("select", "--json").stdout)
        refused = site.run("close", "2026-11-23", "--reason", "snow")
    assert drawn["left_out"] == {"hold": 1, "not_a_meeting_day": 15}
    assert refused.exit_code == 2 and "already been made" in refused.stderr
    with freeze_time("2026-11-26T12:00:00Z"):
        closed = site.ok("select", "--json")
    closed_day = json.loads(closed.stdout)
    assert closed_day["closed"] is True and closed_day["selected"] == []
    assert closed_day["pool"] == 0 and closed_day["left_out"] == {"closure": 30}


def test_amend_keeps_selections_and_draws_the_newly_eligible(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok("select")
        before = _selected_codes(site, "2026-11-23")
        held = sorted(before)[0]
        site.ok(
            "clients",
            "hold",
            held,
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-23",
            "--reason",
            "entered late",
        )
        for i in range(30, 60):
            site.ok(
                "clients",
                "add",
                f"C-{i}",
                "--track",
                "morning",
                "--phase",
                "1",
                "--admitted",
                "2026-11-23",
            )
        amended = site.ok("select", "--amend", "--reason", "hold and admissions entered late")
    after = _selected_codes(site, "2026-11-23")
    assert before.items() <= after.items(), "an amendment unselected someone"
    assert held in after
    (amend,) = _bodies(site, "draw_amend")
    seed = day_seed(day_key(_master(site), "main", date(2026, 11, 23)), "main", date(2026, 11, 23))
    new_uids = {uid for (uid,) in site.sql("SELECT uid FROM clients WHERE code >= 'C-30'")}
    expected_new = {uid for uid in new_uids if is_selected(score(seed, uid), Fraction(2, 3))}
    assert set(amend["added"]) == expected_new
    assert len(after) == len(before) + len(expected_new)
    assert "amended once" in amended.stderr
    with freeze_time(TUESDAY):
        site.ok("audit", "verify")


def test_a_replaced_key_file_is_refused(site: Clinic) -> None:
    """Exit 1, a check failed: from here a replaced key file and a history rewritten
    with another key look the same, and the message says how to tell."""
    (site.folder / "screening.key").write_text("11" * 32 + "\n")
    with freeze_time(MONDAY):
        result = site.run("select")
    assert result.exit_code == 1
    assert "does not match the anchor committed for 2026-11" in result.stderr
    assert "restore the original from your backup" in result.stderr
    assert "screening audit verify" in result.stderr
    assert site.sql("SELECT count(*) FROM draws") == [(0,)]


def test_missing_key_file_stops_the_draw(site: Clinic) -> None:
    (site.folder / "screening.key").unlink()
    with freeze_time(MONDAY):
        result = site.run("select")
    assert result.exit_code == 3 and "restore it from your backup" in result.stderr


def test_count_mode_draws_exactly_k(site: Clinic) -> None:
    config = site.folder / "screening.toml"
    config.write_text(config.read_text().replace("per_day = 0", "per_day = 4"))
    with freeze_time(MONDAY):
        drawn = json.loads(site.ok("select", "--json").stdout)
    random = [row for row in drawn["selected"] if row["why"] == "random"]
    assert len(random) == 4


def test_policy_show_explains_and_warns(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok("close", "2026-12-25", "--reason", "holiday")
        shown = site.ok("policy", "show")
        data = json.loads(site.ok("policy", "show", "--json").stdout)
    assert "2/3 (66.7%)" in shown.stdout
    row = next(r for r in data["rows"] if r["phase"] == "1" and r["track"] == "morning")
    assert row["per_week"] == "2.00" and row["per_30_days"] == "8.57" and row["max_gap"] == 14
    assert "closed on: 2026-12-25" in shown.stderr
    assert "phase 1 on track evening: p = 1" in shown.stderr
    config = site.folder / "screening.toml"
    config.write_text(
        config.read_text().replace(
            "max_days_between_tests = 21", "max_days_between_tests = 21\nmin_days_between_tests = 3"
        )
    )
    with freeze_time(MONDAY):
        warned = site.ok("policy", "show")
    assert "creates a safe window after every test" in warned.stderr


def _draw_seq(clinic: Clinic) -> int:
    return clinic.sql("SELECT seq FROM ledger WHERE kind = 'draw'")[0][0]


def _verify_fails(clinic: Clinic) -> str:
    with freeze_time(TUESDAY):
        result = clinic.run("audit", "verify")
    assert result.exit_code == 1, result.stdout
    return result.stderr


@pytest.fixture
def drawn(site: Clinic) -> Clinic:
    with freeze_time(MONDAY):
        site.ok("select")
    with freeze_time(TUESDAY):
        site.ok("audit", "reveal")
    return site


def test_forged_selection_is_caught_by_the_replay(drawn: Clinic) -> None:
    seq = _draw_seq(drawn)
    pool = _bodies(drawn, "draw")[0]["pool"]
    chosen = {s["uid"] for s in _bodies(drawn, "draw")[0]["selected"]}
    victim = next(item["uid"] for item in pool if item["uid"] not in chosen)

    def add_victim(document: dict) -> None:
        document["body"]["selected"].append({"uid": victim, "why": "random"})
        document["body"]["selected"].sort(key=lambda s: s["uid"])

    forge(drawn, seq, add_victim)
    message = _verify_fails(drawn)
    assert f"entry {seq} (draw main 2026-11-23): client {victim} is recorded as selected" in message


def test_forged_pool_is_caught_by_the_replay(drawn: Clinic) -> None:
    seq = _draw_seq(drawn)
    removed = _bodies(drawn, "draw")[0]["pool"][0]["uid"]

    def drop(document: dict) -> None:
        document["body"]["pool"] = document["body"]["pool"][1:]

    forge(drawn, seq, drop)
    assert f"client {removed} was eligible but is missing from the pool" in _verify_fails(drawn)


def test_deleted_screening_is_caught(drawn: Clinic) -> None:
    drawn.sql("DELETE FROM screenings WHERE id = (SELECT min(id) FROM screenings)")
    assert "the ledger records a screening whose database row is gone" in _verify_fails(drawn)


def test_edited_screening_is_caught(drawn: Clinic) -> None:
    drawn.sql("UPDATE screenings SET reason = 'interval' WHERE reason = 'random'")
    assert "(screening): the database row differs from the ledger in reason" in _verify_fails(drawn)


def test_wrong_reveal_is_caught(drawn: Clinic) -> None:
    seq = drawn.sql("SELECT seq FROM ledger WHERE kind = 'reveal'")[0][0]

    def other_key(document: dict) -> None:
        document["body"]["key"] = "ab" * 32

    forge(drawn, seq, other_key)
    assert f"entry {seq}: the key revealed for main 2026-11-23 does not match" in _verify_fails(
        drawn
    )


def test_unrevealed_draw_is_replayed_with_the_local_key(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok("select")
        report = site.ok("audit", "verify")
    assert "with the local key (not yet revealed): 1" in report.stdout
    (site.folder / "screening.key").rename(site.folder / "away.key")
    with freeze_time(MONDAY):
        report = site.ok("audit", "verify")
    assert "not replayable here (no key): 1" in report.stdout


def test_an_existing_csv_file_is_replaced_and_made_private(site: Clinic) -> None:
    target = site.folder / "list.csv"
    target.write_text("old\n")
    target.chmod(0o644)
    with freeze_time(MONDAY):
        site.ok("select", "--csv", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("code,name,track")


def test_today_in_json_before_the_draw_is_null(site: Clinic) -> None:
    with freeze_time(MONDAY):
        result = site.ok("today", "--json")
    assert json.loads(result.stdout) is None
    assert "no draw yet" in result.stderr


def test_reveal_without_the_key_says_why_and_reveals_nothing(site: Clinic) -> None:
    with freeze_time(MONDAY):
        site.ok("select")
    key = site.folder / "screening.key"
    kept = key.read_text()
    key.unlink()
    with freeze_time(TUESDAY):
        result = site.run("audit", "reveal")
    assert result.exit_code == 3, result.stderr
    assert "the keys of past draws were not revealed" in result.stderr
    assert "no key to reveal" not in result.stderr
    assert result.stderr.count("is missing") == 1  # said once: the error, not a warning too
    key.write_text("11" * 32 + "\n")  # another key: it did not make November's anchor
    key.chmod(0o600)
    with freeze_time(TUESDAY):
        result = site.run("audit", "reveal")
    assert result.exit_code == 1 and "does not match the anchor" in result.stderr
    assert _bodies(site, "reveal") == []
    key.write_text(kept)
    with freeze_time(TUESDAY):
        assert "revealed the keys of 2026-11-23" in site.ok("audit", "reveal").stderr


def test_a_checkpoint_made_as_verify_begins_is_not_read_as_entries_removed(
    site: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another staff member's draw, and its witness checkpoint, written as verify reads
    the witnesses' notes: verify checks the ledger as it was when it began, which the
    notes it read cover (the checkpoint of the later draw once read as entries removed)."""
    from screening.services.audit import walk

    with freeze_time(MONDAY):
        site.ok("select")
    read_all = walk.witnessed.read_all

    def meanwhile(*args: object) -> object:
        with freeze_time(TUESDAY):
            site.ok("select")
        return read_all(*args)

    monkeypatch.setattr(walk.witnessed, "read_all", meanwhile)
    with freeze_time(TUESDAY):
        assert "ledger intact" in site.ok("audit", "verify").stdout
    monkeypatch.setattr(walk.witnessed, "read_all", read_all)
    with freeze_time(TUESDAY):
        assert "ledger intact" in site.ok("audit", "verify").stdout
