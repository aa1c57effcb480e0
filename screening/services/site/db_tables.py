"""What each table is to the server's privileges (services/site/db_roles.py): the
columns an auditor may not read, the tables that reach their site through a link, and
who writes the tables the working roles do not.
"""

from __future__ import annotations

# Columns the auditor may not read: what names or describes a client (names, codes,
# free text about a client or their specimen, and the salts of those digests) and the
# staff's names. What describes the clinic (why it closed, why a draw was late, a change
# of time zone) stays readable: the auditor's own commands weigh it.
IDENTIFIED: dict[str, tuple[str, ...]] = {
    "clients": ("code", "name", "salt", "discharge_reason"),
    "staff_names": ("name",),
    "holds": ("reason", "change_reason", "salt"),
    "screenings": ("note", "status_note", "approved_by", "reversal_approver", "salt"),
    "results": ("collector", "observed_reason", "late_reason", "salt"),
    "result_versions": ("note", "override_reason"),
    # A consent's recipient and the form's words; a disclosure's recipient.
    "consents": ("recipient", "signed_by", "how_to_revoke", "detail", "revoke_note", "salt"),
    "restrictions": ("note", "lift_note", "salt"),
    "disclosures": ("recipient", "salt"),
}

# Tables without a site of their own, by the link to the row that has one.
CHILDREN: dict[str, tuple[str, str]] = {
    "holds": ("client_id", "clients"),
    "screenings": ("client_id", "clients"),
    "draw_amendments": ("draw_id", "draws"),
    "results": ("screening_id", "screenings"),
    "result_versions": ("result_id", "results"),
    "analyte_results": ("version_id", "result_versions"),
}

# Read by every role, written by none but the owner (sites by `init`), or by admin only.
READ_ONLY = ("alembic_version", "row_id_gaps", "sites")
ADMIN_WRITES = ("access_grants",)
# The auditor writes, besides the ledger's disclosure entry, that disclosure's row (an
# export is a disclosure: audit/evaluation, §2.53), at its own sites only.
AUDITOR_WRITES = ("disclosures",)
# The only disclosures row an auditor's login may insert: an export's, made on the basis
# of audit and evaluation, about no one client, under no consent, of the ledger itself
# (services/disclosure/gate.py's record_audit). A letter or FHIR export is a clinician's.
AUDITOR_ROW = "basis = 'audit' AND client_id IS NULL AND consent_id IS NULL AND form = 'ledger'"
