"""PostgreSQL enforces the roles itself (issue 17, `screening db roles`): real logins of
each role, connected with their own names, get the server's own "permission denied" or
row-level security, whatever SQL they type. PostgreSQL only: the tests need
SCREENING_TEST_DATABASE_URL, and fail (not skip) when it names a server they cannot reach.

One network of two sites (north, south) in one schema is shared by the module; each
test makes its own logins (unique names, dropped afterwards).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from screening.cli import app
from screening.errors import BadInput
from screening.services.site import grant_group, revoke_group
from tests.conftest import _pg_schema_url, isolate, run_sql

pytestmark = pytest.mark.postgresql
runner = CliRunner()


@dataclass
class Network:
    folder: Path
    url: str  # the schema's owner (the server's superuser in tests)
    logins: list[str] = field(default_factory=list)

    def run(self, site: str, *args: str, url: str | None = None):  # type: ignore[no-untyped-def]
        config = self.folder / site / "screening.toml"
        return runner.invoke(app, ["--db", url or self.url, "--config", str(config), *args])

    def ok(self, site: str, *args: str, url: str | None = None):  # type: ignore[no-untyped-def]
        result = self.run(site, *args, url=url)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def login(self, role: str, site: str) -> str:
        """A new LOGIN role granted ``role`` at ``site`` (the ledger, then the server)."""
        name = f"t_login_{secrets.token_hex(4)}"
        self.sql(f'CREATE ROLE "{name}" LOGIN')
        self.logins.append(name)
        self.ok(site, "access", "grant", name, role, "--site", site)
        self.owner(lambda connection: grant_group(connection, name, role))
        return name

    def url_of(self, login: str) -> str:
        return sa.make_url(self.url).set(username=login).render_as_string(hide_password=False)

    def owner(self, action):  # type: ignore[no-untyped-def]
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as connection:
                return action(connection)
        finally:
            engine.dispose()

    def sql(self, statement: str, login: str | None = None) -> list[tuple]:
        """SQL typed into psql, as ``login`` (the owner by default)."""
        return run_sql(self.url_of(login) if login else self.url, statement)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    folder = tmp_path_factory.mktemp("network")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(folder, monkeypatch)
        urls = _pg_schema_url()
        made = Network(folder, next(urls))
        try:
            for site in ("north", "south"):
                made.ok(site, "init", "--site", site, "--timezone", "America/Chicago")
            made.ok("north", "db", "roles")
            owner = sa.make_url(made.url).username or ""
            for site in ("north", "south"):
                made.ok(site, "access", "grant", owner, "staff")
            for site in ("north", "south"):
                for n in (1, 2):
                    code = f"{site[0].upper()}-{n}"
                    name = f"{site.title()} Client {n}"
                    made.ok(site, "clients", "add", code, "--track", "morning", "--phase", "1",
                            "--name", name)  # fmt: skip
            made.ok("south", "clients", "hold", "S-1", *_days(), "--reason", "hospital")
            # A draw, a screening and its result: every kind of row verify compares.
            made.ok("north", "select")
            made.ok("north", "results", "for-cause", "N-2", "--reason", "observed impairment")
            # N-2 may have been drawn at random too: the specimen is the for-cause one's.
            [(cause,)] = made.sql(
                "SELECT s.id FROM screenings s JOIN clients c ON c.id = s.client_id "
                "WHERE c.code = 'N-2' AND s.reason = 'for_cause'"
            )
            made.ok("north", "results", "record", "N-2", "--screening", str(cause),
                    "--positive", "THC")  # fmt: skip
            yield made
        finally:
            for name in made.logins:
                made.sql(f'DROP OWNED BY "{name}"')
                made.sql(f'DROP ROLE "{name}"')
            urls.close()


def _days() -> list[str]:
    start = datetime.now(UTC).date() + timedelta(days=10)
    return ["--from", start.isoformat(), "--to", (start + timedelta(days=2)).isoformat()]


def _refused(network: Network, statement: str, login: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as raised:
        network.sql(statement, login)
    return str(raised.value.orig)


def test_staff_cannot_change_or_delete_the_ledger(network: Network) -> None:
    staff = network.login("staff", "north")
    for statement in ("UPDATE ledger SET kind = kind", "DELETE FROM ledger"):
        assert "permission denied for table ledger" in _refused(network, statement, staff)
    # The whole ledger is read (every writer chains from its head), both sites' entries.
    sites = {site for (site,) in network.sql("SELECT DISTINCT site FROM ledger", staff)}
    assert sites == {"north", "south"}
    # The CLI writes at its own site, its ids after the whole table's (south's hold is 1).
    network.ok("north", "clients", "hold", "N-1", *_days(), "--reason", "travel",
               url=network.url_of(staff))  # fmt: skip
    assert network.sql("SELECT c.code FROM holds h JOIN clients c ON c.id = h.client_id "
                       "WHERE h.id = 2") == [("N-1",)]  # fmt: skip
    listed = network.ok("north", "clients", "list", "--json", url=network.url_of(staff))
    assert "N-1" in listed.stdout and "S-1" not in listed.stdout
    network.ok("north", "results", "pending", url=network.url_of(staff))


def test_the_auditor_cannot_read_a_name_or_a_code(network: Network) -> None:
    auditor = network.login("auditor", "north")
    for column in ("name", "code", "salt"):
        refused = _refused(network, f"SELECT {column} FROM clients", auditor)
        assert "permission denied for table clients" in refused
    assert "permission denied" in _refused(network, "SELECT name FROM staff_names", auditor)
    assert "permission denied" in _refused(network, "SELECT * FROM clients", auditor)
    rows = network.sql("SELECT site, count(uid) FROM clients GROUP BY site", auditor)
    assert dict(rows)["north"] >= 2 and dict(rows)["south"] == 2  # pseudonymous, every site
    # The auditor's one entry is an export's disclosure; any other kind is refused.
    forged = (
        "INSERT INTO ledger (seq, at, site, kind, canonical, hash) VALUES "
        "(999999, now(), 'north', '{kind}', '{{}}', '{hash}')"
    )
    refused = _refused(network, forged.format(kind="client", hash="f" * 64), auditor)
    assert "row-level security" in refused


def test_a_north_login_cannot_read_or_write_south_rows_even_with_sql(network: Network) -> None:
    staff = network.login("staff", "north")
    assert {s for (s,) in network.sql("SELECT site FROM clients", staff)} == {"north"}
    assert network.sql("SELECT count(*) FROM clients WHERE site = 'south'", staff) == [(0,)]
    # A south client's child rows are out of reach too (the link to a south client).
    south_ids = [i for (i,) in network.sql("SELECT id FROM clients WHERE site = 'south'")]
    assert network.sql(f"SELECT count(*) FROM screenings WHERE client_id = {south_ids[0]}",
                       staff) == [(0,)]  # fmt: skip
    assert network.sql("UPDATE clients SET phase = '2' WHERE site = 'south' RETURNING id",
                       staff) == []  # fmt: skip
    refused = _refused(
        network,
        "INSERT INTO ledger (seq, at, site, kind, uid, canonical, hash) SELECT seq + 1, "
        "at, 'south', kind, uid, canonical, md5(hash) || md5(hash) FROM ledger "
        "ORDER BY seq DESC LIMIT 1",
        staff,
    )
    assert 'violates row-level security policy for table "ledger"' in refused
    refused = _refused(
        network,
        "INSERT INTO access_grants SELECT id + 1000, 'north', 'x', 'admin', granted_seq "
        "FROM access_grants LIMIT 1",
        staff,
    )
    assert "permission denied for table access_grants" in refused


def test_the_auditors_verify_compares_what_it_may_read_and_passes(network: Network) -> None:
    auditor = network.login("auditor", "north")
    result = network.run("north", "audit", "verify", url=network.url_of(auditor))
    assert result.exit_code == 0, result.stderr
    assert "records match the ledger: " in result.stdout
    assert "not compared by this login: " in result.stdout
    assert network.ok("north", "audit", "verify").stdout.count("not compared") == 0
    # What it may read it still compares: a track changed behind the program's back.
    network.sql("UPDATE clients SET track = 'evening' WHERE code = 'S-2'")
    try:
        result = network.run("north", "audit", "verify", url=network.url_of(auditor))
        assert result.exit_code == 1 and "differs from the ledger in track" in result.stderr
    finally:
        network.sql("UPDATE clients SET track = 'morning' WHERE code = 'S-2'")


def test_reads_are_logged_by_their_logins_and_the_auditor_reads_the_log_by_uid(
    network: Network,
) -> None:
    import json

    staff, auditor = network.login("staff", "north"), network.login("auditor", "north")
    (uid,) = network.sql("SELECT uid FROM clients WHERE code = 'N-1'")[0]
    # A staff login's read writes its own `viewed` entry (INSERT on the ledger is theirs).
    network.ok("north", "clients", "show", "N-1", url=network.url_of(staff))
    as_auditor = network.url_of(auditor)
    # The auditor explains and reads the log by uid, reading no code or staff name.
    explained = json.loads(
        network.ok("north", "audit", "explain", uid, "--json", url=as_auditor).stdout
    )
    assert explained["uid"] == uid and explained["code"] is None
    by_code = network.run("north", "audit", "explain", "N-1", url=as_auditor)
    assert by_code.exit_code == 2 and "by uid" in by_code.stderr
    rows = json.loads(
        network.ok("north", "audit", "access", "--client", uid, "--json", url=as_auditor).stdout
    )
    shown = [r for r in rows if r["command"] == "clients show"]
    assert shown and shown[-1]["clients"] == [uid] and "codes" not in shown[-1]
    assert shown[-1]["user"].startswith("user ")  # a pseudonym: the names are not theirs
    mine = json.loads(
        network.ok("north", "audit", "access", "--user", staff, "--json", url=as_auditor).stdout
    )
    assert [(r["user"], r["command"]) for r in mine] == [(staff, "clients show")]


def test_db_roles_again_changes_nothing_and_a_login_leaves_its_group(network: Network) -> None:
    clinician = network.login("clinician", "south")
    network.ok("north", "db", "roles")  # idempotent: the roles are there already
    member = f"SELECT pg_has_role('{clinician}', 'screening_clinician', 'MEMBER')"
    assert network.sql(member) == [(True,)]
    network.owner(lambda connection: revoke_group(connection, clinician, "clinician"))
    assert network.sql(member) == [(True,)]  # its grant is still in force
    network.ok("south", "access", "revoke", clinician, "clinician", "--site", "south")
    network.owner(lambda connection: revoke_group(connection, clinician, "clinician"))
    assert network.sql(member) == [(False,)]


def test_a_login_that_does_not_exist_is_named_with_how_to_create_it(network: Network) -> None:
    with pytest.raises(BadInput, match=r'CREATE ROLE "t_nobody_here" LOGIN'):
        network.owner(lambda connection: grant_group(connection, "t_nobody_here", "staff"))


def test_db_roles_on_sqlite_says_the_file_is_the_boundary(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'screening.db'}"
    assert runner.invoke(app, ["--db", url, "init", "--timezone", "UTC"]).exit_code == 0
    result = runner.invoke(app, ["--db", url, "db", "roles"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "init --group" in result.stderr


def test_an_admin_cannot_put_a_login_in_a_group_by_hand(network: Network) -> None:
    """Membership follows a recorded grant: an admin calling the server's function from
    psql for a grant nobody recorded is refused by the server."""
    admin = network.login("admin", "north")
    auditor = network.login("auditor", "north")
    schema = network.url.rsplit("search_path%3D", 1)[1]
    refused = _refused(
        network, f"SELECT {schema}.screening_grant_group('{auditor}', 'staff')", admin
    )
    assert f"no grant of staff to {auditor} is recorded" in refused
    assert "permission denied" in _refused(network, "SELECT name FROM clients", auditor)


def test_an_auditors_login_is_its_own(network: Network) -> None:
    """A login that both works and audits would read whole rows at every site (the
    working group's columns, the auditor's reach): `access grant` refuses to make one."""
    staff = network.login("staff", "north")
    refused = network.run("north", "access", "grant", staff, "auditor", "--site", "north")
    assert refused.exit_code == 2
    assert "an auditor's login is its own" in refused.stderr
    assert [login for (login,) in network.sql("SELECT login FROM access_grants WHERE role = "
            "'auditor'")].count(staff) == 0  # fmt: skip


def test_a_site_admins_verify_of_a_network_says_what_it_cannot_see(network: Network) -> None:
    """Row-level security keeps a north admin to north's rows; verify, which compares
    every site's rows with the ledger, says so (exit 3) instead of calling the hidden
    rows removed."""
    admin = network.login("admin", "north")
    result = network.run("north", "audit", "verify", url=network.url_of(admin))
    assert result.exit_code == 3, result.stderr
    assert "cannot read the rows of site south" in result.stderr
    assert "removed" not in result.stderr and "gone" not in result.stderr


def test_an_entry_in_another_logins_name_is_refused_or_named(tmp_path: Path) -> None:
    """A staff login with psql appending a well-chained `viewed` entry that names the
    clinician as its reader: the server refuses the row in the clinician's name, and
    in its own name the entry is named by verify (the row keeps who wrote it)."""
    from datetime import UTC, datetime

    from screening.core.canonical import private_digest
    from screening.core.ledger import make_entry

    urls = _pg_schema_url()
    made = Network(tmp_path, next(urls))
    try:
        made.ok("main", "init", "--site", "main", "--timezone", "America/Chicago")
        made.ok("main", "access", "grant", sa.make_url(made.url).username or "", "staff")
        made.ok("main", "clients", "add", "C-1", "--track", "morning", "--phase", "1")
        staff, clinician = made.login("staff", "main"), made.login("clinician", "main")
        (salt,) = made.sql("SELECT salt FROM sites WHERE name = 'main'")[0]
        (uid,) = made.sql("SELECT uid FROM clients")[0]
        seq, prev = made.sql("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")[0]
        entry = make_entry(
            seq=seq + 1, prev=prev, at=datetime.now(UTC).replace(microsecond=0),
            actor={"login_digest": private_digest(salt, clinician),
                   "os_digest": private_digest(salt, "root")},
            site="main", kind="viewed", body={"command": "timeline", "clients": [uid]},
        )  # fmt: skip

        def insert(login: str | None) -> None:
            columns = "seq, at, site, kind, canonical, hash" + (", login" if login else "")
            values = [entry.seq, entry.at, "main", "viewed", entry.canonical, entry.hash]
            engine = sa.create_engine(made.url_of(staff))
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"INSERT INTO ledger ({columns}) VALUES (%s, %s, %s, %s, %s, %s"
                        + (", %s)" if login else ")"),
                        tuple(values + ([login] if login else [])),
                    )
            finally:
                engine.dispose()

        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            insert(clinician)  # the row in the clinician's name
        insert(None)  # in its own name: the server's default
        result = made.run("main", "audit", "verify")
        assert result.exit_code == 1
        assert (
            f"entry {entry.seq} was written by the database login '{staff}', but it names "
            "another user as its writer" in result.stderr
        )
    finally:
        for name in made.logins:
            made.sql(f'DROP OWNED BY "{name}"')
            made.sql(f'DROP ROLE "{name}"')
        urls.close()


def test_a_login_without_a_grant_here_is_told_so_not_that_the_tables_are_gone(
    network: Network,
) -> None:
    """A new login, and one in a group role through another clinic's schema: neither
    holds a role here, and each is refused (exit 4) saying so, not told to restore a
    database whose tables it merely may not see."""
    fresh, elsewhere = f"t_login_{secrets.token_hex(4)}", f"t_login_{secrets.token_hex(4)}"
    for name in (fresh, elsewhere):
        network.sql(f'CREATE ROLE "{name}" LOGIN')
        network.logins.append(name)
    network.sql(f'GRANT screening_staff TO "{elsewhere}"')
    shut = network.run("north", "today", url=network.url_of(fresh))
    assert shut.exit_code == 4, shut.stderr
    assert f"the database login {fresh} may not use this clinic's tables" in shut.stderr
    hidden = network.run("north", "today", url=network.url_of(elsewhere))
    assert hidden.exit_code == 4, hidden.stderr
    assert f"you ({elsewhere}) hold no role there" in hidden.stderr
    for refused in (shut, hidden):
        assert "restore" not in refused.stderr and len(refused.stderr.splitlines()) == 1


def test_the_auditor_records_an_exports_disclosure_but_reads_no_recipient(
    network: Network,
) -> None:
    """An export is a disclosure (§2.53): the auditor's login writes its entry and its
    `disclosures` row at its own sites, and reads neither a consent's recipient nor a
    disclosure's (nor the form's other words), only what is pseudonymous."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.disclosure import record_audit
    from screening.services.plumbing import Actor, Context
    from screening.services.records.upkeep import recording
    from tests.conftest import ME

    auditor, clinician = network.login("auditor", "north"), network.login("clinician", "north")
    signed = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    network.ok("north", "consent", "add", "N-1", "--type", "named", "--recipient",
               "Pat Example", "--purpose", "employment", "--share", "attendance",
               "--expires", "end-of-treatment", "--signed", signed, "--signed-by", "client",
               "--how-to-revoke", "in writing", url=network.url_of(clinician))  # fmt: skip
    settings = config.load(network.folder / "north" / "screening.toml")
    database = Database(resolve_url(network.url_of(auditor), settings.folder))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        ctx = Context(settings, database, Actor(ME, None, auditor), now,
                      now.astimezone(settings.zone).date(),
                      roles=frozenset({"auditor"}), command="audit export")  # fmt: skip
        with recording(ctx) as (session, writer):
            record_audit(session, writer, ctx, "State Auditor", "audit", "0" * 64)
    finally:
        database.dispose()
    assert network.sql("SELECT recipient FROM disclosures WHERE basis = 'audit'")[-1] == (
        "State Auditor",
    )
    for statement in (
        "SELECT recipient FROM consents",
        "SELECT signed_by FROM consents",
        "SELECT recipient FROM disclosures",
        "SELECT note FROM restrictions",
    ):
        assert "permission denied" in _refused(network, statement, auditor), statement
    assert network.sql("SELECT type, shares FROM consents", auditor)[-1] == (
        "named",
        '["attendance"]',
    )
    # Not at another site's rows.
    refused = _refused(
        network,
        "INSERT INTO disclosures (id, site, seq, basis, recipient, salt, purpose, what, "
        "form, content) SELECT id + 1000, 'south', seq, basis, 'x', '', purpose, what, "
        "form, content FROM disclosures LIMIT 1",
        auditor,
    )
    assert 'violates row-level security policy for table "disclosures"' in refused
    # Nor a letter's row at its own site: one in another form, or one under a consent.
    for form, consent in (("'html'", "NULL"), ("'ledger'", "(SELECT max(id) FROM consents)")):
        refused = _refused(
            network,
            "INSERT INTO disclosures (id, site, seq, basis, consent_id, recipient, salt, "
            f"purpose, what, form, content) SELECT id + 1000, site, seq, basis, {consent}, "
            f"'x', '', purpose, what, {form}, content FROM disclosures WHERE basis = 'audit'",
            auditor,
        )
        assert 'violates row-level security policy for table "disclosures"' in refused, form
    result = network.run("north", "audit", "verify", url=network.url_of(auditor))
    assert result.exit_code == 0, result.stderr


def test_a_site_admin_verifies_its_own_site_of_the_network(network: Network) -> None:
    """Row-level security hides south's rows from a north admin, but every login reads
    the ledger: `--site north` checks the whole chain and compares north's rows."""
    admin = network.login("admin", "north")
    result = network.run("north", "audit", "verify", "--site", "north", url=network.url_of(admin))
    assert result.exit_code == 0, result.stderr
    assert "site north only: every entry's hash and link checked" in result.stdout
    refused = network.run("north", "audit", "verify", "--site", "south", url=network.url_of(admin))
    assert refused.exit_code == 3 and "cannot read the rows of site south" in refused.stderr
