"""`audit disclosures`: the accounting in words, as a table for staff and as the page the
client is given (`--format html`, one letter-size page in plain words)."""

from __future__ import annotations

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
SHARES = {
    "attendance": "attendance",
    "results": "test results",
    "missed": "missed tests",
    "progress": "progress in treatment",
    "ledger": "the program's record of draws and tests (no names or codes)",
}
FORMS = {
    "text": "letter",
    "html": "printed letter",
    "json": "data file",
    "fhir": "health record exchange (FHIR)",
    "ledger": "ledger export",
}
TYPES = {
    "named": "named recipient",
    "tpo": "treatment, payment and health care operations",
    "criminal_justice": "criminal justice referral, 42 CFR 2.35",
    "proceedings": "legal proceedings",
    "court_order": "court order",
}
AUDIT = "audit (42 CFR 2.53)"
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


def what_words(codes: list[str]) -> str:
    return ", ".join(SHARES.get(code, code.replace("_", " ")) for code in codes)


def period_words(item: dict[str, Any]) -> str:
    if item["form"] == "ledger":
        return f"the whole record to entry {item['entry']}"
    first, last = item.get("from"), item.get("to")
    if first and last:
        return f"{first} to {last}"
    return first or last or ""


def basis_words(item: dict[str, Any]) -> str:
    if item["basis"] == "audit":
        return AUDIT
    kind = TYPES.get(item.get("consent_type") or "", "")
    number = item.get("consent")
    if number is None:
        return "consent"
    return f"consent #{number} ({kind})" if kind else f"consent #{number}"


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


def render_accounting_html(site: str, program: str, data: dict[str, Any]) -> str:
    """The client's own page: each disclosure in a sentence's worth of plain words, the
    period the list covers, and whom to ask."""
    from screening.render.page import environment

    return str(
        environment()
        .get_template("accounting.html")
        .render(
            site=site,
            program=program,
            client=data["client"],
            since=data["since"],
            today=data["today"],
            items=[
                {
                    "day": item["at"][:10],
                    "recipient": item["recipient"],
                    "what": what_words(item["what"]),
                    "period": _period_for_client(item),
                    "purpose": purpose_words(item["purpose"]),
                    "basis": _basis_for_client(item),
                }
                for item in data["disclosures"]
            ],
        )
    )


def _period_for_client(item: dict[str, Any]) -> str:
    if item["form"] == "ledger":
        return "everything recorded up to that day"
    from screening.render.page import long_day

    first, last = item.get("from"), item.get("to")
    if first and last:
        return f"{long_day(first)} to {long_day(last)}"
    return long_day(first or last) if (first or last) else ""


def _basis_for_client(item: dict[str, Any]) -> str:
    if item["basis"] == "audit":
        return "an audit of the program, allowed without consent (42 CFR 2.53)"
    kind = TYPES.get(item.get("consent_type") or "", "")
    number = item.get("consent")
    said = f"your consent #{number}" if number is not None else "your consent"
    return f"{said} ({kind})" if kind else said
