"""The accounting of disclosures (`audit disclosures`; 42 CFR 2.25, HIPAA 164.528): every
disclosure made is listed (the gate's, an export's, and an export recorded before the
gate), never a preview; by client, since a day; an auditor sees uids, and no codes,
names, staff or recipients of a client's consent."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from freezegun import freeze_time

from screening.core.access import ROLES
from tests.conftest import BACKENDS, ME, Clinic, _pg_schema_url, isolate, write_csv
from tests.disclosures import Kept

DRUG_COURT = "Riverside Drug Court"
MOTHER = "Pat Example, mother"  # a comma: CSV must quote it
PROGRAM = "Riverside Recovery Services"
OLD_EXPORT = {"to": "County Board", "purpose": "oversight", "what": "ledger export"}


def context(clinic: Clinic, at: str, roles: frozenset[str] = frozenset(ROLES)) -> Any:
    """The services' context, as the CLI makes it, for the user holding ``roles``."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC)
    database = Database(resolve_url(clinic.url, clinic.folder))
    return Context(settings, database, Actor(ME), now, now.astimezone(settings.zone).date(), roles)


def _consent(ctx: Any, code: str, **terms: Any) -> None:
    from screening.services.disclosure import add_consent

    given: dict[str, Any] = {
        "recipient_class": None, "detail": None, "revocable_from": None, "covers_from": None,
        "signed": "2026-11-02", "signed_by": "client", "how_to_revoke": "in writing",
    }  # fmt: skip
    add_consent(ctx, code, **{**given, **terms})


def _disclose(ctx: Any, code: str, recipient: str, form: str, preview: bool = False) -> None:
    """A disclosure through the gate, of a trivial output (what it carries, no more)."""
    from screening.services.disclosure import Ask, disclose

    ask = Ask(
        code=code, recipient=recipient, consent=None, purpose=None,
        needs=frozenset({"attendance"}), first=None, last=None, form=form,
        command="report progress", preview=preview,
    )  # fmt: skip
    disclose(ctx, ask, lambda session, authority: {"carries": ["attendance"]}, Kept)


def _old_export(ctx: Any) -> None:
    """An export's disclosure as versions before the gate recorded it (no row)."""
    from screening.services.plumbing.ledger import LedgerWriter

    with ctx.database.write() as session:
        LedgerWriter(session, ctx.actor, ctx.now, ctx.settings.zone).append(
            ctx.site, "disclosure", OLD_EXPORT
        )


def story(clinic: Clinic, program: str = PROGRAM) -> None:
    """Three clients; C-01's drug court letter (Mon 30 Nov) and C-02's letter to their
    mother (Tue 1 Dec) through the gate, a preview (not a disclosure), an export recorded
    the old way (10 Nov) and one through the gate (Tue 1 Dec)."""
    with freeze_time("2026-11-02T15:00:00Z"):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace('name = "main"', f'name = "main"\nprogram = "{program}"', 1)
        )
        rows = [f"C-0{i},Client Number {i},morning,1,2026-10-01," for i in (1, 2, 3)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
        ctx = context(clinic, "2026-11-02T15:00:00Z")
        _consent(
            ctx, "C-01", type="criminal_justice", recipient=DRUG_COURT, purpose="monitoring",
            shares="attendance,results", expires="2027-06-30", revocable_from="2027-03-01",
        )  # fmt: skip
        _consent(
            ctx, "C-02", type="named", recipient=MOTHER, purpose="family_involvement",
            shares="attendance", expires="end-of-treatment",
        )  # fmt: skip
    with freeze_time("2026-11-10T15:00:00Z"):
        _old_export(context(clinic, "2026-11-10T15:00:00Z"))
    with freeze_time("2026-11-30T20:00:00Z"):
        _disclose(context(clinic, "2026-11-30T20:00:00Z"), "C-01", DRUG_COURT, "html")
        _disclose(context(clinic, "2026-11-30T20:00:00Z"), "C-02", MOTHER, "text", preview=True)
    with freeze_time("2026-12-01T16:00:00Z"):
        _disclose(context(clinic, "2026-12-01T16:00:00Z"), "C-02", MOTHER, "text")
        clinic.ok(
            "audit", "export", str(clinic.folder / "export"), "--to", "State Auditor",
            "--purpose", "audit",
        )  # fmt: skip


class SharedClinic(Clinic):
    def run(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        config = {"SCREENING_CONFIG": str(self.folder / "screening.toml")}
        return super().run(*args, env={**config, **(env or {})})


@pytest.fixture(scope="module", params=BACKENDS)
def told(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clinic]:
    """The story, once per backend; the tests read it (a read's `viewed` entry aside)."""
    folder = tmp_path_factory.mktemp("accounting")
    with pytest.MonkeyPatch.context() as mp:
        isolate(folder, mp)
        if request.param == "sqlite":
            clinic = SharedClinic(folder, f"sqlite:///{folder / 'screening.db'}")
            story(clinic)
            yield clinic
        else:
            urls = _pg_schema_url()
            try:
                clinic = SharedClinic(folder, next(urls))
                story(clinic)
                yield clinic
            finally:
                urls.close()


LATER = "2026-12-02T15:00:00Z"


def _listed(clinic: Clinic, *args: str) -> list[dict[str, Any]]:
    with freeze_time(LATER):
        rows: list[dict[str, Any]] = json.loads(
            clinic.ok("audit", "disclosures", "--json", *args).stdout
        )
    return rows


def test_each_disclosure_made_is_listed_and_no_preview(told: Clinic) -> None:
    rows = _listed(told)
    assert [(r["recipient"], r["client"], r["basis"]) for r in rows] == [
        ("County Board", None, "audit"),
        (DRUG_COURT, "C-01", "consent"),
        (MOTHER, "C-02", "consent"),  # the preview of 30 Nov is not here
        ("State Auditor", None, "audit"),
    ]
    old, court, mother, export = rows
    assert old["what"] == ["ledger export"] and old["purpose"] == "oversight"
    assert court["what"] == ["attendance"] and court["consent_type"] == "criminal_justice"
    assert (court["from"], court["to"], court["form"]) == ("2026-10-01", "2026-11-30", "html")
    assert court["at"] == "2026-11-30 15:00 EST" and mother["consent"] == court["consent"] + 1
    digest = hashlib.sha256((told.folder / "export" / "manifest.json").read_bytes()).hexdigest()
    (content,) = told.sql("SELECT content FROM disclosures WHERE seq = :s", s=export["entry"])[0]
    assert content == digest
    # Staff by name (the database login, on PostgreSQL), to those who may see them.
    assert {r["made_by"] for r in rows} == {told.user}
    with freeze_time(LATER):
        table = told.run("audit", "disclosures", env={"COLUMNS": "400"}).stdout
    for words in (
        "Disclosures since 2023-12-02",
        "consent #1: criminal-justice referral consent (42 CFR 2.35)",
        "audit (42 CFR 2.53)",
        "monitoring by the court or justice system",
        "2026-10-01 to 2026-11-30",
        "attendance at screenings",
        "the ledger (no names or codes)",
        f"entries 1 to {export['entry'] - 1}",
    ):
        assert words in " ".join(table.split()), words


def test_one_client_and_since(told: Clinic) -> None:
    # The exports carried every client's entries (by uid): they are the client's too.
    assert [r["recipient"] for r in _listed(told, "--client", "C-01")] == [
        "County Board",
        DRUG_COURT,
        "State Auditor",
    ]
    assert [r["recipient"] for r in _listed(told, "--since", "2026-12-01")] == [
        MOTHER,
        "State Auditor",
    ]
    with freeze_time(LATER):
        empty = told.run(
            "audit", "disclosures", "--client", "C-03", "--since", "2026-11-15",
            env={"COLUMNS": "400"},
        )  # fmt: skip
        late = told.run("audit", "disclosures", "--since", "2026-12-25")
    assert "State Auditor" in empty.stdout and DRUG_COURT not in empty.stdout
    assert late.exit_code == 2 and "--since 2026-12-25 is after today" in late.stderr


def test_a_read_by_code_is_in_the_access_log(told: Clinic) -> None:
    uid = told.sql("SELECT uid FROM clients WHERE code = 'C-01'")[0][0]
    before = told.sql("SELECT max(seq) FROM ledger")[0][0]
    _listed(told, "--client", "C-01")
    ((canonical,),) = told.sql("SELECT canonical FROM ledger WHERE seq > :s", s=before)
    assert json.loads(canonical)["body"] == {"command": "audit disclosures", "clients": [uid]}


def test_the_csv_opens_cleanly(told: Clinic) -> None:
    with freeze_time(LATER):
        text = told.ok("audit", "disclosures", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "entry", "at", "client", "recipient", "purpose", "what", "from", "to", "form",
        "basis", "consent", "consent_type", "made_by",
    ]  # fmt: skip
    recipients = [row["recipient"] for row in rows]
    assert recipients == ["County Board", DRUG_COURT, MOTHER, "State Auditor"]
    assert rows[1]["what"] == "attendance" and rows[1]["from"] == "2026-10-01"


def test_an_auditor_sees_uids_and_no_recipient_of_a_consent(told: Clinic) -> None:
    from screening.errors import NotPermitted
    from screening.services.disclosure import disclosures_made

    uids = dict(told.sql("SELECT code, uid FROM clients"))
    auditor = context(told, LATER, frozenset({"auditor"}))
    before = told.sql("SELECT max(seq) FROM ledger")[0][0]
    try:
        rows = disclosures_made(auditor)["disclosures"]
        assert [(r["client"], r["recipient"]) for r in rows] == [
            (None, "County Board"),
            (uids["C-01"], "(hidden from auditors)"),
            (uids["C-02"], "(hidden from auditors)"),
            (None, "State Auditor"),
        ]
        shown = json.dumps(rows)
        for private in ("C-0", "Client Number", DRUG_COURT, "Pat Example", told.user):
            assert private not in shown, private
        assert {r["made_by"] for r in rows} == {None}
        by_uid = disclosures_made(auditor, uids["C-01"])["disclosures"]
        assert [r["client"] for r in by_uid] == [None, uids["C-01"], None]
        with pytest.raises(NotPermitted):
            disclosures_made(auditor, uids["C-01"], letter=True)
        # Three years back from the day asked: the old export (10 Nov 2026) is out.
        later = context(told, "2029-11-20T15:00:00Z", frozenset({"auditor"}))
        try:
            kept = disclosures_made(later)
        finally:
            later.database.dispose()
        assert kept["since"] == "2026-11-20" and len(kept["disclosures"]) == 3
        assert told.sql("SELECT max(seq) FROM ledger")[0][0] == before  # nothing recorded
    finally:
        auditor.database.dispose()


def test_the_clients_page(told: Clinic) -> None:
    with freeze_time(LATER):
        page = told.ok("audit", "disclosures", "--client", "C-02", "--format", "html").stdout
        refused = told.run("audit", "disclosures", "--format", "html")
    assert "<h1>Disclosures of your records</h1>" in page
    assert f"{PROGRAM}: for Client Number 2 (C-02), prepared Wed 2 Dec 2026." in page
    assert "from <strong>Sat 2 Dec 2023</strong> to <strong>Wed 2 Dec 2026</strong>" in page
    assert "Pat Example, mother" in page and "involving family in treatment" in page
    assert "your consent #2: consent to a named recipient (42 CFR 2.31)" in page
    assert "State Auditor" in page and "which holds no names or codes" in page
    assert DRUG_COURT not in page and "C-01" not in page
    assert "<h2>Questions</h2>" in page and "privacy officer" in page
    assert "@page { size: letter; }" in page
    assert refused.exit_code == 2 and "add --client CODE" in refused.stderr
