"""`audit fairness` on synthetic years: fair ones pass, tampered ones are flagged."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, timedelta
from fractions import Fraction

from screening.core.selection import day_seed, is_selected, score
from screening.services.audit.fairness_figures import _analyse

SITE = "main"
P = Fraction(1, 3)
UIDS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(80)]


def _year(seed: int, cheat=None, drop=None):  # type: ignore[no-untyped-def]
    """365 revealed draws of 80 clients at p = 1/3; ``cheat`` doubles one client's chance,
    ``drop`` leaves one client out (as if on hold) on every day they would be drawn."""
    draws, keys = {}, {}
    start = date(2025, 1, 1)
    for offset in range(365):
        day = start + timedelta(days=offset)
        key = hashlib.sha256(f"{seed}-{day}".encode()).digest()
        s = day_seed(key, SITE, day)
        pool, left, selected = [], [], []
        for uid in UIDS:
            x = score(s, uid)
            chance = 2 * P if uid == cheat else P
            if uid == drop and is_selected(x, P) and offset > 30:
                left.append({"uid": uid, "reason": "hold"})
                continue
            pool.append({"uid": uid, "p": "1/3"})
            if is_selected(x, chance):
                selected.append({"uid": uid, "why": "random"})
        draws[day.isoformat()] = {
            "date": day.isoformat(),
            "pool": pool,
            "left_out": left,
            "selected": selected,
        }
        keys[day.isoformat()] = key
    return _analyse(SITE, draws, keys, Counter(), date.min, date(2025, 12, 31))


def test_fair_years_flag_about_as_many_clients_as_the_level_allows() -> None:
    years = [_year(seed) for seed in range(3)]
    flagged = [year["flagged_clients"] for year in years]
    assert sum(flagged) <= 0.05 * 3 * len(UIDS)
    fair = years[0]
    assert fair["weekdays"]["words"] == "as expected" or fair["weekdays"]["p_value"] < 0.05
    assert fair["exclusions"]["client_days"] == 0


def test_a_secretly_doubled_chance_is_flagged() -> None:
    result = _year(1, cheat=UIDS[7])
    flagged = [c["uid"] for c in result["clients"] if c["words"] == "worth a look"]
    assert UIDS[7] in flagged


def test_a_client_left_out_on_their_days_is_flagged() -> None:
    result = _year(2, drop=UIDS[3])
    excluded = result["exclusions"]
    assert excluded["client_days"] > 50
    assert excluded["observed"] == excluded["client_days"]  # drawn every time: not chance
    assert excluded["words"] == "worth a look"
    assert excluded["expected"] < excluded["observed"] / 2


def test_fairness_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from freezegun import freeze_time

    from tests.conftest import Clinic, write_csv

    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    with freeze_time("2026-11-02T12:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(config.read_text().replace('days = "meeting"', 'days = "calendar"'))
        rows = [f"C-{i:02d},,morning,3,2026-10-01," for i in range(10)]
        clinic.ok("clients", "import", str(write_csv(tmp_path / "c.csv", rows)))
    for offset in range(10):
        with freeze_time(f"2026-11-{2 + offset:02d}T12:00:00Z"):
            clinic.ok("select")
    with freeze_time("2026-11-11T15:00:00Z"):
        data = json.loads(clinic.ok("audit", "fairness", "--format", "json").stdout)
        text = clinic.ok("audit", "fairness").stdout
        html = clinic.ok("audit", "fairness", "--format", "html").stdout
    assert data["revealed_draws"] == 9  # today's key is not revealed yet
    assert len(data["clients"]) == 10 and all(c["days"] == 9 for c in data["clients"])
    assert all(len(c["uid"]) == 36 for c in data["clients"])
    assert "C-0" not in text + html, "fairness speaks of clients by uid only"
    assert "9 revealed draws; 10 clients" in text
    assert data["not_drawn"] == {"for_cause": 0, "recollection": 0}
    assert "0 for-cause screenings" in text
    assert html.startswith("<!DOCTYPE html>")


def test_the_html_report_leads_with_the_clients_worth_a_look() -> None:
    from screening.render.fairness import render_fairness_html

    data = _year(1, cheat=UIDS[7])
    data["excusals"]["by_approver"] = {"<script>alert(1)</script>": 2}
    data["not_drawn"] = {"for_cause": 1, "recollection": 0}
    html = render_fairness_html(SITE, data)
    rows = html.split("<h2>Clients</h2>")[1]
    first_row = rows.split("<tbody>")[1].split("</tr>")[0]
    assert UIDS[7] in first_row and "worth a look" in first_row
    assert "a fair draw differs from the expected this much only" in first_row
    for heading in ("Weekday shares", "Month shares", "Days since the last selection"):
        assert f"<h3>{heading}</h3>" in html
    assert html.count("<svg") == 3 and "1 for-cause screenings" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
