"""An example or two for every command, shown at the end of its help and in docs/cli.md.

Keyed by the command's path below `screening`; grammar.py puts them in the help when the
app is built, and a test checks that every command has one and that each one parses.
Codes, dates and names are the sample clinic's (`screening demo`), never real people.
"""

from __future__ import annotations

EXAMPLES: dict[tuple[str, ...], tuple[str, ...]] = {
    (): (
        "screening init --site main --timezone America/New_York",
        "screening today",
        "screening clients list --config ~/clinic/screening.toml",
    ),
    ("demo",): ("screening demo demo-clinic",),
    ("access", "grant"): (
        "screening access grant jlee staff",
        "screening access grant mrivera clinician auditor --site north",
    ),
    ("access", "revoke"): ("screening access revoke jlee staff",),
    ("access", "list"): ("screening access list", "screening access list --history --json"),
    ("init",): (
        "screening init --site main --timezone America/New_York",
        "screening init --site north --timezone America/Chicago "
        "--db postgresql+psycopg://screening@db.example.org/screening",
    ),
    ("close",): (
        'screening close 2026-12-25 --reason "holiday"',
        'screening close 2026-12-24 --withdraw --reason "open after all"',
    ),
    ("select",): (
        "screening select",
        'screening select --late 2026-12-03 --reason "the office was shut by snow"',
    ),
    ("today",): ("screening today",),
    ("timeline",): (
        "screening timeline C-103",
        "screening timeline C-103 --from 2026-09-01 --format html --out C-103.html",
    ),
    ("config", "check"): ("screening config check",),
    ("db", "upgrade"): ("screening db upgrade",),
    ("db", "roles"): ("screening db roles",),
    ("db", "backup"): ("screening db backup /media/usb/screening-2026-12-06.db",),
    ("clients", "add"): (
        'screening clients add C-121 --track evening --phase 1 --name "Uma Example" '
        "--meds Suboxone",
    ),
    ("clients", "import"): (
        "screening clients import clients.csv --dry-run",
        "screening clients import clients.csv",
    ),
    ("clients", "list"): ("screening clients list", "screening clients list --track morning"),
    ("clients", "show"): ("screening clients show C-103",),
    ("clients", "update"): ("screening clients update C-103 --phase 2",),
    ("consent", "add"): (
        'screening consent add C-103 --type criminal_justice --recipient "County Drug Court" '
        "--purpose monitoring --share attendance,results,missed --expires end-of-treatment "
        '--signed 2026-11-02 --signed-by client --how-to-revoke "in writing to the program '
        'director" --revocable-from 2027-05-02',
        'screening consent add C-104 --type named --recipient "Dana Example (mother)" '
        "--purpose family_involvement --share attendance --expires 2027-02-28 "
        '--signed 2026-11-30 --signed-by client --how-to-revoke "tell any staff member"',
    ),
    ("consent", "list"): ("screening consent list", "screening consent list C-103 --all"),
    ("consent", "show"): ("screening consent show 3",),
    ("consent", "revoke"): (
        "screening consent revoke 3 --reason client_request",
        'screening consent revoke 4 --reason entered_in_error --note "wrong client"',
    ),
    ("consent", "restrict"): ('screening consent restrict C-104 --note "asked at intake"',),
    ("consent", "lift"): ("screening consent lift C-104",),
    ("clients", "hold"): (
        'screening clients hold C-104 --from 2026-12-01 --to 2026-12-04 --reason "hospital stay"',
    ),
    ("clients", "hold-end"): (
        'screening clients hold-end C-104 --hold 1 --to 2026-12-02 --reason "discharged early"',
    ),
    ("clients", "hold-withdraw"): (
        'screening clients hold-withdraw C-104 --hold 1 --reason "entered for the wrong client"',
    ),
    ("clients", "discharge"): ('screening clients discharge C-105 --reason "completed program"',),
    ("clients", "readmit"): ("screening clients readmit C-105 --phase 1",),
    ("policy", "show"): ("screening policy show",),
    ("policy", "simulate"): ("screening policy simulate", "screening policy simulate --days 90"),
    ("results", "record"): (
        "screening results record C-101",
        "screening results record C-103 --positive BUP,NORBUP --specimen-id SP-0193 "
        "--temperature-ok",
        "screening results record C-113 --creatinine 3.1 --sg 1.0020",
    ),
    ("results", "no-show"): ("screening results no-show C-110",),
    ("results", "refused"): ('screening results refused C-111 --reason "declined"',),
    ("results", "unable"): ('screening results unable C-112 --reason "tried twice"',),
    ("results", "excuse"): (
        'screening results excuse C-114 --reason medical --approved-by "Dr A. Lee"',
    ),
    ("results", "reverse"): (
        'screening results reverse 42 --reason "was in group that day" --approved-by "Dr A. Lee"',
    ),
    ("results", "cancel"): ('screening results cancel C-114 --reason "drawn in error"',),
    ("results", "for-cause"): ('screening results for-cause C-115 --reason "observed impairment"',),
    ("results", "amend"): (
        "screening results amend SP-0193 --reason lab_confirmation --level THC=9",
    ),
    ("results", "import"): ("screening results import lab-report.csv",),
    ("results", "watch"): (
        "screening results watch",
        "screening results watch /srv/lab-drop --once",
    ),
    ("results", "list"): ("screening results list", "screening results list --client C-103"),
    ("results", "pending"): ("screening results pending",),
    ("results", "show"): ("screening results show SP-0193",),
    ("results", "export"): (
        'screening results export C-103 --recipient "Eastside Primary Care" --format fhir '
        "--out C-103.json",
        'screening results export C-103 --recipient "Eastside Primary Care" --format fhir '
        "--from 2026-11-01 --to 2026-11-30 --preview",
    ),
    ("report", "team"): ("screening report team", "screening report team --sort flags"),
    ("report", "reconcile"): ("screening report reconcile --from 2026-11-01",),
    ("report", "progress"): (
        'screening report progress C-103 --recipient "Example County Drug Court" '
        "--from 2026-11-01 --to 2026-11-30 --preview",
        'screening report progress C-103 --recipient "Example County Drug Court" '
        "--from 2026-11-01 --to 2026-11-30 --format html --out C-103-november.html",
    ),
    ("audit", "verify"): (
        "screening audit verify",
        'screening audit verify --checkpoint "$(cat /media/usb/checkpoint.txt)"',
    ),
    ("audit", "checkpoint"): ("screening audit checkpoint > /media/usb/checkpoint.txt",),
    ("audit", "reveal"): ("screening audit reveal",),
    ("audit", "explain"): (
        "screening audit explain C-103",
        "screening audit explain 0b7e6c1e-3f5a-4d2b-9c61-2a8f4e0d9b57 --json",
    ),
    ("audit", "receipt"): (
        "screening audit receipt C-103 2026-11-27",
        "screening audit receipt C-103 2026-11-27 --out C-103-2026-11-27-receipt.txt",
    ),
    ("audit", "access"): (
        "screening audit access --client C-103",
        "screening audit access --user jlee --from 2026-11-01 --to 2026-11-30 --format csv",
    ),
    ("audit", "disclosures"): (
        "screening audit disclosures --since 2026-01-01",
        "screening audit disclosures --client C-103 --format html --out C-103-disclosures.html",
    ),
    ("audit", "fairness"): ("screening audit fairness --from 2026-01-01",),
    ("audit", "export"): (
        'screening audit export /media/usb/export-2026-11 --to "State Auditor" --purpose audit',
    ),
    ("schedule", "run"): ("screening schedule run",),
    ("schedule", "next"): ("screening schedule next --count 3",),
    ("schedule", "unit"): ("screening schedule unit",),
    ("site", "show"): ("screening site show",),
    ("site", "timezone"): (
        'screening site timezone America/Chicago --reason "the clinic moved to Chicago"',
    ),
}
