""" "Today" is the site's date; anchors follow the calendar (DESIGN §4, §5)."""

from __future__ import annotations

import json

from freezegun import freeze_time

from tests.conftest import Clinic


def _commitments(clinic: Clinic) -> list[dict]:
    return [
        json.loads(text)["body"]
        for (text,) in clinic.sql(
            "SELECT canonical FROM ledger WHERE kind = 'commitment' ORDER BY seq"
        )
    ]


def _init(backend: str, tmp_path, timezone: str = "America/New_York") -> Clinic:  # type: ignore[no-untyped-def]
    clinic = Clinic(tmp_path, backend)
    clinic.ok("init", "--timezone", timezone)
    return clinic


def test_late_evening_enrolment_takes_the_local_date(backend: str, tmp_path) -> None:
    with freeze_time("2026-11-27T03:30:00Z"):  # 22:30 on the 26th in New York
        clinic = _init(backend, tmp_path)
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    (admitted,) = clinic.sql("SELECT admitted_on FROM clients")[0]
    assert str(admitted) == "2026-11-26"
    (at,) = clinic.sql("SELECT canonical FROM ledger ORDER BY seq DESC LIMIT 1")[0]
    assert json.loads(at)["at"] == "2026-11-27T03:30:00Z"


def test_new_years_eve_local_commits_from_december(backend: str, tmp_path) -> None:
    with freeze_time("2027-01-01T04:30:00Z"):  # 23:30 on 31 December in New York
        clinic = _init(backend, tmp_path)
    periods = [body["period"] for body in _commitments(clinic)]
    assert periods[0] == "2026-12" and periods[-1] == "2027-12" and len(periods) == 13


def test_leap_february_chain_is_thirty_long(backend: str, tmp_path) -> None:
    with freeze_time("2028-02-29T12:00:00Z"):
        clinic = _init(backend, tmp_path)
    first = _commitments(clinic)[0]
    assert first["period"] == "2028-02" and first["length"] == 30


def test_fall_back_night_is_still_the_same_day(backend: str, tmp_path) -> None:
    # 2026-11-01 05:30 UTC is 01:30 EDT, and 06:30 UTC is 01:30 EST: both the 1st.
    with freeze_time("2026-11-01T06:30:00Z"):
        clinic = _init(backend, tmp_path)
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert str(clinic.sql("SELECT admitted_on FROM clients")[0][0]) == "2026-11-01"


def test_spring_forward_in_london(backend: str, tmp_path) -> None:
    # 2027-03-28 00:59 UTC is 00:59 GMT; one hour later it is 02:00 BST on the same day.
    with freeze_time("2027-03-28T00:59:00Z"):
        clinic = _init(backend, tmp_path, "Europe/London")
    with freeze_time("2027-03-28T01:00:00Z"):
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
        clinic.ok("clients", "discharge", "C-1")
    assert [str(v) for v in clinic.sql("SELECT admitted_on, discharged_on FROM clients")[0]] == [
        "2027-03-28",
        "2027-03-28",
    ]


def test_later_writes_keep_twelve_periods_ahead(backend: str, tmp_path) -> None:
    with freeze_time("2026-11-27T15:00:00Z"):
        clinic = _init(backend, tmp_path)
    with freeze_time("2027-03-01T05:30:00Z"):  # 00:30 on 1 March in New York
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    periods = [body["period"] for body in _commitments(clinic)]
    assert periods[-4:] == ["2027-12", "2028-01", "2028-02", "2028-03"]
    assert len(periods) == len(set(periods)) == 17
    clinic.ok("audit", "verify")


def test_missing_key_does_not_stop_enrolment_but_warns(backend: str, tmp_path) -> None:
    with freeze_time("2026-11-27T15:00:00Z"):
        clinic = _init(backend, tmp_path)
    (tmp_path / "screening.key").rename(tmp_path / "elsewhere.key")
    with freeze_time("2026-12-02T15:00:00Z"):
        result = clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert "anchors for 2027-12 not committed" in result.stderr
    assert "restore it from your backup" in result.stderr


def test_key_readable_by_others_is_refused(backend: str, tmp_path) -> None:
    with freeze_time("2026-11-27T15:00:00Z"):
        clinic = _init(backend, tmp_path)
    (tmp_path / "screening.key").chmod(0o644)
    with freeze_time("2026-12-02T15:00:00Z"):
        result = clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert "chmod 600" in result.stderr
