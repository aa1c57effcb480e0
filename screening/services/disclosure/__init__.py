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
from screening.services.disclosure.fhir import bundle_text, export_results
from screening.services.disclosure.gate import Ask, Authority, disclose, record_audit
from screening.services.disclosure.letters import progress_letter
from screening.services.disclosure.listing import list_consents, show_consent

__all__ = [
    "Ask",
    "Authority",
    "add_consent",
    "bundle_text",
    "consent_view",
    "disclose",
    "disclosures_made",
    "export_results",
    "lift_restriction",
    "list_consents",
    "progress_letter",
    "record_audit",
    "restrict_client",
    "revoke_consent",
    "show_consent",
]
