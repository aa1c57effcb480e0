"""Disclosure: consents and restrictions, the one gate every output for an outside
recipient passes, progress letters, FHIR exports and the accounting of disclosures."""

from screening.services.disclosure.accounting import disclosures_made
from screening.services.disclosure.consents import (
    add_consent,
    consent_view,
    lift_restriction,
    restrict_client,
    revoke_consent,
)
from screening.services.disclosure.gate import Ask, Authority, disclose, record_audit

__all__ = [
    "Ask",
    "Authority",
    "add_consent",
    "consent_view",
    "disclose",
    "disclosures_made",
    "lift_restriction",
    "record_audit",
    "restrict_client",
    "revoke_consent",
]
