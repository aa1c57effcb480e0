"""Existing databases under the vocabulary: migrated by `db upgrade`, never rewritten, and
still verified; stored names that are now synonyms read as their generic name, names it
does not know are listed for staff with the command that fixes them."""

from __future__ import annotations

import json

from screening.db.engine import Database, resolve_url
from screening.db.migrate import alembic_config
from tests.conftest import Clinic

OWN_MEDICATION = """
[medications.subox]
produces = ["BUP", "NORBUP"]

[medications.kratom]
produces = ["KRA"]

[analytes.KRA]
name = "mitragynine (kratom)"
"""
AS_SYNONYM = """
[medications.buprenorphine]
synonyms = ["subox"]
"""


def _config(clinic: Clinic) -> str:
    return (clinic.folder / "screening.toml").read_text()


def test_an_older_database_upgrades_and_its_names_are_read_or_listed(clinic: Clinic) -> None:
    from alembic import command

    plain = _config(clinic)
    (clinic.folder / "screening.toml").write_text(plain + OWN_MEDICATION)
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1", "--meds", "subox")
    clinic.ok("clients", "add", "C-2", "--track", "morning", "--phase", "1", "--meds", "kratom")
    clinic.ok("results", "for-cause", "C-1", "--reason", "test")
    clinic.ok("results", "record", "C-1", "--positive", "BUP,NORBUP")
    stored = clinic.sql("SELECT medications FROM clients ORDER BY code")
    database = Database(resolve_url(clinic.url, clinic.folder))
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    database.dispose()

    # The clinic's own names leave its config: "subox" becomes a synonym of buprenorphine,
    # "kratom" is known no more.
    (clinic.folder / "screening.toml").write_text(plain + AS_SYNONYM)
    upgraded = clinic.ok("db", "upgrade")
    assert "schema upgraded from 0005 to revision 0008" in upgraded.stderr
    assert "client C-2: medication 'kratom' is not in the vocabulary" in upgraded.stderr
    assert "screening clients update C-2 --meds" in upgraded.stderr
    assert "C-1" not in upgraded.stderr
    assert clinic.sql("SELECT medications FROM clients ORDER BY code") == stored
    assert "records match the ledger" in clinic.ok("audit", "verify").stdout

    [row] = json.loads(clinic.ok("results", "list", "--json").stdout)
    assert row["reading"] == "expected_positive"
    assert "BUP screen cutoff 5 ng/mL: positive (expected: buprenorphine)" in row["says"]
    listed = json.loads(clinic.ok("clients", "list", "--json").stdout)
    assert [client["medications"] for client in listed] == [["buprenorphine"], ["kratom"]]
    assert listed[1]["medication_problems"]

    clinic.ok("clients", "update", "C-2", "--meds", "")
    assert "not in the vocabulary" not in clinic.ok("clients", "list").stderr
    assert "records match the ledger" in clinic.ok("audit", "verify").stdout
