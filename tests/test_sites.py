"""Sites in the database, the clock against the ledger, staff names as digests, and
names that are not ASCII (issue 13)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening.cli.common import readable_text
from screening.config import parse
from screening.core import validate
from screening.core.canonical import canonical_text, sha256_hex
from screening.core.policy import zone_change_starts
from tests.conftest import WORKING_ROLES, Clinic

# --- pure -------------------------------------------------------------------------


def test_a_login_that_is_not_utf8_is_written_with_its_bytes_escaped() -> None:
    login = b"jos\xe9".decode("utf-8", "surrogateescape")
    assert readable_text(login) == "jos\\xe9"
    assert readable_text("josé") == "josé"
    readable_text(login).encode("utf-8")  # storable and hashable


@pytest.mark.parametrize("check", [validate.staff_name, validate.free_text])
def test_text_that_is_not_utf8_is_refused_with_the_reason(check) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(validate.Invalid, match="not valid UTF-8"):
        check(b"Jos\xe9".decode("utf-8", "surrogateescape"), "--actor")


def test_names_in_any_alphabet_are_one_form() -> None:
    assert validate.staff_name("Zoe\u0308 Adams", "--actor") == "Zoë Adams"
    assert validate.staff_name("Łukasz Wiśniewski", "--actor") == "Łukasz Wiśniewski"
    assert validate.free_text("José\u0301", "--reason") is not None
    assert validate.free_text("Jose\u0301", "--reason") == "José"


def _raw(track: str = "morning", phase: str = "1") -> dict:
    return {
        "site": {"name": "main", "timezone": "America/New_York"},
        "tracks": {track: {"days": ["mon"]}},
        "phases": {phase: {"tests_per_week": 1}},
    }


@pytest.mark.parametrize(
    ("track", "phase", "where"),
    [("mañana", "1", "tracks.mañana"), ("morning", "fase-ñ", "phases.fase-ñ")],
)
def test_non_ascii_track_and_phase_names_are_refused_with_the_reason(
    track: str, phase: str, where: str
) -> None:
    settings, problems = parse(_raw(track, phase), Path("screening.toml"))
    assert settings is None
    (problem,) = problems
    assert problem.startswith(f"{where}: ") and "RFC 8785" in problem and "ASCII" in problem


def test_ascii_names_pass_and_make_a_canonical_policy() -> None:
    from screening.core.policy import policy_body

    settings, problems = parse(_raw("manana", "fase-1"), Path("screening.toml"))
    assert problems == [] and settings is not None
    canonical_text(policy_body(settings))


def test_a_time_zone_change_waits_for_the_next_day_in_both_zones() -> None:
    day = date(2026, 11, 2)
    # Ahead (Halifax): at New York's midnight, when Halifax is at 01:00.
    assert zone_change_starts("America/New_York", "America/Halifax", day) == datetime(
        2026, 11, 3, 5, tzinfo=UTC
    )
    # Behind (Chicago): at Chicago's midnight, an hour after New York's.
    assert zone_change_starts("America/New_York", "America/Chicago", day) == datetime(
        2026, 11, 3, 6, tzinfo=UTC
    )


def test_the_zone_in_force_follows_the_changes() -> None:
    from screening.services.records.sites import SiteRecord

    starts = datetime(2026, 11, 3, 5, tzinfo=UTC)
    record = SiteRecord("main", "s", ((None, "America/New_York"), (starts, "America/Halifax")))
    assert record.timezone == "America/Halifax"
    assert record.zone_at(starts - timedelta(seconds=1)) == "America/New_York"
    assert record.zone_at(starts) == "America/Halifax"
    assert record.pending(starts - timedelta(hours=1)) == (starts, "America/Halifax")
    assert record.pending(starts) is None


# --- with a clinic ----------------------------------------------------------------


def _at(clinic: Clinic, when: str, *args: str):  # type: ignore[no-untyped-def]
    with freeze_time(when):
        return clinic.run(*args)


def test_a_write_behind_the_ledger_is_refused_before_anything_is_written(
    clinic: Clinic,
) -> None:
    head = clinic.sql("SELECT max(at) FROM ledger")[0][0]
    head = head if isinstance(head, datetime) else datetime.fromisoformat(str(head))
    behind = (head.replace(tzinfo=None) - timedelta(days=20)).isoformat()
    before = clinic.sql("SELECT count(*) FROM ledger")
    result = _at(clinic, behind, "clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert result.exit_code == 3
    assert "this computer's clock says" in result.stderr and "Fix this" in result.stderr
    assert clinic.sql("SELECT count(*) FROM ledger") == before
    assert clinic.sql("SELECT count(*) FROM clients") == [(0,)]
    skewed = (head.replace(tzinfo=None) - timedelta(minutes=4)).isoformat()
    assert _at(clinic, skewed, "clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok("audit", "verify")


def test_the_daily_job_logs_a_clock_behind_and_carries_on(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.render.day_list import list_files
    from screening.services.daily.job import DailyJob
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, clinic.folder))
    now = datetime.now(UTC) - timedelta(days=20)
    ctx = Context(settings, database, Actor("scheduler"), now, now.date())
    job = DailyJob(lambda: replace(ctx), list_files)
    import logging

    logger = logging.getLogger("screening")
    logger.addHandler(caplog.handler)
    try:
        job.upkeep()
    finally:
        logger.removeHandler(caplog.handler)
        database.dispose()
    assert "clock says" in caplog.text


def _legacy(clinic: Clinic) -> None:
    """Make the clinic look like one set up before sites were recorded: no site entry,
    staff in clear text, no rows in the new tables."""
    clinic.drop_ledger_guard()
    rows = clinic.sql("SELECT seq, canonical FROM ledger ORDER BY seq")
    policy = next(json.loads(text)["body"] for _, text in rows if '"kind":"policy"' in text)
    prev = "0" * 64
    for seq, text in rows:
        document = json.loads(text)
        document["actor"] = {"os": "staff1"}
        if document["kind"] == "site":
            document["kind"], document["body"] = "policy", policy
        document["prev"] = prev
        text = canonical_text(document)
        prev = sha256_hex(text.encode())
        clinic.sql(
            # (Nor a row's login: older databases kept none.)
            "UPDATE ledger SET canonical = :c, hash = :h, kind = :k, login = NULL WHERE seq = :s",
            c=text,
            h=prev,
            k=document["kind"],
            s=seq,
        )
    for table in ("staff_names", "site_zones", "sites", "access_grants"):
        clinic.sql(f"DELETE FROM {table}")
    # Nor roles: the grants of init and of the fixture are the ledger's last entries.
    roles = [seq for seq, text in rows if '"kind":"role"' in text]
    assert roles == [seq for seq, _ in rows][-len(roles) :]
    clinic.sql("DELETE FROM ledger WHERE kind = 'role'")
    # Such a clinic had no witnesses: the checkpoints init made are of the ledger as it
    # was before this rewrite, and verify would rightly call it replaced.
    shutil.rmtree(clinic.folder / "screening-witness")


def test_an_older_database_adopts_its_site_once(clinic: Clinic) -> None:
    _legacy(clinic)
    # The first command records the site, and then finds no roles there: a clinic older
    # than sites is older than roles, and `db upgrade` makes its first admin.
    first = clinic.run("clients", "list")
    assert "site 'main' is now recorded in the database, with time zone America/New_York" in (
        first.stderr
    )
    assert first.exit_code == 3 and "site main has no roles recorded yet" in first.stderr
    upgraded = clinic.ok("db", "upgrade")
    assert f"you ({clinic.user}) are site main's admin" in upgraded.stderr
    clinic.ok("access", "grant", clinic.user, *WORKING_ROLES)
    assert "now recorded" not in clinic.ok("clients", "list").stderr
    site = clinic.sql("SELECT canonical FROM ledger WHERE kind = 'site'")
    assert [json.loads(text)["body"] for (text,) in site] == [
        {"action": "adopt", "timezone": "America/New_York"}
    ]
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert "ledger intact" in clinic.ok("audit", "verify").stdout


def test_an_export_of_older_entries_naming_staff_needs_consent(clinic: Clinic) -> None:
    _legacy(clinic)
    clinic.ok("db", "upgrade")  # its first admin (a clinic older than sites had no roles)
    clinic.ok("access", "grant", clinic.user, *WORKING_ROLES)
    refused = clinic.run("audit", "export", "out", "--to", "State Auditor", "--purpose", "audit")
    assert refused.exit_code == 2
    assert "name staff in clear text" in refused.stderr and "--with-staff-names" in refused.stderr
    assert not (clinic.folder / "out").exists()
    done = clinic.ok(
        "audit",
        "export",
        "out",
        "--to",
        "State Auditor",
        "--purpose",
        "audit",
        "--with-staff-names",
    )
    assert "STAFF-NAMES.txt" in done.stderr
    notice = (clinic.folder / "out" / "STAFF-NAMES.txt").read_text()
    assert "do not publish" in notice
    manifest = json.loads((clinic.folder / "out" / "manifest.json").read_text())
    assert "STAFF-NAMES.txt" in manifest["files"]
    (last,) = clinic.sql("SELECT canonical FROM ledger WHERE kind = 'disclosure'")[0]
    assert json.loads(last)["body"]["staff_names"].startswith("entries 1 to ")


def test_a_staff_name_edited_in_the_database_is_named_by_verify(clinic: Clinic) -> None:
    clinic.sql("UPDATE staff_names SET name = 'someone else'")
    result = clinic.run("audit", "verify")
    assert result.exit_code == 1
    assert "does not match its digest" in result.stderr


def test_a_time_zone_row_edited_in_the_database_is_named_by_verify(clinic: Clinic) -> None:
    clinic.sql("UPDATE site_zones SET timezone = 'America/Chicago'")
    refused = clinic.run("clients", "list")  # the config says New York, the row Chicago
    assert refused.exit_code == 3 and "site timezone America/New_York" in refused.stderr
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace("America/New_York", "America/Chicago"))
    result = clinic.run("audit", "verify")
    assert result.exit_code == 1
    assert "(site time zone): the database row differs from the ledger in timezone" in (
        result.stderr
    )


def test_an_approver_is_a_digest_in_the_ledger_and_a_name_in_the_rows(clinic: Clinic) -> None:
    clinic.ok(
        "clients", "add", "C-1", "--track", "morning", "--phase", "1", "--admitted", "2026-01-01"
    )
    clinic.ok("results", "for-cause", "C-1", "--reason", "smelled of alcohol")
    clinic.ok("results", "excuse", "C-1", "--reason", "medical", "--approved-by", "Dr Ana Núñez")
    (text,) = clinic.sql(
        "SELECT canonical FROM ledger WHERE kind = 'screening' ORDER BY seq DESC LIMIT 1"
    )[0]
    body = json.loads(text)["body"]
    assert "approved_by" not in body and len(body["approver"]) == 64
    assert "Núñez" not in text
    assert clinic.sql("SELECT approved_by FROM screenings") == [("Dr Ana Núñez",)]
    assert "ledger intact" in clinic.ok("audit", "verify").stdout
    clinic.sql("UPDATE screenings SET approved_by = 'Dr Someone'")
    result = clinic.run("audit", "verify")
    assert result.exit_code == 1 and "approved_by" in result.stderr


def test_an_older_database_keeps_its_ledgers_zone_over_an_edited_config(clinic: Clinic) -> None:
    _legacy(clinic)
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace("America/New_York", "America/Chicago"))
    result = clinic.run("clients", "list")
    assert result.exit_code == 3
    assert "with time zone America/New_York (from its ledger)" in result.stderr
    assert "site timezone America/Chicago" in result.stderr
    config.write_text(config.read_text().replace("America/Chicago", "America/New_York"))
    clinic.ok("db", "upgrade")  # its first admin (a clinic older than sites had no roles)
    clinic.ok("access", "grant", clinic.user, *WORKING_ROLES)
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert "ledger intact" in clinic.ok("audit", "verify").stdout


def test_an_edited_zone_row_is_named_by_verify_not_taken_for_a_config_to_fix(clinic) -> None:  # type: ignore[no-untyped-def]
    """An insider's edit of site_zones must read as tampering (exit 1), not as a config
    that disagrees (exit 3, whose advice would paper over it)."""
    clinic.sql("UPDATE site_zones SET timezone = 'America/Chicago'")
    result = clinic.run("audit", "verify")
    assert result.exit_code == 1, result.stderr
    assert "differs from the ledger in timezone" in result.stderr
