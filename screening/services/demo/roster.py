"""Who and what the sample clinic of `screening demo` holds: its synthetic clients, the
codes and specimen ids the README's examples name, and the example files it leaves in
its folder. All names are synthetic ("Example" surnames); nothing here is a person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Enrolment:
    code: str
    name: str
    track: str
    phase: str
    admitted: int  # days after the simulation's first day (negative: before it)
    medications: tuple[str, ...] = ()


SITE = "demo"
TIMEZONE = "America/New_York"
DAYS = 60  # about two months, ending today
STAFF = "Robin Example"  # the synthetic person at the front desk, recorded as --actor
APPROVER = "Dr A. Example"

# Two tracks, three phases, two prescriptions: buprenorphine and methadone.
CLIENTS = (
    Enrolment("C-101", "Alex Example", "morning", "1", -20),
    Enrolment("C-102", "Blair Example", "evening", "2", -18),
    Enrolment("C-103", "Casey Example", "morning", "3", -40, ("buprenorphine",)),
    Enrolment("C-104", "Devon Example", "evening", "1", -12),
    Enrolment("C-105", "Emery Example", "morning", "2", -10),
    Enrolment("C-106", "Finley Example", "evening", "3", -35),
    Enrolment("C-107", "Gray Example", "morning", "1", -8, ("methadone",)),
    Enrolment("C-108", "Harper Example", "evening", "2", -6),
    Enrolment("C-109", "Indigo Example", "morning", "1", -5),
    Enrolment("C-110", "Jules Example", "evening", "1", -4),
    Enrolment("C-111", "Kai Example", "morning", "2", -3),
    Enrolment("C-112", "Lane Example", "evening", "3", -30, ("buprenorphine",)),
    Enrolment("C-113", "Morgan Example", "morning", "1", -2),
    Enrolment("C-114", "Noel Example", "evening", "2", -1),
    Enrolment("C-115", "Oakley Example", "morning", "3", -25),
    Enrolment("C-116", "Parker Example", "evening", "1", 3),
    Enrolment("C-117", "Quinn Example", "morning", "2", 9),
    Enrolment("C-118", "Reese Example", "evening", "1", 16),
    Enrolment("C-119", "Sage Example", "morning", "1", 28),
    Enrolment("C-120", "Tatum Example", "evening", "3", -45),
)

# What the cup shows of each prescription (the analytes it produces that the urine panel
# tests): `results record` must be told, it never defaults them.
PRESCRIBED = {"buprenorphine": ("BUP", "NORBUP"), "methadone": ("MTD", "EDDP")}

# The README's "Recording results" works on these, as the demo leaves them today.
OPEN_TODAY = ("C-101", "C-107", "C-110", "C-111", "C-114", "C-119")
PRESUMPTIVE = ("C-103", "SP-0193")  # THC 80 ng/mL on the cup, awaiting confirmation
AT_THE_LAB = ("C-112", "LAB-7731")  # sent to the lab; its report is lab-report.csv
# Consents on file (42 CFR Part 2): a drug court's for the timeline's client, with a
# letter on the first of each month, and a parent's that shares attendance only.
COURT = "Example County Drug Court"
PARENT = ("C-102", "Jordan Example (parent)")
TIMELINE = "C-113"  # a dilute and its observed recollection, a no-show, a phase change

LAB_REPORT_FILE = "lab-report.csv"
LAB_HL7_FILE = "lab-report.hl7"
NEW_CLIENTS_FILE = "new-clients.csv"

LAB_HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"


def lab_report(specimen: str, report: str, found: dict[str, tuple[str, str]]) -> str:
    """A final lab report on one specimen: ``found`` gives the analytes confirmed by
    LC-MS/MS (level, cutoff); the rest of the immunoassay panel reads negative."""
    screen = {
        "FEN": "0.5",
        "NORFEN": "0.5",
        "6AM": "10",
        "OPI": "2000",
        "OXY": "100",
        "COC": "150",
        "AMP": "500",
        "MAMP": "500",
        "THC": "50",
        "BZO": "200",
        "ETG": "500",
    }
    lines = [f"{LAB_HEADER},report_status"]
    for analyte, (level, cutoff) in found.items():
        lines.append(f"{specimen},,{analyte},,{level},{cutoff},LC-MS/MS,{report},final")
    for analyte, cutoff in screen.items():
        if analyte not in found:
            lines.append(f"{specimen},,{analyte},negative,,{cutoff},immunoassay,{report},final")
    return "\n".join(lines) + "\n"


# Left in the demo's folder for the README's `results import` and `clients import`.
EXAMPLE_LAB_REPORT = lab_report(
    AT_THE_LAB[1], "R-2026-0412", {"BUP": ("41", "5"), "NORBUP": ("96", "5")}
)


def example_lab_hl7(sent: str) -> str:
    """The same lab's HL7 v2 feed: its LC-MS/MS confirmation of the cup's THC, sent at
    ``sent`` (HL7 time, after the collection; docs/labs.md)."""
    segments = [
        "MSH|^~\\&|EXAMPLE LIS|EXAMPLE TOX LAB^05D0000000^CLIA|SCREENING|DEMO CLINIC|"
        f"{sent}||ORU^R01^ORU_R01|EX-0413|P|2.5.1",
        "PID|1||EX-40001^^^EXAMPLE TOX LAB^MR||EXAMPLE^DEMO",
        "OBR|1||R-2026-0413|69739-1^Drugs of abuse panel - Urine by Screen method^LN"
        "|||||||||||||||||||||F",
        "OBX|1|NM|20521-1^Cannabinoids [Mass/volume] in Urine by Confirmatory method^LN||9|"
        "ng/mL^nanogram per milliliter^UCUM|15||||F",
        f"SPM|1|{PRESUMPTIVE[1]}||122575003^Urine specimen^SCT",
    ]
    return "\r".join(segments) + "\r"


EXAMPLE_NEW_CLIENTS = (
    "code,name,track,phase,admitted_on,medications\n"
    "C-122,Vale Example,morning,1,,\n"
    "C-123,Wren Example,evening,1,,methadone\n"
    "C-124,Yael Example,morning,2,,\n"
)
