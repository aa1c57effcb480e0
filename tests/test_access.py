"""Granting, revoking and listing roles, and the mistakes an admin makes doing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ME, WORKING_ROLES, Clinic


@pytest.fixture
def clinic(tmp_path: Path, inits) -> Clinic:  # type: ignore[no-untyped-def]
    made = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    inits.init(made, "--site", "main", "--timezone", "America/New_York")
    return made


def _held(clinic: Clinic) -> list[tuple[str, str]]:
    rows = json.loads(clinic.ok("access", "list", "--json").stdout)
    return [(row["user"], row["role"]) for row in rows]


def test_init_made_its_user_admin_and_the_list_says_so(clinic: Clinic) -> None:
    # In the order granted: init's admin, then the fixture's working roles.
    assert _held(clinic) == [(ME, "admin"), *((ME, role) for role in WORKING_ROLES)]


def test_the_last_admin_stays(clinic: Clinic) -> None:
    refused = clinic.run("access", "revoke", ME, "admin")
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: {ME} is the only admin of site main; grant the admin role to someone else "
        "first, so that the site keeps one\n"
    )
    assert (ME, "admin") in _held(clinic)


def test_a_revoked_role_is_refused_at_once_and_kept_in_the_history(clinic: Clinic) -> None:
    clinic.ok("access", "revoke", ME, "staff")
    refused = clinic.run("select")
    assert refused.exit_code == 4
    assert refused.stderr.startswith("error: `screening select` needs the staff role at site main")
    assert refused.stderr.endswith(f"Grant it: screening access grant {ME} staff\n")
    history = json.loads(clinic.ok("access", "list", "--history", "--json").stdout)
    staff = [row for row in history if row["role"] == "staff"]
    assert len(staff) == 1 and staff[0]["revoked"] is not None
    again = clinic.ok("access", "grant", ME, "staff")
    assert again.stderr == f"granted staff to {ME} at site main\n"
    assert clinic.ok("access", "grant", ME, "staff").stderr == (
        f"{ME} already holds staff at site main; nothing to do\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("nobody-here-9", "staff"), "there is no user 'nobody-here-9' on this computer"),
        ((ME, "nurse"), "'nurse' is not a role; the roles are admin, staff, clinician, auditor"),
        (("jo lee", "staff"), "'jo lee' is not a login name"),
        ((ME, "staff", "--site", "north"), "there is no site 'north' in this database"),
    ],
)
def test_a_mistyped_grant_is_refused_saying_what_to_fix(
    clinic: Clinic, args: tuple[str, ...], says: str
) -> None:
    size = clinic.sql("SELECT count(*) FROM ledger")
    refused = clinic.run("access", "grant", *args)
    assert refused.exit_code == 2 and says in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert clinic.sql("SELECT count(*) FROM ledger") == size


def test_user_names_nobody(clinic: Clinic) -> None:
    """The user is the login the process runs as, from the system's own records: $USER
    and $LOGNAME, which anyone can set, change nothing."""
    clinic.ok("access", "revoke", ME, "clinician")
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    refused = clinic.run("timeline", "C-1", env={"USER": "dr-who", "LOGNAME": "dr-who"})
    assert refused.exit_code == 4
    assert f"you ({ME}) hold admin, staff, auditor there" in refused.stderr


def test_a_config_naming_a_site_the_database_lacks_does_not_open_the_admin_commands(
    clinic: Clinic, tmp_path: Path
) -> None:
    """`db backup` and `db upgrade` check the role outside open_context: a config naming
    another site must not let them through."""
    other = tmp_path / "other.toml"
    other.write_text((clinic.folder / "screening.toml").read_text().replace('"main"', '"zzz"'))
    clinic.ok("access", "grant", ME, "staff")  # nothing changes: already held
    backup = clinic.run("--config", str(other), "db", "backup", str(tmp_path / "copy.db"))
    assert backup.exit_code == 4, backup.stderr
    assert "site zzz, which this database does not hold" in backup.stderr
    assert not (tmp_path / "copy.db").exists()


def test_the_refusal_suggests_the_narrowest_role(clinic: Clinic) -> None:
    for role in WORKING_ROLES:
        clinic.ok("access", "revoke", ME, role)
    refused = clinic.run("results", "list")
    assert refused.exit_code == 4
    assert refused.stderr.endswith(f"screening access grant {ME} staff\n")
    assert "needs the staff or clinician role" in refused.stderr


def test_verify_flags_an_entry_its_writer_had_no_role_for(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written around the CLI's check (a program of one's own, or a staff login in psql
    appending a well-chained entry), an entry by a user without a role that may write
    it is flagged by verify."""
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    assert "flag: entry" not in clinic.ok("audit", "verify").stdout
    clinic.ok("access", "revoke", ME, "staff")
    with monkeypatch.context() as around:
        around.setattr("screening.services.access.require_role", lambda *_: {"staff"})
        clinic.ok("select")
    drawn = clinic.sql("SELECT max(seq) FROM ledger WHERE kind = 'draw'")[0][0]
    verified = clinic.ok("audit", "verify")
    assert (
        f"flag: entry {drawn} (draw, " in verified.stdout
        and "was written by a user holding admin, clinician, auditor at site main"
        in verified.stdout
    ), verified.stdout


def test_a_read_on_a_computer_whose_clock_is_behind_is_refused_and_writes_nothing(
    clinic: Clinic,
) -> None:
    """A read records itself in the ledger, whose times only go forward: a clock an hour
    behind the newest entry is refused as a write is, naming both times."""
    from datetime import UTC, datetime, timedelta

    from freezegun import freeze_time

    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    size = clinic.sql("SELECT count(*) FROM ledger")
    with freeze_time(datetime.now(UTC) - timedelta(hours=1)):
        refused = clinic.run("clients", "list")
    assert refused.exit_code == 3
    assert "this computer's clock says" in refused.stderr and "Fix this computer's clock" in (
        refused.stderr
    )
    assert refused.stdout == "" and clinic.sql("SELECT count(*) FROM ledger") == size
