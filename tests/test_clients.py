"""Enrolment, changes, holds, discharge and closures, each with its ledger entry."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ME, Clinic


def _last_entry(clinic: Clinic) -> dict:
    """The last entry that changed something (reads since leave `viewed` entries)."""
    (text,) = clinic.sql(
        "SELECT canonical FROM ledger WHERE kind <> 'viewed' ORDER BY seq DESC LIMIT 1"
    )[0]
    return json.loads(text)


def _ledger_size(clinic: Clinic) -> int:
    return clinic.sql("SELECT count(*) FROM ledger")[0][0]


def test_add_list_and_show(clinic: Clinic) -> None:
    added = clinic.ok(
        "clients",
        "add",
        "C-104",
        "--track",
        "morning",
        "--phase",
        "1",
        "--name",
        "Test Person",
        "--admitted",
        "2026-11-02",
        "--meds",
        "Buprenorphine, naloxone",
    )
    assert "enrolled C-104" in added.stderr
    assert "Test Person" not in added.stdout + added.stderr
    rows = json.loads(clinic.ok("clients", "list", "--json").stdout)
    assert rows == [
        {
            "code": "C-104",
            "name": "Test Person",
            "track": "morning",
            "phase": "1",
            "status": "active",
            "admitted_on": "2026-11-02",
            "discharged_on": None,
            "medications": ["buprenorphine", "naloxone"],
            "medication_problems": [],
        }
    ]
    table = clinic.ok("clients", "list").stdout
    assert "C-104" in table and "morning" in table
    shown = json.loads(clinic.ok("clients", "show", "C-104", "--json").stdout)
    assert shown["holds"] == [] and len(shown["uid"]) == 36


def test_ledger_body_has_no_names_codes_or_medications(clinic: Clinic) -> None:
    clinic.ok(
        "clients",
        "add",
        "C-104",
        "--track",
        "morning",
        "--phase",
        "1",
        "--name",
        "Zebediah Quux",
        "--meds",
        "methadone",
    )
    entry = _last_entry(clinic)
    assert entry["kind"] == "client" and entry["body"]["action"] == "enrol"
    text = json.dumps(entry)
    for secret in ("Zebediah", "Quux", "C-104", "methadone"):
        assert secret not in text
    state = entry["body"]["client"]
    assert state["track"] == "morning" and state["phase"] == "1"
    assert len(state["name"]) == 64 and len(state["code"]) == 64


def test_actor_is_recorded_beside_the_os_user(clinic: Clinic) -> None:
    clinic.ok("--actor", "Nurse Jo", "clients", "add", "C-1", "--track", "evening", "--phase", "2")
    actor = _last_entry(clinic)["actor"]
    # On PostgreSQL the database login too: the user whose roles count there.
    logins = [] if clinic.is_sqlite else ["login_digest"]
    assert sorted(actor) == sorted(["as_digest", "os_digest", *logins])
    assert "Nurse Jo" not in json.dumps(actor) and ME not in json.dumps(actor)
    names = dict(clinic.sql("SELECT digest, name FROM staff_names"))
    assert names[actor["os_digest"]] == ME and names[actor["as_digest"]] == "Nurse Jo"
    if logins:
        assert names[actor["login_digest"]] == clinic.user


def test_empty_list_is_empty_json(clinic: Clinic) -> None:
    result = clinic.ok("clients", "list", "--json")
    assert json.loads(result.stdout) == []
    assert "no clients" in clinic.ok("clients", "list").stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--track", "night", "--phase", "1"],
            "unknown track 'night'; known tracks: evening, morning",
        ),
        (["--track", "morning", "--phase", "9"], "unknown phase '9'; known phases: 1, 2, 3"),
        (
            ["--track", "morning", "--phase", "1", "--admitted", "2026-13-01"],
            "admission date '2026-13-01' is not a date: there is no month 13",
        ),
        (
            ["--track", "morning", "--phase", "1", "--meds", "bup$"],
            "unknown medication 'bup$'",
        ),
        (
            ["--track", "morning", "--phase", "1", "--meds", "buprenorphin"],
            "unknown medication 'buprenorphin'; did you mean buprenorphine",
        ),
    ],
)
def test_bad_enrolment_is_refused_and_writes_nothing(
    clinic: Clinic, args: list[str], message: str
) -> None:
    size = _ledger_size(clinic)
    result = clinic.run("clients", "add", "C-1", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _ledger_size(clinic) == size
    assert clinic.sql("SELECT count(*) FROM clients") == [(0,)]


def test_duplicate_code_is_refused(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    size = _ledger_size(clinic)
    result = clinic.run("clients", "add", "C-1", "--track", "evening", "--phase", "2")
    assert result.exit_code == 2
    assert "'C-1' is already enrolled" in result.stderr
    assert _ledger_size(clinic) == size


def test_update_records_what_changed(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    result = clinic.ok("clients", "update", "C-1", "--phase", "2", "--meds", "methadone")
    assert "updated C-1: medications, phase" in result.stderr
    entry = _last_entry(clinic)
    assert entry["body"]["action"] == "update"
    assert entry["body"]["changed"] == ["medications", "phase"]
    assert entry["body"]["client"]["phase"] == "2"
    same = clinic.run("clients", "update", "C-1", "--phase", "2")
    assert same.exit_code == 2 and "nothing changed" in same.stderr
    nothing = clinic.run("clients", "update", "C-1")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr


def test_unknown_client_is_named(clinic: Clinic) -> None:
    result = clinic.run("clients", "show", "C-999")
    assert result.exit_code == 2
    assert "no client with code 'C-999'" in result.stderr


def test_hold_is_shown_and_ledgered(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok(
        "clients",
        "hold",
        "C-1",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-04",
        "--reason",
        "hospital stay",
    )
    shown = json.loads(clinic.ok("clients", "show", "C-1", "--json").stdout)
    assert [{k: h[k] for k in ("from", "to", "reason")} for h in shown["holds"]] == [
        {"from": "2026-12-01", "to": "2026-12-04", "reason": "hospital stay"}
    ]
    assert isinstance(shown["holds"][0]["id"], int)
    body = _last_entry(clinic)["body"]
    assert body["hold"]["from"] == "2026-12-01" and "hospital" not in json.dumps(body)
    backwards = clinic.run(
        "clients", "hold", "C-1", "--from", "2026-12-04", "--to", "2026-12-01", "--reason", "x"
    )
    assert backwards.exit_code == 2 and "before it starts" in backwards.stderr
    empty = clinic.run(
        "clients", "hold", "C-1", "--from", "2026-12-04", "--to", "2026-12-05", "--reason", "  "
    )
    assert empty.exit_code == 2 and "--reason is empty" in empty.stderr


def test_discharge_ends_changes(clinic: Clinic) -> None:
    clinic.ok(
        "clients", "add", "C-1", "--track", "morning", "--phase", "1", "--admitted", "2026-11-02"
    )
    early = clinic.run("clients", "discharge", "C-1", "--on", "2026-11-01")
    assert early.exit_code == 2 and "before client C-1 was admitted" in early.stderr
    future = clinic.run("clients", "discharge", "C-1", "--on", "2099-01-01")
    assert future.exit_code == 2 and "in the future" in future.stderr
    clinic.ok("clients", "discharge", "C-1", "--on", "2026-11-20", "--reason", "completed")
    rows = json.loads(clinic.ok("clients", "list", "--status", "discharged", "--json").stdout)
    assert [(r["code"], r["discharged_on"]) for r in rows] == [("C-1", "2026-11-20")]
    assert json.loads(clinic.ok("clients", "list", "--status", "active", "--json").stdout) == []
    again = clinic.run("clients", "update", "C-1", "--phase", "2")
    assert again.exit_code == 2 and "was discharged on 2026-11-20" in again.stderr
    held = clinic.run(
        "clients", "hold", "C-1", "--from", "2026-12-01", "--to", "2026-12-02", "--reason", "x"
    )
    assert held.exit_code == 2


def test_list_filters_by_track_and_refuses_unknown_values(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok("clients", "add", "C-2", "--track", "evening", "--phase", "1")
    rows = json.loads(clinic.ok("clients", "list", "--track", "evening", "--json").stdout)
    assert [r["code"] for r in rows] == ["C-2"]
    assert clinic.run("clients", "list", "--status", "gone").exit_code == 2
    assert clinic.run("clients", "list", "--track", "night").exit_code == 2


def test_closure_once_per_day(clinic: Clinic) -> None:
    assert "closed on 2026-12-25" in clinic.ok("close", "2026-12-25", "--reason", "holiday").stderr
    again = clinic.run("close", "2026-12-25", "--reason", "holiday")
    assert again.exit_code == 2 and "already recorded as closed" in again.stderr
    bad = clinic.run("close", "Christmas", "--reason", "holiday")
    assert bad.exit_code == 2 and "is not a date" in bad.stderr
    assert _last_entry(clinic)["body"]["closure"]["date"] == "2026-12-25"


def test_policy_change_is_recorded_before_the_next_write(clinic: Clinic) -> None:
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1))
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    kinds = [kind for (kind,) in clinic.sql("SELECT kind FROM ledger ORDER BY seq")]
    assert kinds[-2:] == ["policy", "client"]
    policies = [
        json.loads(t)["body"]
        for (t,) in clinic.sql("SELECT canonical FROM ledger WHERE kind = 'policy' ORDER BY seq")
    ]
    assert [p["phases"]["1"]["p"]["morning"] for p in policies] == ["2/3", "1/1"]
    clinic.ok("clients", "add", "C-2", "--track", "morning", "--phase", "1")
    assert clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'policy'") == [(2,)]


def test_ledger_refuses_update_and_delete(clinic: Clinic) -> None:
    import sqlalchemy.exc

    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        clinic.sql("UPDATE ledger SET kind = 'x' WHERE seq = 1")
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
        clinic.sql("DELETE FROM ledger WHERE seq = 2")
