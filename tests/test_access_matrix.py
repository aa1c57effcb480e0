"""Every command, run as every role, on both backends (PostgreSQL's run is in
tests/test_access_matrix_pg.py, so that the two run at once): exit 0 where docs/access.md says
the role may run it, exit 4 (and nothing written) where it may not.

The users are real: on SQLite four OS users of one group working on one clinic made
with `init --group` (each command forked and run as that user: tests/logins.py); on
PostgreSQL four database logins, each connecting as itself. docs/access.md is the table
of screening/core/access.py, which the CLI checks; a command the app has and the table
lacks fails here.
"""

from __future__ import annotations

import grp
import importlib.util
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import typer.main

from screening.cli import app
from screening.cli.grammar import walk
from screening.core.access import COMMANDS, ROLES
from tests.conftest import ME, PG_URL, _pg_schema_url
from tests.logins import Run, as_user, cli, os_users, tag

ROOT = Path(__file__).resolve().parent.parent
ZONE = "America/New_York"

# `demo` opens no clinic and is run by tests/test_demo.py and the README's test; it makes
# two months of history (seconds), so it is not run here four times over.
NOT_RUN_HERE = {"demo"}

# Allowed by the role, and then refused by the backend in one line: a command of the
# other backend (it says what to use instead), or, on PostgreSQL, a change of the
# tables' privileges that only their owner may make (exit 3: it names the owner).
BACKEND_SAYS = {
    ("db backup", "postgresql"): 3,
    ("db roles", "sqlite"): 2,
    ("db roles", "postgresql"): 3,
    ("db upgrade", "postgresql"): 3,
}


def test_the_table_names_every_command_of_the_app() -> None:
    root = typer.main.get_command(app)
    commands = {" ".join(path) for path, command in walk(root) if not hasattr(command, "commands")}
    assert commands == set(COMMANDS), commands ^ set(COMMANDS)


def test_docs_access_md_is_the_table_the_cli_checks() -> None:
    spec = importlib.util.spec_from_file_location("make_access_md", ROOT / "docs/make_access_md.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = (ROOT / "docs/access.md").read_text(encoding="utf-8")
    assert written == module.text(), "docs/access.md is stale: run python docs/make_access_md.py"
    for role in ROLES:
        assert f"| `{role}` |" in written


# --- the clinic every role works on ---------------------------------------------------

NEW_CLIENTS = "code,name,track,phase,admitted_on,medications\nI-1,Ivy Example,morning,1,,\n"


@dataclass
class Clinic:
    backend: str
    folder: Path
    url: str  # the owner's (root's, or the server's superuser's)
    users: dict[str, Any]  # role -> OS user (SQLite) or login name (PostgreSQL)
    today: datetime
    ids: dict[str, str] = field(default_factory=dict)

    def as_role(self, role: str | None, *args: str, stop_after: float | None = None) -> Run:
        """The command as the user holding ``role`` (None: the owner, in this process)."""
        base = [] if args[0] == "--config" else ["--config", str(self.folder / "screening.toml")]
        base = ["--debug", *base]  # an unexpected error shows its traceback here
        if self.backend == "postgresql" and base:
            url = self.url if role is None else _login_url(self.url, self.users[role])
            base += ["--db", url]
        work = cli(*base, *args)
        if stop_after is not None:
            work = _stopped(work, stop_after)
        if self.backend == "sqlite":
            user = None if role is None else self.users[role]
            return Run(*as_user(user, work, fork=stop_after is not None))
        return Run(*as_user(None, work, fork=stop_after is not None))

    def owner(self, *args: str) -> Run:
        done = self.as_role(None, *args)
        assert done.code == 0, (args, done.stderr, done.crash)
        return done

    def ledger_size(self) -> int:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(sa.text("SELECT count(*) FROM ledger")).scalar())
        finally:
            engine.dispose()

    def one(self, sql: str) -> str:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as connection:
                return str(connection.execute(sa.text(sql)).scalar())
        finally:
            engine.dispose()


def _login_url(url: str, login: str) -> str:
    return sa.make_url(url).set(username=login).render_as_string(hide_password=False)


def _stopped(work: Callable[[], Any], seconds: float) -> Callable[[], Any]:
    """``work`` (the daily job, which runs until stopped) stopped with SIGTERM, as
    systemd stops it, after ``seconds``."""

    def stopped() -> Any:
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return work()

    return stopped


def _day(clinic: Clinic, days: int) -> str:
    return (clinic.today + timedelta(days=days)).date().isoformat()


def _set_up(clinic: Clinic) -> None:
    """What the matrix acts on, made by the owner (who holds every role)."""
    roster = [
        "code,name,track,phase,admitted_on,medications",
        *(f"{code},{code} Example,morning,1,{_day(clinic, -10)}," for code in CLIENTS),
    ]
    (clinic.folder / "roster.csv").write_text("\n".join(roster) + "\n")
    clinic.owner("clients", "import", str(clinic.folder / "roster.csv"))
    clinic.owner(
        "clients", "discharge", "C-8", "--on", _day(clinic, -1), "--reason", "completed program"
    )
    for code in ("C-3", "C-5"):
        clinic.owner(
            "clients", "hold", code, "--from", _day(clinic, 20), "--to", _day(clinic, 22),
            "--reason", "travel",
        )  # fmt: skip
    for code in ("P-1", "P-2", "P-3", "N-1", "N-2", "N-3", "R-1", "L-1", "M-1", "A-1"):
        clinic.owner("results", "for-cause", code, "--reason", "matrix set-up")
    clinic.owner("results", "record", "L-1", "--sent-to-lab", "--specimen-id", "LAB-M1")
    clinic.owner("results", "record", "A-1", "--specimen-id", "SP-A1")
    clinic.owner("results", "no-show", "M-1")
    # Consents to show and to revoke (one for each role that may), and a restriction to lift.
    for _ in range(3):
        clinic.owner(*_consent_args(clinic, "C-1", "Owner"))
    clinic.owner("consent", "restrict", "C-4")
    clinic.owner(
        "consent", "add", "A-1", "--type", "named", "--recipient", EXPORT_TO, "--purpose",
        "treatment", "--share", "results,missed", "--expires", "end-of-treatment", "--signed",
        _day(clinic, 0), "--signed-by", "client", "--how-to-revoke", "in writing to the program",
    )  # fmt: skip
    # what the export imports, imported here by a preview (which records no disclosure)
    clinic.owner(*EXPORT_A1, "--preview")
    (clinic.folder / "lab.csv").write_text(
        "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id\n"
        "LAB-M1,,BUP,negative,,,lc-ms/ms,R-M1\n"
    )
    (clinic.folder / "new-clients.csv").write_text(NEW_CLIENTS)
    clinic.ids["uid"] = clinic.one("SELECT uid FROM clients WHERE code = 'C-1'")
    for name, code in (("hold-end", "C-3"), ("hold-withdraw", "C-5")):
        clinic.ids[name] = clinic.one(
            f"SELECT h.id FROM holds h JOIN clients c ON c.id = h.client_id WHERE c.code = '{code}'"
        )
    clinic.ids["missed"] = clinic.one(
        "SELECT s.id FROM screenings s JOIN clients c ON c.id = s.client_id "
        "WHERE c.code = 'M-1' AND s.status = 'no_show'"
    )
    _consent(clinic)
    # Each reading command once, by the owner in this process: a forked child runs as a
    # user who cannot read the interpreter's own files (under /root), so what the
    # commands import must be imported before (tests/logins.py).
    for command in WARM_UP:
        clinic.owner(*ARGS[command](clinic, "admin"))
    _warm_the_daily_job()
    # What a progress letter imports, without recording a disclosure (see WARM_UP).
    clinic.owner("report", "progress", "C-1", "--recipient", RECIPIENT, "--preview")


RECIPIENT = "Matrix County Drug Court"


def _consent(clinic: Clinic) -> None:
    """C-1's consent to a named recipient, for `report progress`."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.disclosure import add_consent
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    database = Database(resolve_url(clinic.url, clinic.folder), settings.database_group)
    ctx = Context(settings, database, Actor(ME), now, clinic.today.date())
    try:
        add_consent(
            ctx, "C-1", type="named", recipient=RECIPIENT, recipient_class=None,
            purpose="monitoring", detail=None, shares="attendance,results",
            expires="end-of-treatment", signed=_day(clinic, -1), signed_by="client",
            how_to_revoke="in writing", revocable_from=None, covers_from=None,
        )  # fmt: skip
    finally:
        ctx.database.dispose()


CLIENTS = [
    "C-1",
    "C-2",
    "C-3",
    "C-4",
    "C-5",
    "C-7",
    "C-8",
    "F-1",
    "F-2",
    "P-1",
    "P-2",
    "P-3",
    "N-1",
    "N-2",
    "N-3",
    "R-1",
    "L-1",
    "M-1",
    "A-1",
]


def _consent_args(clinic: Clinic, code: str, role: str) -> list[str]:
    return [
        "consent", "add", code, "--type", "named", "--recipient", f"{role} Example",
        "--purpose", "employment", "--share", "attendance", "--expires", _day(clinic, 60),
        "--signed", _day(clinic, -1), "--signed-by", "client", "--how-to-revoke",
        "tell any staff member",
    ]  # fmt: skip


def _out(clinic: Clinic, role: str, name: str) -> str:
    """A path in a folder the role's user may write to."""
    folder = clinic.folder / f"out-{role}"
    if not folder.exists():
        folder.mkdir()
        if clinic.backend == "sqlite":
            os.chown(folder, clinic.users[role].pw_uid, -1)
    return str(folder / name)


def _drop_folder(clinic: Clinic, role: str) -> str:
    """An empty drop folder the role's user may write to (its lock file)."""
    folder = Path(_out(clinic, role, "lab-drop"))
    if not folder.exists():
        folder.mkdir()
        if clinic.backend == "sqlite":
            os.chown(folder, clinic.users[role].pw_uid, -1)
    return str(folder)


EXPORT_TO = "Eastside Primary Care"
EXPORT_A1 = ["results", "export", "A-1", "--recipient", EXPORT_TO, "--format", "fhir"]

# Each command's arguments, for the role running it: each allowed role's run must
# succeed, so a command that two roles may run acts on a different client for each.
Args = Callable[[Clinic, str], list[str]]
N = {role: number for number, role in enumerate(ROLES)}

ARGS: dict[str, Args] = {
    "init": lambda c, r: [
        "--config",
        _out(c, r, "new/screening.toml"),
        "--db",
        f"sqlite:///{_out(c, r, 'new/screening.db')}",
        "init",
        "--timezone",
        ZONE,
    ],
    "config check": lambda c, r: ["config", "check"],
    "db upgrade": lambda c, r: ["db", "upgrade"],
    "db backup": lambda c, r: ["db", "backup", _out(c, r, "copy.db")],
    "db roles": lambda c, r: ["db", "roles"],
    "site show": lambda c, r: ["site", "show"],
    "site timezone": lambda c, r: ["site", "timezone", "America/Chicago", "--reason", "moved"],
    "policy show": lambda c, r: ["policy", "show"],
    "policy simulate": lambda c, r: ["policy", "simulate", "--days", "28"],
    "schedule next": lambda c, r: ["schedule", "next"],
    "schedule unit": lambda c, r: ["schedule", "unit"],
    "schedule run": lambda c, r: ["schedule", "run"],
    "access grant": lambda c, r: ["access", "grant", _name(c, "staff"), "clinician"],
    "access list": lambda c, r: ["access", "list"],
    "access revoke": lambda c, r: ["access", "revoke", _name(c, "staff"), "clinician"],
    "clients add": lambda c, r: ["clients", "add", "D-1", "--track", "morning", "--phase", "1"],
    "clients import": lambda c, r: ["clients", "import", str(c.folder / "new-clients.csv")],
    "clients discharge": lambda c, r: ["clients", "discharge", "C-7", "--reason", "moved away"],
    "clients readmit": lambda c, r: ["clients", "readmit", "C-8"],
    "clients update": lambda c, r: [
        "clients",
        "update",
        "C-4",
        "--phase",
        {"admin": "2", "clinician": "3"}.get(r, "2"),
    ],
    "clients list": lambda c, r: ["clients", "list"],
    "clients show": lambda c, r: ["clients", "show", "C-1"],
    "clients hold": lambda c, r: [
        "clients",
        "hold",
        "C-2",
        "--from",
        _day(c, 10),
        "--to",
        _day(c, 12),
        "--reason",
        "leave",
    ],
    "clients hold-end": lambda c, r: [
        "clients",
        "hold-end",
        "C-3",
        "--hold",
        c.ids["hold-end"],
        "--to",
        _day(c, 21),
        "--reason",
        "back early",
    ],
    "clients hold-withdraw": lambda c, r: [
        "clients",
        "hold-withdraw",
        "C-5",
        "--hold",
        c.ids["hold-withdraw"],
        "--reason",
        "wrong client",
    ],
    "close": lambda c, r: ["close", _day(c, 40 + N[r]), "--reason", "holiday"],
    "select": lambda c, r: ["select"],
    "today": lambda c, r: ["today"],
    "results record": lambda c, r: ["results", "record", "R-1"],
    "results no-show": lambda c, r: ["results", "no-show", "N-1"],
    "results refused": lambda c, r: ["results", "refused", "N-2", "--reason", "declined"],
    "results unable": lambda c, r: ["results", "unable", "N-3"],
    "results cancel": lambda c, r: ["results", "cancel", f"P-{N[r]}", "--reason", "in error"],
    "results for-cause": lambda c, r: ["results", "for-cause", f"F-{N[r]}", "--reason", "seen"],
    "results import": lambda c, r: ["results", "import", str(c.folder / "lab.csv")],
    "results watch": lambda c, r: ["results", "watch", _drop_folder(c, r), "--once"],
    "results list": lambda c, r: ["results", "list"],
    "results pending": lambda c, r: ["results", "pending"],
    "results show": lambda c, r: ["results", "show", "SP-A1"],
    "results export": lambda c, r: [*EXPORT_A1, "--out", _out(c, r, "A-1.json")],
    "results excuse": lambda c, r: [
        "results",
        "excuse",
        "P-3",
        "--reason",
        "medical",
        "--approved-by",
        "Dr A. Lee",
    ],
    "results amend": lambda c, r: [
        "results",
        "amend",
        "SP-A1",
        "--reason",
        "data_entry_error",
        "--note",
        "keyed wrong",
        "--positive",
        "THC",
    ],
    "results reverse": lambda c, r: [
        "results",
        "reverse",
        c.ids["missed"],
        "--reason",
        "was in group",
        "--approved-by",
        "Dr A. Lee",
    ],
    "consent add": lambda c, r: _consent_args(c, "C-2", r),
    "consent list": lambda c, r: ["consent", "list", "--all"],
    "consent show": lambda c, r: ["consent", "show", "1"],
    "consent revoke": lambda c, r: [
        "consent",
        "revoke",
        {"staff": "2", "clinician": "3"}.get(r, "2"),
        "--reason",
        "client_request",
    ],
    "consent restrict": lambda c, r: ["consent", "restrict", "C-2", "--note", "asked"],
    "consent lift": lambda c, r: ["consent", "lift", "C-4"],
    "timeline": lambda c, r: ["timeline", "C-1"],
    "report team": lambda c, r: ["report", "team"],
    "report reconcile": lambda c, r: ["report", "reconcile"],
    "report progress": lambda c, r: ["report", "progress", "C-1", "--recipient", RECIPIENT],
    "audit verify": lambda c, r: ["audit", "verify"],
    "audit checkpoint": lambda c, r: ["audit", "checkpoint"],
    "audit reveal": lambda c, r: ["audit", "reveal"],
    "audit fairness": lambda c, r: ["audit", "fairness"],
    "audit explain": lambda c, r: ["audit", "explain", c.ids["uid"] if r == "auditor" else "C-1"],
    # today's draw, which `select` made (ORDER runs this after it)
    "audit receipt": lambda c, r: [
        "audit",
        "receipt",
        c.ids["uid"] if r == "auditor" else "C-1",
        _day(c, 0),
        "--out",
        _out(c, r, "receipt.txt"),
    ],
    "audit export": lambda c, r: [
        "audit",
        "export",
        _out(c, r, "export"),
        "--to",
        "State Auditor",
        "--purpose",
        "audit",
    ],
    "audit access": lambda c, r: ["audit", "access", "--client", c.ids["uid"]],
    "audit disclosures": lambda c, r: [
        "audit",
        "disclosures",
        "--client",
        c.ids["uid"] if r == "auditor" else "C-1",
    ],
}

WARM_UP = (
    "today", "timeline", "report team", "report reconcile", "results list", "results pending",
    "results show", "clients list", "clients show", "policy show", "policy simulate",
    "schedule next", "schedule unit", "site show", "access list", "audit verify",
    "audit fairness", "audit checkpoint", "audit disclosures", "consent list", "consent show",
)  # fmt: skip

# The order commands run in: the table's, but a change of time zone last (it edits the
# config the others read), a receipt after the draw it is of, and the hold ended before
# it is withdrawn.
ORDER = sorted(ARGS, key=lambda name: (name == "site timezone", name == "audit receipt", name))


def _name(clinic: Clinic, role: str) -> str:
    user = clinic.users[role]
    return user if isinstance(user, str) else user.pw_name


def sqlite_clinic() -> Iterator[Clinic]:
    """The clinic on SQLite: four OS users of one group, made for the test."""
    if os.geteuid() != 0:
        pytest.skip("adds OS users and a group (useradd, groupadd): run as root, as CI does")
    suffix = tag()
    folder = Path(tempfile.mkdtemp(prefix="screening-matrix-"))
    names = [f"mx{suffix}{role[:2]}" for role in ROLES]
    try:
        with os_users(names, group=f"mx{suffix}") as users:
            os.chown(folder, -1, grp.getgrnam(f"mx{suffix}").gr_gid)
            os.chmod(folder, 0o2770)
            url = f"sqlite:///{folder / 'screening.db'}"
            made = Clinic("sqlite", folder, url, dict(zip(ROLES, users, strict=True)), _now())
            made.owner("init", "--timezone", ZONE, "--group", f"mx{suffix}")
            yield from _with_roles(made)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def postgresql_clinic() -> Iterator[Clinic]:
    """The clinic on PostgreSQL, in a schema of its own: four database logins."""
    if not PG_URL:
        pytest.skip("SCREENING_TEST_DATABASE_URL is not set (.ci/run sets it)")
    names = [f"mx{tag()}{role[:2]}" for role in ROLES]
    folder = Path(tempfile.mkdtemp(prefix="screening-matrix-"))
    urls = _pg_schema_url()
    url = next(urls)
    _make_logins(url, names)
    try:
        made = Clinic("postgresql", folder, url, dict(zip(ROLES, names, strict=True)), _now())
        made.owner("init", "--timezone", ZONE)
        yield from _with_roles(made)
    finally:
        _drop_logins(url, names)
        urls.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def clinic() -> Iterator[Clinic]:
    # PostgreSQL's run is tests/test_access_matrix_pg.py's: a file to a worker (xdist).
    yield from sqlite_clinic()


def _with_roles(made: Clinic) -> Iterator[Clinic]:
    owner = ME if made.backend == "sqlite" else sa.make_url(made.url).username
    made.owner("access", "grant", str(owner), "staff", "clinician", "auditor")
    for role in ROLES:
        made.owner("access", "grant", _name(made, role), role)
    _set_up(made)
    yield made


def _warm_the_daily_job() -> None:
    """What `schedule run` imports, imported here (see WARM_UP)."""
    import concurrent.futures.thread  # noqa: F401

    import apscheduler.schedulers.blocking  # type: ignore[import-untyped]  # noqa: F401
    import apscheduler.triggers.interval  # type: ignore[import-untyped]  # noqa: F401

    import screening.render.day_list  # noqa: F401
    import screening.services.daily.delivery  # noqa: F401
    import screening.services.daily.fire_times  # noqa: F401


def _now() -> datetime:
    return datetime.now(ZoneInfo(ZONE))


def _make_logins(url: str, names: list[str]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for name in names:
                connection.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
    finally:
        engine.dispose()


def _drop_logins(url: str, names: list[str]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for name in names:
                connection.exec_driver_sql(f'DROP OWNED BY "{name}"')
                connection.exec_driver_sql(f'DROP ROLE "{name}"')
    finally:
        engine.dispose()


def test_every_command_as_every_role(clinic: Clinic) -> None:
    wrong: list[str] = []
    for command in ORDER:
        if command in NOT_RUN_HERE:
            continue
        allowed = COMMANDS[command]
        for role in ROLES:
            args = ARGS[command](clinic, role)
            before = clinic.ledger_size()
            stop = 3.0 if command == "schedule run" and role in allowed else None
            ran = clinic.as_role(role, *args, stop_after=stop)
            permitted = not allowed or role in allowed
            if not permitted:
                expected = 4
            elif (command, clinic.backend) in BACKEND_SAYS:
                expected = BACKEND_SAYS[(command, clinic.backend)]
            else:
                expected = 0
            if ran.code != expected or ran.crash:
                wrong.append(
                    f"{command} as {role}: exit {ran.code}, expected {expected}: "
                    f"{ran.stderr.strip()[:300]}{ran.crash[-300:]}"
                )
                continue
            if not permitted:
                line = ran.stderr.strip()
                assert len(line.splitlines()) == 1 and f"`screening {command}` needs" in line
                assert "screening access grant" in line, line
                # The run was that user's own: the refusal names them.
                assert f"you ({_name(clinic, role)}) hold {role}" in line, line
                assert clinic.ledger_size() == before, f"{command} as {role} wrote"
    assert not wrong, "\n".join(wrong)
