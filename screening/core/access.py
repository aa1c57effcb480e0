"""Who may run what: the four roles and the one table of commands the CLI checks
(docs/access.md is generated from it; tests/test_access_matrix.py runs every command as
every role against it).

42 CFR Part 2 and HIPAA §164.312(a) ask for access by role: staff draw and record, the
clinicians read charts and correct results, the admin sets the clinic up, and auditors
check the record without seeing who the clients are.
"""

from __future__ import annotations

import re

ADMIN, STAFF, CLINICIAN, AUDITOR = "admin", "staff", "clinician", "auditor"
ROLES = (ADMIN, STAFF, CLINICIAN, AUDITOR)
# The roles that change the clinic's records (the auditor only reads them).
WORKING = (ADMIN, STAFF, CLINICIAN)

ROLE_JOBS = {
    ADMIN: "set-up, config, policy, site changes, enrol/discharge/readmit, key rotation, "
    "grant roles, backups",
    STAFF: "draw, today's list, record collections and misses, holds, closures, lab import, "
    "pending/list",
    CLINICIAN: "timelines, team report, reconcile, amendments, excusal approvals, phase changes",
    AUDITOR: "verify, fairness, explain, receipts, checkpoint, export; sees uids, never names "
    "or codes",
}

EVERYONE = frozenset(ROLES)

# Commands that open no clinic records need no role: `config check` and `schedule unit`
# read only the config, `demo` makes a clinic of its own, and `init` makes a new one
# (its user becomes its first admin; a new site in a database that has admins already
# needs one of them).
NO_ROLE: frozenset[str] = frozenset()


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


COMMANDS: dict[str, frozenset[str]] = {
    # set-up and upkeep
    "init": NO_ROLE,
    "demo": NO_ROLE,
    "config check": NO_ROLE,
    "db upgrade": _roles(ADMIN),
    "db backup": _roles(ADMIN),
    "db roles": _roles(ADMIN),
    "site show": EVERYONE,
    "site timezone": _roles(ADMIN),
    "policy show": EVERYONE,
    "policy simulate": _roles(ADMIN, CLINICIAN, AUDITOR),
    "schedule next": EVERYONE,
    "schedule unit": NO_ROLE,
    # the daily job draws and delivers the list: the login it runs as needs staff
    "schedule run": _roles(STAFF),
    # who may do what
    "access grant": _roles(ADMIN),
    "access revoke": _roles(ADMIN),
    "access list": _roles(ADMIN, AUDITOR),
    # the roster
    "clients add": _roles(ADMIN),
    "clients import": _roles(ADMIN),
    "clients discharge": _roles(ADMIN),
    "clients readmit": _roles(ADMIN),
    "clients update": _roles(ADMIN, CLINICIAN),
    "clients list": _roles(ADMIN, STAFF, CLINICIAN),
    "clients show": _roles(ADMIN, STAFF, CLINICIAN),
    "clients hold": _roles(STAFF),
    "clients hold-end": _roles(STAFF),
    "clients hold-withdraw": _roles(STAFF),
    "close": _roles(ADMIN, STAFF),
    # the day's work
    "select": _roles(STAFF),
    "today": _roles(STAFF, CLINICIAN),
    "results record": _roles(STAFF),
    "results no-show": _roles(STAFF),
    "results refused": _roles(STAFF),
    "results unable": _roles(STAFF),
    "results cancel": _roles(STAFF, CLINICIAN),
    "results for-cause": _roles(STAFF, CLINICIAN),
    "results import": _roles(STAFF),
    "results watch": _roles(STAFF),
    "results list": _roles(STAFF, CLINICIAN),
    "results pending": _roles(STAFF, CLINICIAN),
    "results show": _roles(STAFF, CLINICIAN),
    # clinical review and corrections
    "results excuse": _roles(CLINICIAN),
    "results amend": _roles(CLINICIAN),
    "results reverse": _roles(CLINICIAN),
    "timeline": _roles(CLINICIAN),
    "report team": _roles(CLINICIAN),
    "report reconcile": _roles(CLINICIAN),
    # consents and what leaves the program under them (42 CFR Part 2)
    "consent add": _roles(STAFF, CLINICIAN),
    "consent revoke": _roles(STAFF, CLINICIAN),
    "consent list": _roles(ADMIN, STAFF, CLINICIAN),
    "consent show": _roles(ADMIN, STAFF, CLINICIAN),
    "consent restrict": _roles(CLINICIAN),
    "consent lift": _roles(CLINICIAN),
    "report progress": _roles(CLINICIAN),
    "results export": _roles(CLINICIAN),
    # the audit
    "audit verify": _roles(ADMIN, AUDITOR),
    "audit checkpoint": _roles(ADMIN, AUDITOR),
    # reveals the keys of days past, as every write's upkeep does (it changes draws)
    "audit reveal": _roles(ADMIN, STAFF),
    "audit fairness": _roles(AUDITOR),
    "audit explain": _roles(AUDITOR, CLINICIAN),
    "audit receipt": _roles(AUDITOR, CLINICIAN),
    "audit export": _roles(AUDITOR),
    "audit access": _roles(ADMIN, AUDITOR),
    "audit disclosures": _roles(ADMIN, CLINICIAN, AUDITOR),
}


def roles_for(command: str) -> frozenset[str]:
    """The roles that may run ``command`` ("results record"); KeyError for a command the
    table does not name (a test keeps every command of the app in it)."""
    return COMMANDS[command]


def role_list(text: str) -> list[str]:
    """Roles typed as one or more words ("staff clinician", "staff,clinician")."""
    names = [part for part in re.split(r"[\s,;]+", text.strip().lower()) if part]
    unknown = [name for name in names if name not in ROLES]
    if unknown or not names:
        raise ValueError(
            f"{', '.join(repr(n) for n in unknown) or 'nothing'} is not a role; the roles "
            f"are {', '.join(ROLES)}"
        )
    return list(dict.fromkeys(names))


def either(roles: frozenset[str] | set[str]) -> str:
    """ "the staff or clinician role", in the table's order."""
    named = [role for role in ROLES if role in roles]
    if len(named) == 1:
        return f"the {named[0]} role"
    return f"the {', '.join(named[:-1])} or {named[-1]} role"


def markdown_table() -> str:
    """docs/access.md's tables: the roles, then every command and who may run it."""
    lines = ["| role | may |", "|---|---|"]
    lines += [f"| `{role}` | {ROLE_JOBS[role]} |" for role in ROLES]
    lines += ["", "| command | " + " | ".join(ROLES) + " |", "|---" * (len(ROLES) + 1) + "|"]
    for command in sorted(COMMANDS):
        allowed = COMMANDS[command]
        if not allowed:
            marks = ["any user (no clinic records)"] + [""] * (len(ROLES) - 1)
        else:
            marks = ["yes" if role in allowed else "—" for role in ROLES]
        lines.append(f"| `screening {command}` | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"
