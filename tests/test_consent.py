"""`screening consent ...` (issue 18): a consent is recorded only with every element of
the form (42 CFR §2.31), listed and shown with its history (identified reads, in the
access log), revoked at once (a criminal-justice consent not before the day its form
says, §2.35(d)), and a client's disclosures restricted and the restriction lifted
(§2.26); `audit verify` holds every consents, restrictions and disclosures row to the
entry that made it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Clinic, forge
from tests.disclosures import disclose

COURT = "County Drug Court"
# What the commands do is the same on both backends; verify's comparison is run on both.
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _day(days: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _named(code: str = "C-1", *extra: str) -> list[str]:
    """A named-recipient consent with every element, as a parent's form gives them."""
    return [
        "consent", "add", code, "--type", "named", "--recipient", "Dana Example",
        "--purpose", "family_involvement", "--share", "attendance", "--expires",
        _day(60), "--signed", _day(-1), "--signed-by", "client", "--how-to-revoke",
        "tell any staff member", *extra,
    ]  # fmt: skip


def _court(code: str = "C-1", *extra: str) -> list[str]:
    return [
        "consent", "add", code, "--type", "criminal_justice", "--recipient", COURT,
        "--purpose", "monitoring", "--share", "results,attendance,missed", "--expires",
        "end-of-treatment", "--signed", _day(-1), "--signed-by", "client",
        "--how-to-revoke", "in writing to the program director", *extra,
    ]  # fmt: skip


def _with(args: list[str], option: str, value: str) -> list[str]:
    at = args.index(option)
    return [*args[: at + 1], value, *args[at + 2 :]]


def _without(args: list[str], option: str) -> list[str]:
    at = args.index(option)
    return [*args[:at], *args[at + 2 :]]


def _enrolled(clinic: Clinic, *codes: str) -> Clinic:
    for code in codes:
        clinic.ok("clients", "add", code, "--track", "morning", "--phase", "1",
                  "--name", f"Client {code}", "--admitted", _day(-30))  # fmt: skip
    return clinic


def _head(clinic: Clinic) -> int:
    return int(clinic.sql("SELECT max(seq) FROM ledger")[0][0])


def _bodies_after(clinic: Clinic, seq: int) -> list[tuple[str, dict]]:
    rows = clinic.sql("SELECT kind, canonical FROM ledger WHERE seq > :s ORDER BY seq", s=seq)
    return [(kind, json.loads(text)["body"]) for kind, text in rows]


def _list(clinic: Clinic, *args: str) -> list[dict]:
    return json.loads(clinic.ok("consent", "list", *args, "--json").stdout)


@ON_SQLITE
def test_a_form_missing_an_element_is_refused_and_nothing_is_written(clinic: Clinic) -> None:
    _enrolled(clinic, "C-1")
    before = _head(clinic)
    court = [*_court(), "--revocable-from", _day(30)]
    cases = {
        "--how-to-revoke": _without(_named(), "--how-to-revoke"),
        "--share": _with(_named(), "--share", "attendance,diagnosis"),
        "--revocable-from": _court(),
        "--recipient": _without(_named(), "--recipient"),
        "--purpose": _with(court, "--purpose", "employment"),
        "--type": _with(_named(), "--type", "verbal"),
        "--expires": _with(_named(), "--expires", "someday"),
        "--signed": _with(_named(), "--signed", _day(2)),
        "--detail": _with(_named(), "--purpose", "other"),
        "--signed-by": _with(_named(), "--signed-by", " "),
    }
    for option, args in cases.items():
        refused = clinic.run(*args)
        assert refused.exit_code == 2, (option, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1, (option, refused.stderr)
        said = "monitoring, not employment" if option == "--purpose" else option
        assert said in refused.stderr, (option, refused.stderr)
    assert _head(clinic) == before
    assert clinic.sql("SELECT count(*) FROM consents") == [(0,)]


@ON_SQLITE
def test_a_court_order_is_the_courts_and_a_former_client_may_still_consent(
    clinic: Clinic,
) -> None:
    _enrolled(clinic, "C-1")
    order = [
        "consent", "add", "C-1", "--type", "court_order", "--recipient", "County Court",
        "--purpose", "legal_proceeding", "--share", "results", "--expires", _day(90),
        "--signed", _day(-1), "--signed-by", "Judge A. Example",
    ]  # fmt: skip
    told = clinic.run(*order, "--how-to-revoke", "in writing")
    assert told.exit_code == 2 and "not the client's to revoke" in told.stderr
    clinic.ok(*order)
    refused = clinic.run("consent", "revoke", "1", "--reason", "client-request")
    assert refused.exit_code == 2 and "court order" in refused.stderr
    clinic.ok("consent", "revoke", "1", "--reason", "other", "--note", "order vacated")
    clinic.ok("clients", "discharge", "C-1", "--reason", "completed")
    ended = clinic.run(*_named("C-1", "--expires", "end-of-treatment"))
    assert ended.exit_code == 2 and "was discharged" in ended.stderr and "--expires" in ended.stderr
    clinic.ok(*_named("C-1"))  # a date: a discharge summary to a parent, say
    assert [c["status"] for c in _list(clinic, "--all")] == ["revoked", "in force"]


@ON_SQLITE
def test_consents_are_listed_and_shown_and_each_read_is_logged(clinic: Clinic) -> None:
    _enrolled(clinic, "C-1", "C-2")
    added = clinic.ok(*_named("C-1"))
    assert "consent 1 of C-1 recorded" in added.stderr
    clinic.ok(*_court("C-2", "--revocable-from", _day(30)))
    (uid1,), (uid2,) = clinic.sql("SELECT uid FROM clients ORDER BY code")
    before = _head(clinic)
    listed = _list(clinic)
    assert [(c["number"], c["client"], c["recipient"], c["status"]) for c in listed] == [
        (1, "C-1", "Dana Example", "in force"),
        (2, "C-2", COURT, "in force"),
    ]
    assert [c["number"] for c in _list(clinic, "C-2")] == [2]
    table = clinic.run("consent", "list", env={"COLUMNS": "160"}).stdout
    assert COURT in table and "criminal justice" in table and "end of treatment" in table
    shown = clinic.ok("consent", "show", "2").stdout
    assert COURT in shown and "revocable from" in shown and _day(30) in shown
    assert "taken by" in shown
    assert [body for _, body in _bodies_after(clinic, before)] == [
        {"command": "consent list", "clients": sorted([uid1, uid2])},
        {"command": "consent list", "clients": [uid2]},
        {"command": "consent list", "clients": sorted([uid1, uid2])},
        {"command": "consent show", "clients": [uid2]},
    ]
    missing = clinic.run("consent", "show", "9")
    assert missing.exit_code == 2 and "consent list" in missing.stderr


@ON_SQLITE
def test_a_revocation_takes_effect_at_once(clinic: Clinic) -> None:
    _enrolled(clinic, "C-1")
    clinic.ok(*_named())
    clinic.ok(*_named("C-1", "--share", "attendance,progress"))
    clinic.ok("consent", "revoke", "1", "--reason", "client_request", "--note", "by phone")
    assert [c["number"] for c in _list(clinic)] == [2]
    every = {c["number"]: c["status"] for c in _list(clinic, "--all")}
    assert every == {1: "revoked", 2: "in force"}
    history = json.loads(clinic.ok("consent", "show", "1", "--json").stdout)["history"]
    assert [event["event"] for event in history] == ["taken", "revoked"]
    again = clinic.run("consent", "revoke", "1", "--reason", "client_request")
    assert again.exit_code == 2 and len(again.stderr.strip().splitlines()) == 1
    (body,) = [b for k, b in _bodies_after(clinic, 0) if k == "consent" and b["action"] == "revoke"]
    assert body["reason"] == "client_request" and "by phone" not in json.dumps(body)


@ON_SQLITE
def test_a_criminal_justice_consent_is_revoked_only_from_its_day(clinic: Clinic) -> None:
    _enrolled(clinic, "C-1")
    clinic.ok(*_court("C-1", "--revocable-from", _day(30)))
    early = clinic.run("consent", "revoke", "1", "--reason", "client_request")
    assert early.exit_code == 4, early.stderr
    assert _day(30) in early.stderr and len(early.stderr.strip().splitlines()) == 1
    assert _list(clinic)[0]["status"] == "in force"
    clinic.ok("consent", "revoke", "1", "--reason", "entered_in_error")
    assert _list(clinic) == []


@ON_SQLITE
def test_a_restriction_is_placed_and_lifted(clinic: Clinic) -> None:
    _enrolled(clinic, "C-1")
    clinic.ok("consent", "restrict", "C-1", "--note", "asked at intake")
    clinic.ok("consent", "lift", "C-1")
    again = clinic.run("consent", "lift", "C-1")
    assert again.exit_code == 2 and len(again.stderr.strip().splitlines()) == 1
    actions = [b["action"] for k, b in _bodies_after(clinic, 0) if k == "consent"]
    assert actions == ["restrict", "lift"]
    assert "asked at intake" not in json.dumps(_bodies_after(clinic, 0))
    assert clinic.ok("audit", "verify").exit_code == 0


# --- audit verify --------------------------------------------------------------------


@pytest.fixture
def consented(clinic: Clinic) -> Clinic:
    """Two consents (one revoked), a restriction lifted, and a disclosure made."""
    _enrolled(clinic, "C-1", "C-2")
    clinic.ok(*_court("C-1", "--revocable-from", _day(30)))
    clinic.ok(*_named("C-2"))
    clinic.ok("consent", "revoke", "2", "--reason", "other", "--note", "moved away")
    clinic.ok("consent", "restrict", "C-2")
    clinic.ok("consent", "lift", "C-2", "--note", "asked again")
    disclose(clinic, "C-1", 1, COURT)
    assert clinic.sql("SELECT count(*) FROM disclosures") == [(1,)]
    return clinic


# An edit by SQL, what undoes it, and what verify says of it.
EDITS = [
    (
        "UPDATE consents SET recipient = 'Someone Else' WHERE id = 1",
        f"UPDATE consents SET recipient = '{COURT}' WHERE id = 1",
        "(consent): the database row differs from the ledger in terms",
    ),
    (
        """UPDATE consents SET shares = '["attendance","missed","progress","results"]' """
        "WHERE id = 1",
        """UPDATE consents SET shares = '["attendance","missed","results"]' WHERE id = 1""",
        "(consent): the database row differs from the ledger in shares",
    ),
    (
        "UPDATE consents SET revoked_seq = NULL, revoke_reason = NULL, revoke_note = NULL "
        "WHERE id = 2",
        "UPDATE consents SET revoked_seq = (SELECT max(seq) FROM ledger WHERE kind = "
        "'consent' AND canonical LIKE '%\"revoke\"%'), revoke_reason = 'other', "
        "revoke_note = 'moved away' WHERE id = 2",
        "(consent): the database row differs from the ledger in revoked",
    ),
    (
        "UPDATE disclosures SET recipient = 'Someone Else'",
        f"UPDATE disclosures SET recipient = '{COURT}'",
        "(disclosure): the database row differs from the ledger in recipient",
    ),
    (
        "UPDATE restrictions SET lifted_seq = NULL",
        "UPDATE restrictions SET lifted_seq = (SELECT max(seq) FROM ledger WHERE kind = "
        "'consent' AND canonical LIKE '%\"lift\"%')",
        "(restriction): the database row differs from the ledger in lifted",
    ),
]


def test_verify_names_a_row_edited_by_sql(consented: Clinic) -> None:
    consented.ok("audit", "verify")
    for edit, undo, named in EDITS:
        consented.sql(edit)
        failed = consented.run("audit", "verify")
        assert failed.exit_code == 1, (edit, failed.stdout)
        assert named in failed.stderr, (edit, failed.stderr)
        consented.sql(undo)
    consented.ok("audit", "verify")


@ON_SQLITE
def test_verify_names_a_disclosure_beyond_what_its_consent_shares(consented: Clinic) -> None:
    """History and row rewritten alike: the court's consent shares no progress summary."""
    ((seq,),) = consented.sql("SELECT max(seq) FROM ledger WHERE kind = 'disclosure'")
    forge(consented, seq, lambda document: document["body"].update(what=["progress"]))
    consented.sql("""UPDATE disclosures SET what = '["progress"]'""")
    failed = consented.run("audit", "verify")
    assert failed.exit_code == 1
    ((uid,),) = consented.sql("SELECT uid FROM consents WHERE id = 1")
    assert (
        f"entry {seq} (disclosure): it carries progress, which consent {uid} does not share"
        in failed.stderr
    )


@ON_SQLITE
def test_an_exports_disclosure_has_its_row_and_verifies(clinic: Clinic, tmp_path: Path) -> None:
    clinic.ok("audit", "export", str(tmp_path / "export"), "--recipient", "State Auditor",
              "--purpose", "audit")  # fmt: skip
    assert clinic.sql("SELECT basis, client_id, recipient, form FROM disclosures") == [
        ("audit", None, "State Auditor", "ledger")
    ]
    clinic.ok("audit", "verify")
    clinic.sql("UPDATE disclosures SET purpose = 'research'")
    failed = clinic.run("audit", "verify")
    assert failed.exit_code == 1
    assert "(disclosure): the database row differs from the ledger in purpose" in failed.stderr


def test_the_help_names_every_choice_in_words() -> None:
    from typer.testing import CliRunner

    from screening.cli import app
    from screening.core import disclosure

    runner = CliRunner()
    added = " ".join(runner.invoke(app, ["consent", "add", "--help"]).stdout.split())
    for word in (*disclosure.TYPES, *disclosure.SHARES, *disclosure.PURPOSES):
        assert word in added, word
    revoke = " ".join(runner.invoke(app, ["consent", "revoke", "--help"]).stdout.split())
    for word in disclosure.REVOKE_REASONS:
        assert word in revoke, word


# --- the replay of consent entries (pure: no clinic needed) ---------------------------

D = "d" * 64  # a staff digest: the writer's


def _replay() -> tuple[Any, Any]:
    from screening.services.audit.consent_rows import ConsentEntries
    from screening.services.plumbing.spill import SpillFile

    spill = SpillFile()
    clients = spill.map(lambda uid, known: (known[0], uid))
    clients["client-1"] = (2, "main", {})
    return ConsentEntries(spill.map, clients), spill


def _add(uid: str) -> dict[str, Any]:
    return {
        "action": "add", "consent": uid, "client": "client-1", "type": "named",
        "purpose": "employment", "shares": ["attendance"], "covers_from": "2026-11-01",
        "expires": "end_of_treatment", "signed": "2026-11-02", "revocable_from": None,
        "taken_by": D, "terms": "e" * 64,
    }  # fmt: skip


def _revoke(uid: str) -> dict[str, Any]:
    return {"action": "revoke", "consent": uid, "client": "client-1", "reason": "other",
            "note": None}  # fmt: skip


def _disclosure(uid: str) -> dict[str, Any]:
    return {
        "basis": "consent", "client": "client-1", "consent": uid, "recipient": "f" * 64,
        "purpose": "employment", "what": ["attendance"], "from": "2026-11-01",
        "to": "2026-11-30", "form": "text", "content": "0" * 64,
    }  # fmt: skip


RESTRICT = {"action": "restrict", "client": "client-1", "note": None}
LIFT = {"action": "lift", "client": "client-1", "note": None}
OLD_EXPORT = {"to": "State Auditor", "purpose": "audit", "what": "ledger export"}

BROKEN_HISTORIES = {
    "revoked already": [("consent", _add("c1")), ("consent", _revoke("c1")),
                        ("consent", _revoke("c1"))],
    "never added": [("consent", _revoke("c9"))],
    "none in force": [("consent", RESTRICT), ("consent", LIFT), ("consent", LIFT)],
    "which entry 4 revoked": [("consent", _add("c1")), ("consent", _revoke("c1")),
                              ("disclosure", _disclosure("c1"))],
    "restricted": [("consent", _add("c1")), ("consent", RESTRICT),
                   ("disclosure", _disclosure("c1"))],
    "taken by someone other than its writer": [("consent", {**_add("c1"), "taken_by": "a" * 64})],
    "added already": [("consent", _add("c1")), ("consent", _add("c1"))],
    "type 'friend'": [("consent", {**_add("c1"), "type": "friend"})],
    "which that type may not name": [("consent", {**_add("c1"), "purpose": "legal_proceeding"})],
    "for 'gossip'": [("consent", {**_add("c1"), "type": "named", "purpose": "gossip"})],
    "it shares 'diagnoses'": [("consent", {**_add("c1"), "shares": ["attendance", "diagnoses"]})],
    "carries results, which consent c1 does not share": [
        ("consent", _add("c1")), ("disclosure", {**_disclosure("c1"), "what": ["results"]})],
    "is for 'monitoring', but consent c1 is for 'employment'": [
        ("consent", _add("c1")), ("disclosure", {**_disclosure("c1"), "purpose": "monitoring"})],
    "audit disclosure for 'curiosity'": [("disclosure", {
        **_disclosure("c1"), "basis": "audit", "client": None, "consent": None,
        "purpose": "curiosity"})],
}  # fmt: skip


def test_the_replay_fails_a_history_the_program_never_writes() -> None:
    from screening.core.replay import Broken

    for said, history in BROKEN_HISTORIES.items():
        entries, spill = _replay()
        try:
            with pytest.raises(Broken, match=said) as raised:
                for seq, (kind, body) in enumerate(history, start=3):
                    entries.take(seq, "main", kind, body, {"os_digest": D})
            assert raised.value.seq == 2 + len(history), said
        finally:
            spill.close()
    entries, spill = _replay()
    try:
        fine = [("consent", _add("c1")), ("disclosure", _disclosure("c1")),
                ("consent", RESTRICT), ("consent", LIFT), ("disclosure", OLD_EXPORT),
                ("consent", _revoke("c1"))]  # fmt: skip
        for seq, (kind, body) in enumerate(fine, start=3):
            entries.take(seq, "main", kind, body, {"os_digest": D})
        assert [seq for seq, _ in entries.disclosures.ordered()] == [4]
        ((added, (_, consent)),) = list(entries.consents.ordered())
        assert added == 3 and consent["revoked"]["entry"] == 8
    finally:
        spill.close()
