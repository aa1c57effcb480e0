"""Write docs/access.md: the prose below and the tables of screening/core/access.py, the
table the CLI checks (tests/test_access_matrix.py fails when the two differ).

    python docs/make_access_md.py
"""

from __future__ import annotations

from pathlib import Path

from screening.core.access import markdown_table

HEAD = """# Who may do what

Substance-use treatment records (42 CFR Part 2; HIPAA §164.312(a) access control and
§164.312(b) audit controls) are opened only by the people whose work needs them. Every
`screening` command checks the user's role at the site before it does anything, and
refuses with exit code 4 and one line naming the role it needs and who can grant it.
Nothing is written by a refused command.

## Who the user is

- On **SQLite**: the operating system's login the command runs as (as `whoami` prints
  it, read from the system's own records, not from `$USER`).
- On **PostgreSQL**: the database login (`session_user`), which the server itself checks.
- `--actor NAME` stays a label beside the user, for the person at a shared workstation;
  it grants nothing.

Roles are granted and revoked by an admin, each change a `role` entry in the ledger
(docs/ledger-format.md). Editing the config grants nothing.

```
screening access grant jlee staff                    # one role
screening access grant mrivera clinician auditor      # several
screening access grant mrivera staff --site north     # at another site of a network
screening access revoke jlee staff
screening access list [--history] [--json]
```

`screening init` makes the user who runs it the site's first admin, and only that: the
admin grants the working roles, to themselves too in a one-person clinic
(`screening access grant $(whoami) staff clinician`). A clinic made before roles existed
gets its first admin from its first `screening db upgrade`: the user who runs it, which
the upgrade says. A site always keeps one admin: the last one cannot be revoked.

## The roles and the commands

"""

TAIL = """
A person may hold several roles, per site on a network. The auditor's commands never
need names: `audit explain` takes a client's uid, and an auditor sees uids, never names
or codes.

## Where the boundary is

- **PostgreSQL** enforces the roles itself: `screening db roles` (also run by
  `screening db upgrade`) makes a group role for each of the four, with the grants each
  needs; only the schema's owner may change or delete ledger entries; the auditor's
  group reads the ledger and pseudonymous columns only (column privileges keep names and
  codes out of its reach); row-level security keeps each login to the sites it holds a
  role at. A user with `psql` cannot change or remove a ledger entry, read a name as an
  auditor, or reach another site's rows; a working login may still change the records'
  rows directly (the CLI needs to), which `audit verify` finds, and an entry it writes
  around the CLI's check is flagged (below).
- **SQLite** has no logins: the database file's permissions are the boundary, and the
  ledger is the evidence. `screening init --group NAME` lets several OS users of one
  group work on one clinic; anyone who can write the file could bypass the CLI's checks
  with the `sqlite3` shell, and `audit verify` would show what they changed
  (docs/sharing.md).

## What `audit verify` checks of the roles

Every grant and revocation is replayed: the roles the database holds must be exactly
the ones the ledger leaves in force (a row added by hand, a revocation removed or a
login renamed fails verify). From a site's first grant on, each entry's writer must have
held a role that may write its kind (a draw by staff, a grant by an admin, a correction
by staff or a clinician); an entry written around the CLI's check, by a user without
such a role, is flagged.

## Who looked at whose chart

Every command that shows identified data (names, or codes with results: lists,
timelines, reports, exports) records who ran it, when, which command and which clients
(by uid) as a `viewed` entry in the ledger, in the same transaction as the read: tamper
evident like every entry, and checked by `audit verify`. `screening audit access
--client CODE` answers "who looked at this chart, and when"; `screening audit access
--user NAME` answers "what did this person open".

Like every entry, a `viewed` entry removed from the middle of the ledger breaks the hash
chain; the newest entries, written since the witnesses' last checkpoint (one is made
after every draw and once a day), are vouched for only from that next checkpoint on.

## On PostgreSQL, good to know

- An auditor's login is its own: `access grant` refuses to make a login both an auditor
  and a working role (the server hides names from the auditor's group role by its
  columns, which a working group's whole rows would get around). The tables' owner may
  hold every role: it reads everything anyway.
- The four group roles (`screening_admin`, `screening_staff`, `screening_clinician`,
  `screening_auditor`) belong to the whole PostgreSQL cluster: keep one screening
  database (one network of sites) to a cluster, or give each its own logins, since a
  login's membership made for one applies in another.
- `db roles` and `db upgrade` change the tables' privileges: the tables' owner runs
  them (an admin login that is not the owner is told so, exit 3).
- A job (`schedule run`) whose login loses its role stops drawing and delivering at its
  next tick, and its log says why.
"""


def text() -> str:
    return HEAD + markdown_table() + TAIL


if __name__ == "__main__":
    Path(__file__).with_name("access.md").write_text(text(), encoding="utf-8")
