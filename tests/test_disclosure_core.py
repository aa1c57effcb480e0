"""Whether a consent covers a disclosure (core/disclosure.py): the judgment the gate makes
before anything leaves the program (42 CFR 2.31, 2.35)."""

from __future__ import annotations

from datetime import date

from screening.core import disclosure as rules

COURT = rules.Terms(
    type=rules.CRIMINAL_JUSTICE,
    recipient="County Drug Court",
    recipient_class=False,
    purpose="monitoring",
    shares=frozenset({"attendance", "results", "missed", "progress"}),
    covers_from=date(2026, 10, 1),
    expires_on=date(2026, 12, 31),
    at_discharge=False,
    signed_on=date(2026, 10, 2),
    revocable_from=date(2027, 3, 1),
)


def _want(**changes: object) -> rules.Want:
    base = {
        "recipient": "county  drug COURT",
        "purpose": None,
        "needs": frozenset(),
        "first": date(2026, 11, 1),
        "last": date(2026, 11, 30),
        "today": date(2026, 12, 1),
    }
    return rules.Want(**{**base, **changes})  # type: ignore[arg-type]


def test_a_consent_in_force_covers_its_recipient_however_the_name_is_typed() -> None:
    assert rules.gaps(COURT, _want(), revoked_on=None, ended_on=None) == []


def test_an_expired_consent_says_when_it_expired() -> None:
    found = rules.gaps(COURT, _want(today=date(2027, 1, 1)), revoked_on=None, ended_on=None)
    assert found == ["expired on 2026-12-31"]
    # the last day of a consent is still in force
    assert rules.gaps(COURT, _want(today=date(2026, 12, 31)), revoked_on=None, ended_on=None) == []


def test_each_missing_element_is_named() -> None:
    found = rules.gaps(
        COURT,
        _want(
            recipient="Probation Office",
            purpose="employment",
            needs=frozenset({"results"}),
            first=date(2026, 9, 1),
        ),
        revoked_on=date(2026, 11, 20),
        ended_on=None,
    )
    assert found == [
        "was revoked on 2026-11-20",
        "names 'County Drug Court', not 'Probation Office'",
        "is for monitoring, not employment",
        "covers information from 2026-10-01 on, not from 2026-09-01",
    ]
    attendance_only = rules.Terms(**{**COURT.__dict__, "shares": frozenset({"attendance"})})
    assert rules.gaps(
        attendance_only,
        _want(needs=frozenset({"results", "missed"})),
        revoked_on=None,
        ended_on=None,
    ) == ["does not cover screening results and missed screenings"]


def test_a_consent_to_the_end_of_treatment_ends_the_day_after_discharge() -> None:
    open_ended = rules.Terms(**{**COURT.__dict__, "expires_on": None, "at_discharge": True})
    assert rules.gaps(open_ended, _want(), revoked_on=None, ended_on=date(2026, 12, 1)) == []
    assert rules.gaps(
        open_ended, _want(today=date(2026, 12, 2)), revoked_on=None, ended_on=date(2026, 12, 1)
    ) == ["ended with treatment, when the client was discharged on 2026-12-01"]


def test_a_criminal_justice_consent_cannot_be_revoked_before_its_day() -> None:
    assert rules.revocation_barred(COURT, date(2027, 2, 28)) == date(2027, 3, 1)
    assert rules.revocation_barred(COURT, date(2027, 3, 1)) is None
    named = rules.Terms(**{**COURT.__dict__, "type": rules.NAMED})
    assert rules.revocation_barred(named, date(2026, 12, 1)) is None


def test_no_type_but_proceedings_or_court_order_allows_a_proceeding() -> None:
    allowing = [t for t in rules.TYPES if rules.LEGAL_PROCEEDING in rules.PURPOSES_OF[t]]
    assert allowing == [rules.PROCEEDINGS, rules.COURT_ORDER]


def test_the_scope_names_recipient_purpose_what_and_until_when() -> None:
    text = rules.scope(COURT, "Riverside IOP", "Pat Doe")
    assert text == (
        "The written criminal-justice referral consent under 42 CFR 2.35, signed on "
        "2026-10-02, permits Riverside IOP to disclose to County Drug Court, for monitoring, "
        "attendance at screenings, screening results, missed screenings and a summary of "
        "progress of Pat Doe, from 2026-10-01 on, until 2026-12-31. Nothing else from the "
        "record is disclosed."
    )
    assert "42 CFR part 2" in rules.STATEMENT_1 and "NOT sufficient" in rules.STATEMENT_1
