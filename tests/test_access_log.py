"""The access log (issue 17): every read of identified data leaves one `viewed` entry
naming whom it showed; `audit access` answers who looked at a chart and what a person
opened; `audit verify` fails a deleted or forged read; an auditor sees uids only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, Inits, forge, write_csv

MONDAY = "2026-11-23T12:00:00Z"  # 07:00 in New York
LATER = "2026-11-23T15:00:00Z"
CODES = [f"C-{i:02d}" for i in range(1, 7)]


@pytest.fixture
def site(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """Six morning clients, everyone drawn on Monday (3 tests a week on 3 days)."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_access_log: site", _site)
    return clinic


def _site(clinic: Clinic) -> None:
    with freeze_time(MONDAY):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1)
        )
        rows = [f"{code},Client {code},morning,1,2026-11-02," for code in CODES]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
        clinic.ok("select")


def _uids(clinic: Clinic) -> dict[str, str]:
    return dict(clinic.sql("SELECT code, uid FROM clients"))


def _head(clinic: Clinic) -> int:
    return clinic.sql("SELECT max(seq) FROM ledger")[0][0]


def _after(clinic: Clinic, seq: int) -> list[tuple[str, dict]]:
    rows = clinic.sql("SELECT kind, canonical FROM ledger WHERE seq > :s ORDER BY seq", s=seq)
    return [(kind, json.loads(text)) for kind, text in rows]


def _viewed(clinic: Clinic, *args: str) -> dict | None:
    """Run a command; the body of the one entry it left (which must be a read's), or
    None when it left none."""
    before = _head(clinic)
    clinic.ok(*args)
    added = _after(clinic, before)
    if not added:
        return None
    assert [kind for kind, _ in added] == ["viewed"], (args, added)
    return added[0][1]["body"]


def test_each_read_leaves_one_entry_naming_whom_it_showed(site: Clinic) -> None:
    uids = _uids(site)
    every = sorted(uids.values())

    def of(*codes: str) -> list[str]:
        return sorted(uids[code] for code in codes)

    with freeze_time(LATER):
        site.ok("results", "record", "C-01", "--specimen-id", "SP-1")
        (result,) = site.sql("SELECT id FROM results")[0]
        expected = [
            (("today",), "today", every),
            (("today", "--format", "html", "--out", "sheet.html"), "today", every),
            (("select", "--json"), "select", every),  # the day's draw shown again
            (("clients", "list", "--format", "csv"), "clients list", every),
            (("clients", "show", "C-02"), "clients show", of("C-02")),
            (("results", "list", "--client", "C-01"), "results list", of("C-01")),
            (("results", "show", str(result)), "results show", of("C-01")),
            (("results", "pending", "--json"), "results pending", of(*CODES[1:])),
            (("timeline", "C-03", "--format", "html", "--out", "t.html"), "timeline", of("C-03")),
            (("timeline", "C-03", "--json"), "timeline", of("C-03")),
            (("report", "team"), "report team", every),
            (("report", "reconcile", "--json"), "report reconcile", every),
            (("audit", "explain", "C-04"), "audit explain", of("C-04")),
        ]
        for args, command, clients in expected:
            assert _viewed(site, *args) == {"command": command, "clients": clients}, args
        # A list that shows nobody records nothing.
        assert _viewed(site, "clients", "list", "--status", "discharged") is None
        assert _viewed(site, "results", "list", "--status", "refused") is None
        site.ok("audit", "verify")


def test_audit_access_says_who_looked_at_a_chart_and_what_a_user_opened(site: Clinic) -> None:
    uid = _uids(site)["C-02"]
    with freeze_time(LATER):
        site.ok("clients", "show", "C-02")
        site.ok("timeline", "C-02")
        site.ok("clients", "show", "C-05")
        site.ok("results", "no-show", "C-02")
        site.ok("report", "team")
        rows = json.loads(site.ok("audit", "access", "--client", "C-02", "--json").stdout)
        by_uid = json.loads(site.ok("audit", "access", "--client", uid, "--json").stdout)
        mine = json.loads(site.ok("audit", "access", "--user", site.user, "--json").stdout)
        nobody = json.loads(site.ok("audit", "access", "--user", "nobody", "--json").stdout)
        later = json.loads(
            site.ok("audit", "access", "--client", "C-02", "--from", "2026-11-24", "--json").stdout
        )
        table = site.ok("audit", "access", "--client", "C-02").stdout
        neither = site.run("audit", "access")
        both = site.run("audit", "access", "--client", "C-02", "--user", site.user)
    assert rows == by_uid
    reads = [(r["action"], r["command"]) for r in rows if r["action"] != "changed"]
    assert reads == [
        ("drew", "select"),
        ("viewed", "clients show"),
        ("viewed", "timeline"),
        ("viewed", "report team"),
    ]
    assert all(r["user"] == site.user for r in rows)
    assert [r["at"] for r in rows if r["action"] == "viewed"] == ["2026-11-23 10:00 EST"] * 3
    assert all(uid in r["clients"] for r in rows)
    # The changes to the chart too: the enrolment and the no-show (the screening itself
    # is the draw's).
    assert [r["command"] for r in rows if r["action"] == "changed"] == [
        "client (enrol)",
        "screening (status)",
    ]
    shown = next(r for r in rows if r["command"] == "clients show")
    assert shown["codes"] == ["C-02"] and shown["clients"] == [uid]  # this user sees codes
    opened = [(r["command"], r["codes"]) for r in mine if r["action"] == "viewed"]
    assert opened == [
        ("clients show", ["C-02"]),
        ("timeline", ["C-02"]),
        ("clients show", ["C-05"]),
        ("report team", sorted(CODES, key=lambda code: _uids(site)[code])),
    ]
    assert nobody == [] and later == []
    assert "timeline" in table and "C-02" in table
    assert neither.exit_code == 2 and "--client" in neither.stderr
    assert both.exit_code == 2


def test_a_deleted_or_forged_read_fails_verify(site: Clinic) -> None:
    with freeze_time(LATER):
        site.ok("clients", "show", "C-01")
        site.ok("timeline", "C-02")
        site.ok("clients", "list")
    first, second, _ = [seq for (seq,) in site.sql("SELECT seq FROM ledger WHERE kind = 'viewed'")]
    forge(site, second, lambda document: document["body"].update(command="rm -rf"))
    with freeze_time(LATER):
        forged = site.run("audit", "verify")
    assert forged.exit_code == 1
    assert f"entry {second} (viewed)" in forged.stderr and "no command" in forged.stderr
    forge(site, second, lambda document: document["body"].update(command="timeline"))
    forge(
        site, second, lambda d: d["body"].update(clients=["00000000-0000-4000-8000-000000000000"])
    )
    with freeze_time(LATER):
        stranger = site.run("audit", "verify")
    assert stranger.exit_code == 1 and "whom the ledger does not know" in stranger.stderr
    site.sql("DELETE FROM ledger WHERE seq = :s", s=first)  # the guard is gone (forge)
    with freeze_time(LATER):
        deleted = site.run("audit", "verify")
    assert deleted.exit_code == 1
    assert f"entries {first} to {first} are missing" in deleted.stderr


def test_an_auditor_explains_by_uid_and_sees_no_code(site: Clinic) -> None:
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.errors import BadInput
    from screening.services.access import access_log
    from screening.services.audit import explain
    from screening.services.plumbing.context import Actor, Context

    uid = _uids(site)["C-03"]
    with freeze_time(LATER):
        by_uid = json.loads(site.ok("audit", "explain", uid, "--json").stdout)
    assert by_uid["code"] == "C-03" and by_uid["uid"] == uid  # a clinician sees the code
    settings = config.load(site.folder / "screening.toml")
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    database = Database(resolve_url(site.url, site.folder))
    auditor = Context(
        settings,
        database,
        Actor("auditor1"),
        now,
        now.date(),
        frozenset({"auditor"}),
        "audit explain",
    )
    try:
        before = _head(site)
        quiet = explain(auditor, uid)
        assert _after(site, before) == []  # by uid, to an auditor: nothing identified shown
        assert quiet["code"] is None and quiet["uid"] == uid and "C-03" not in json.dumps(quiet)
        with pytest.raises(BadInput) as refused:
            explain(auditor, "C-3")  # an auditor names clients by uid
        assert "by uid" in refused.value.message and "C-03" not in refused.value.message
        rows = access_log(auditor, client=uid)
        assert rows and all("codes" not in row for row in rows)
        assert "C-0" not in json.dumps(rows) and site.user not in json.dumps(rows)
        assert {row["user"][:5] for row in rows} == {"user "}  # pseudonyms
        assert {row["user"] for row in access_log(auditor, user=site.user)} == {site.user}
    finally:
        database.dispose()
