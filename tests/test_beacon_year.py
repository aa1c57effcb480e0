"""A year of daily draws with the beacon, on the test chain, verified by `audit verify`
and by the exported screening-verify.py, with pyblst and with the standard library
alone (which says it could not check the signatures). Its own file, so that xdist runs
it beside tests/test_beacon_verify.py (whose helpers it uses)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.beacon_chain import Relay, use_test_chain
from tests.conftest import Clinic
from tests.test_beacon_verify import (
    NEW_YORK,
    ON_SQLITE,
    SYSTEM_PYTHON,
    _draw_days,
    _draw_entries,
    _open,
    fast_round,
    script,
)
from tests.test_beacon_verify import clinic as clinic  # the fixture: no clinic made yet


@ON_SQLITE
def test_a_year_with_the_beacon_verifies_with_both_verifiers(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chain = use_test_chain(monkeypatch)
    first, days = date(2026, 1, 2), 365
    fallback_day = date(2026, 6, 15)
    with Relay(chain, fast_round) as relay:
        _open(clinic, datetime(2026, 1, 1, 15, tzinfo=UTC), relay, 12,
              fallback="draw", wait_minutes=30)  # fmt: skip
        _draw_days(clinic, relay, first, days, {fallback_day})
    drawn = _draw_entries(clinic)
    assert len(drawn) == days
    seq = drawn[str(fallback_day)][0]
    flag = f"drawn without its beacon main {fallback_day} (round "
    rounds = days - 1
    last = first + timedelta(days=days - 1)
    with freeze_time(datetime.combine(last, time(20), NEW_YORK)):
        checked = clinic.ok("audit", "verify")
        export = tmp_path / "export"
        clinic.ok("audit", "export", str(export), "--to", "State Auditor", "--purpose", "audit")
    assert f"beacon: {rounds} drand quicknet rounds checked" in checked.stdout
    [line] = [line for line in checked.stdout.splitlines() if flag in line]
    assert line.startswith("flag: ") and line.endswith(f"(entry {seq})")
    assert f"draws replayed from revealed keys: {days - 1};" in checked.stdout

    with_blst = script(export, chain)
    assert with_blst.returncode == 0, with_blst.stderr
    assert (
        f"beacon: {rounds} drand quicknet rounds checked: each the round its day's rule "
        "gives, its randomness SHA-256 of its signature; BLS signatures verified with pyblst"
    ) in with_blst.stdout
    assert f"{days - 1} draws replayed from revealed keys" in with_blst.stdout
    [line] = [line for line in with_blst.stdout.splitlines() if flag in line]
    assert line.startswith("flag: ") and line.endswith(f"(entry {seq})")
    assert "BLS signatures" not in with_blst.stderr

    # The standard library alone: everything but the signatures, and it says so.
    alone = script(export, chain, python=SYSTEM_PYTHON)
    assert alone.returncode == 0, alone.stderr
    assert "BLS signatures NOT checked" in alone.stdout
    assert (
        f"warning: BLS signatures of {rounds} beacon rounds not checked: install py_ecc "
        "(pip install py_ecc) to check them"
    ) in alone.stderr
