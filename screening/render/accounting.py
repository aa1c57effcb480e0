"""`audit disclosures`: the accounting in words, as a table for staff and as the page the
client is given (`--format html`, one letter-size page in plain words)."""

from __future__ import annotations

import textwrap
from typing import Any

# What each stored value means to the person reading the list.
PURPOSES = {
    "treatment": "treatment",
    "payment": "payment",
    "health_care_operations": "health care operations",
    "monitoring": "monitoring by the court or justice system",
    "family_involvement": "involving family in treatment",
    "employment": "employment",
    "client_request": "at the client's own request",
    "legal_proceeding": "a legal proceeding",
    "other": "another purpose named in the consent",
    # an export's purposes (42 CFR 2.53)
    "audit": "audit",
    "evaluation": "program evaluation",
    "court_order": "a court order",
    "research": "research",
    "oversight": "oversight",
}
# What an auditor's export carries: the ledger, which names no client.
LEDGER_EXPORT = "ledger export"
LEDGER_WORDS = "the ledger (no names or codes)"
LEDGER_FOR_CLIENT = "the program's ledger of draws and screenings, which holds no names or codes"
FORMS = {
    "text": "letter",
    "html": "printed letter",
    "json": "data file",
    "fhir": "health record exchange (FHIR)",
    "ledger": "ledger export",
}
AUDIT = "audit (42 CFR 2.53)"
AUDIT_FOR_CLIENT = (
    "an audit or evaluation of the program, which the law allows without consent (42 CFR 2.53)"
)
COLUMNS = [
    ("at", "when"),
    ("client", "client"),
    ("recipient", "recipient"),
    ("purpose", "purpose"),
    ("what", "what was disclosed"),
    ("period", "period"),
    ("form", "form"),
    ("basis", "basis"),
    ("made_by", "made by"),
]
# CSV and JSON keep the stored values, the consent by number.
CSV_COLUMNS = [
    ("entry", "entry"),
    ("at", "at"),
    ("client", "client"),
    ("recipient", "recipient"),
    ("purpose", "purpose"),
    ("what", "what"),
    ("from", "from"),
    ("to", "to"),
    ("form", "form"),
    ("basis", "basis"),
    ("consent", "consent"),
    ("consent_type", "consent_type"),
    ("made_by", "made_by"),
]


def purpose_words(code: str) -> str:
    return PURPOSES.get(code, code.replace("_", " "))


def what_words(codes: list[str], yours: bool = False) -> str:
    from screening.core.disclosure import share_words

    if LEDGER_EXPORT in codes:
        return LEDGER_FOR_CLIENT if yours else LEDGER_WORDS
    return share_words(codes)


def period_words(item: dict[str, Any]) -> str:
    if item["form"] == "ledger":
        return f"entries 1 to {item['exported_to']}"
    first, last = item.get("from"), item.get("to")
    if first and last:
        return f"{first} to {last}"
    return first or last or ""


def basis_words(item: dict[str, Any], yours: bool = False) -> str:
    """'consent #3 (criminal-justice referral consent (42 CFR 2.35))', or the audit's."""
    from screening.core.disclosure import type_words

    if item["basis"] == "audit":
        return AUDIT_FOR_CLIENT if yours else AUDIT
    number, kind = item.get("consent"), item.get("consent_type")
    if kind == "court_order":  # a court's, not the client's
        return f"court order #{number}: {type_words(kind)}" if number else type_words(kind)
    said = ("your consent" if yours else "consent") + (f" #{number}" if number else "")
    return f"{said}: {type_words(kind)}" if kind else said


def in_words(item: dict[str, Any]) -> dict[str, Any]:
    """One disclosure as the table shows it."""
    return {
        "at": item["at"],
        "client": item["client"],
        "recipient": item["recipient"],
        "purpose": purpose_words(item["purpose"]),
        "what": what_words(item["what"]),
        "period": period_words(item),
        "form": FORMS.get(item["form"], item["form"]),
        "basis": basis_words(item),
        "made_by": item["made_by"],
    }


def as_blocks(rows: list[dict[str, Any]], since: str) -> str:
    """The accounting for a terminal: one short block a disclosure, in the table's words
    (nine columns do not fit 80), in the order a reader asks: when, whose, to whom, why,
    what, on what basis."""
    if not rows:
        return f"no disclosure made since {since}\n"
    lines = [f"Disclosures since {since}: {len(rows)}", ""]
    for item in rows:
        said = in_words(item)
        whose = said["client"] or "no one client"
        lines.append(f"{said['at']}  {whose}  to {said['recipient']}")
        lines.append(f"  for {said['purpose']}")
        lines += textwrap.wrap(said["what"], 78, initial_indent="  ", subsequent_indent="    ")
        period = f"{said['period']}, " if said["period"] else ""
        lines.append(f"  {period}as a {said['form']}")
        made = f", made by {said['made_by']}" if said["made_by"] else ""
        lines.append(f"  under {said['basis']}{made}")
    return "\n".join(lines) + "\n"


def render_accounting_html(site: str, data: dict[str, Any]) -> str:
    """The client's own page: each disclosure in a sentence's worth of plain words, the
    period the list covers, and whom to ask."""
    from screening.render.page import environment

    return str(
        environment()
        .get_template("accounting.html")
        .render(
            site=site,
            program=data["program"],
            client=data["client"],
            since=data["since"],
            today=data["today"],
            items=[
                {
                    "day": item["at"][:10],
                    "recipient": item["recipient"],
                    "what": what_words(item["what"], yours=True),
                    "period": _period_for_client(item),
                    "purpose": purpose_words(item["purpose"]),
                    "basis": basis_words(item, yours=True),
                }
                for item in data["disclosures"]
            ],
        )
    )


def _period_for_client(item: dict[str, Any]) -> str:
    if item["form"] == "ledger":
        return "everything recorded up to that day"
    from screening.render.page import long_day

    days = [long_day(day) for day in (item.get("from"), item.get("to")) if day]
    return " to ".join(days)
