"""What a consent to disclose says, and whether it covers a disclosure (42 CFR Part 2).

A drug-test result is a Part 2 record: it leaves the program for a named recipient only
under a written consent (§2.31) that names the recipient and the purpose, says how much
and what kind of information, when it expires, when it was signed and how to revoke it;
a criminal-justice referral's consent (§2.35) may not be revoked before a set date; a use
of the record in a proceeding against the client needs a consent of its own (§2.31(d))
or a court order (§2.64). Each disclosure carries the §2.32 notice and an explanation of
the consent's scope. The services hold the consents; this module is the judgment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NAMED, TPO, CRIMINAL_JUSTICE, PROCEEDINGS, COURT_ORDER = (
    "named",
    "tpo",
    "criminal_justice",
    "proceedings",
    "court_order",
)
TYPES = (NAMED, TPO, CRIMINAL_JUSTICE, PROCEEDINGS, COURT_ORDER)

# What a consent may let out: a letter or an export is checked against these.
ATTENDANCE, RESULTS, MISSED, PROGRESS = "attendance", "results", "missed", "progress"
SHARES = (ATTENDANCE, RESULTS, MISSED, PROGRESS)

LEGAL_PROCEEDING = "legal_proceeding"
PURPOSES = (
    "treatment",
    "payment",
    "health_care_operations",
    "monitoring",
    "family_involvement",
    "employment",
    "client_request",
    LEGAL_PROCEEDING,
    "other",
)
# The purposes each type of consent may name: treatment, payment and operations for a
# TPO consent (§2.33(b)); monitoring the client's progress for a criminal-justice referral
# (§2.35(a)); a proceeding for a proceedings consent or a court order; anything but a
# proceeding against the client for a consent to a named recipient.
PURPOSES_OF: dict[str, tuple[str, ...]] = {
    NAMED: tuple(p for p in PURPOSES if p != LEGAL_PROCEEDING),
    TPO: ("treatment", "payment", "health_care_operations"),
    CRIMINAL_JUSTICE: ("monitoring",),
    PROCEEDINGS: (LEGAL_PROCEEDING,),
    COURT_ORDER: (LEGAL_PROCEEDING,),
}
REVOKE_REASONS = ("client_request", "expiry_event", "entered_in_error", "other")
# The auditor's export (§2.53, audit and evaluation) needs no consent: its purposes.
AUDIT_PURPOSES = ("audit", "evaluation", "court_order", "research", "oversight", "other")
END_OF_TREATMENT = "end_of_treatment"

# 42 CFR 2.32(a)(1) and (a)(2), as amended by the 2024 final rule (89 FR 12472).
STATEMENT_1 = (
    "This record which has been disclosed to you is protected by Federal confidentiality "
    "rules (42 CFR part 2). These rules prohibit you from using or disclosing this record, "
    "or testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: (i) Further "
    "use or disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part "
    "2. (ii) You are a covered entity or business associate and have received the record "
    "for treatment, payment, or health care operations, or (iii) You have received the "
    "record from a covered entity or business associate as permitted by 45 CFR part 164, "
    "subparts A and E. A general authorization for the release of medical or other "
    "information is NOT sufficient to meet the required elements of written consent to "
    "further use or redisclose the record (see 42 CFR 2.31)."
)
STATEMENT_2 = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."

_TYPE_WORDS = {
    NAMED: ("consent to a named recipient", "42 CFR 2.31"),
    TPO: ("consent for treatment, payment and health care operations", "42 CFR 2.33"),
    CRIMINAL_JUSTICE: ("criminal-justice referral consent", "42 CFR 2.35"),
    PROCEEDINGS: ("consent to use in a proceeding", "42 CFR 2.31(d)"),
    COURT_ORDER: ("court order", "42 CFR 2.64"),
}
_SHARE_WORDS = {
    ATTENDANCE: "attendance at screenings",
    RESULTS: "screening results",
    MISSED: "missed screenings",
    PROGRESS: "a summary of progress",
}


@dataclass(frozen=True)
class Terms:
    """A consent's terms, as the gate judges them."""

    type: str
    recipient: str
    recipient_class: bool  # a class of recipients ("my treating providers"), TPO only
    purpose: str
    shares: frozenset[str]
    covers_from: date
    expires_on: date | None
    at_discharge: bool  # expires at the end of treatment
    signed_on: date
    revocable_from: date | None = None


@dataclass(frozen=True)
class Want:
    """One disclosure asked for: to whom, for what, what it must carry, which period."""

    recipient: str
    purpose: str | None  # None: the consent's own
    needs: frozenset[str]
    first: date
    last: date
    today: date


def same_recipient(a: str, b: str) -> bool:
    """Two spellings of one recipient: case and runs of spaces do not matter."""
    return _folded(a) == _folded(b)


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def words(value: str) -> str:
    """A stored code in words: 'health_care_operations' -> 'health care operations'."""
    return value.replace("_", " ")


def type_words(kind: str) -> str:
    """'criminal-justice referral consent (42 CFR 2.35)'."""
    said, cite = _TYPE_WORDS.get(kind, (words(kind), ""))
    return f"{said} ({cite})" if cite else said


def share_words(shares: frozenset[str] | list[str] | tuple[str, ...]) -> str:
    named = [_SHARE_WORDS[s] for s in SHARES if s in shares]
    if len(named) <= 1:
        return "".join(named) or "nothing"
    return ", ".join(named[:-1]) + " and " + named[-1]


def gaps(terms: Terms, want: Want, *, revoked_on: date | None, ended_on: date | None) -> list[str]:
    """What keeps ``terms`` from covering ``want``, in short phrases ("expired on
    2026-11-30"); nothing when it covers. ``ended_on`` is the day the client was
    discharged after signing, for a consent that ends with treatment."""
    found: list[str] = []
    if revoked_on is not None:
        found.append(f"was revoked on {revoked_on}")
    if terms.signed_on > want.today:
        found.append(f"is signed on {terms.signed_on}, a day still to come")
    if terms.expires_on is not None and terms.expires_on < want.today:
        found.append(f"expired on {terms.expires_on}")
    if terms.at_discharge and ended_on is not None and ended_on < want.today:
        found.append(f"ended with treatment, when the client was discharged on {ended_on}")
    if not terms.recipient_class and not same_recipient(terms.recipient, want.recipient):
        found.append(f"names {terms.recipient!r}, not {want.recipient!r}")
    if want.purpose is not None and want.purpose != terms.purpose:
        found.append(f"is for {words(terms.purpose)}, not {words(want.purpose)}")
    missing = [s for s in SHARES if s in want.needs and s not in terms.shares]
    if missing:
        found.append(f"does not cover {share_words(frozenset(missing))}")
    if want.first < terms.covers_from:
        found.append(f"covers information from {terms.covers_from} on, not from {want.first}")
    if want.first > want.last:
        found.append(f"cannot cover a period from {want.first} to {want.last}")
    return found


def scope(terms: Terms, program: str, client: str) -> str:
    """§2.32(b): a clear explanation of the scope of the consent, in one paragraph."""
    recipient = (
        f"members of the class {terms.recipient!r}" if terms.recipient_class else terms.recipient
    )
    if terms.expires_on is not None:
        until = f"until {terms.expires_on}"
    else:
        until = "until the end of treatment"
    if terms.type == COURT_ORDER:
        giver = f"The court order under 42 CFR 2.64, issued on {terms.signed_on},"
    else:
        kind, cite = _TYPE_WORDS[terms.type]
        giver = f"The written {kind} under {cite}, signed on {terms.signed_on},"
    return (
        f"{giver} permits "
        f"{program} to disclose to {recipient}, for {words(terms.purpose)}, "
        f"{share_words(terms.shares)} of {client}, from {terms.covers_from} on, {until}. "
        "Nothing else from the record is disclosed."
    )


def revocation_barred(terms: Terms, today: date) -> date | None:
    """A criminal-justice consent may not be revoked before the day it names (§2.35(d)):
    that day, while it is still to come; else None."""
    if terms.type == CRIMINAL_JUSTICE and terms.revocable_from and today < terms.revocable_from:
        return terms.revocable_from
    return None
