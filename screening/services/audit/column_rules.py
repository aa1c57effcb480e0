"""What `audit verify` checks of every stored column (DESIGN §6): every column of every
table has a rule in ``COLUMN_RULES`` (tests/test_column_rules.py fails on a column
without one), naming the check that would see it changed. Most rules are carried out
where the rows are compared with the replayed ledger (audit/domain.py, audit/sites.py);
the ones that look at the tables as a whole are in audit/rows.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

import screening.db.models  # noqa: F401  (every table registered in the metadata)

HASHED = "hashed: part of the entry's hash chain"
COPIED = "copied from the entry: must equal what its hashed text says"
COMPARED = "compared with what the replayed ledger says of the row"
DIGEST = "digest: its salted digest is compared with the one the entry holds"
CONTENT = "content digest: hashed with the rest of the result into the entry's digest"
SALT = "salt: checked through the digests it salts; empty when there is no text"
ENTRY = "entry link: the row is matched with the ledger entry it names"
LINK = "row link: must name a row that exists, the one the ledger entry names"
ROW_ID = "id: a table's ids and listed gaps are exactly 1..n"
GAP = "gap: checked with its table's ids"
NAME = "staff name: checked against its digest, which the entries name"

RULES = (HASHED, COPIED, COMPARED, DIGEST, CONTENT, SALT, ENTRY, LINK, ROW_ID, GAP, NAME)

COLUMN_RULES: dict[str, dict[str, str]] = {
    "ledger": {
        "seq": HASHED,
        "canonical": HASHED,
        "hash": HASHED,
        "at": COPIED,
        "site": COPIED,
        "kind": COPIED,
        "uid": COPIED,
        "login": DIGEST,
    },
    # The salt of staff names: every site entry names its actor, whose stored name must
    # match its digest under this salt.
    "sites": {"id": ROW_ID, "name": COMPARED, "salt": NAME, "created_seq": ENTRY},
    "site_zones": {
        "id": ROW_ID,
        "site": COMPARED,
        "timezone": COMPARED,
        "starts_at": COMPARED,
        "reason": DIGEST,
        "ledger_seq": ENTRY,
    },
    "staff_names": {"id": ROW_ID, "site": NAME, "digest": NAME, "name": NAME},
    # Roles: each row is the grant entry it names, ended by the revoke entry it names
    # (audit/access_rows.py); the login's digest is the entry's user.
    "access_grants": {
        "id": ROW_ID,
        "site": COMPARED,
        "login": DIGEST,
        "role": COMPARED,
        "granted_seq": ENTRY,
        "revoked_seq": COMPARED,
    },
    "clients": {
        "id": ROW_ID,
        "uid": COMPARED,
        "site": COMPARED,
        "code": DIGEST,
        "name": DIGEST,
        "salt": SALT,
        "track": COMPARED,
        "phase": COMPARED,
        "status": COMPARED,
        "admitted_on": COMPARED,
        "discharged_on": COMPARED,
        "discharge_reason": DIGEST,
        "medications": DIGEST,
        "ledger_seq": ENTRY,
    },
    "holds": {
        "id": ROW_ID,
        "client_id": LINK,
        "starts_on": COMPARED,
        "ends_on": COMPARED,
        "reason": DIGEST,
        "salt": SALT,
        "ledger_seq": ENTRY,
        "ended_on": COMPARED,
        "withdrawn": COMPARED,
        "change_reason": DIGEST,
        "changed_seq": ENTRY,
    },
    "closures": {
        "id": ROW_ID,
        "site": COMPARED,
        "date": COMPARED,
        "reason": DIGEST,
        "salt": SALT,
        "ledger_seq": ENTRY,
        "withdrawn_reason": DIGEST,
        "withdrawn_seq": ENTRY,
    },
    "draws": {
        "id": ROW_ID,
        "site": COMPARED,
        "date": COMPARED,
        "drawn_at": COMPARED,
        "late_reason": DIGEST,
        "salt": SALT,
        "created_seq": ENTRY,
        "ledger_seq": ENTRY,
        "revealed_seq": ENTRY,
    },
    "draw_amendments": {
        "id": ROW_ID,
        "draw_id": LINK,
        "reason": DIGEST,
        "salt": SALT,
        "ledger_seq": ENTRY,
    },
    "screenings": {
        "id": ROW_ID,
        "client_id": LINK,
        "draw_id": LINK,
        "date": COMPARED,
        "reason": COMPARED,
        "status": COMPARED,
        "due_by": COMPARED,
        "observed_required": COMPARED,
        "replaces_id": LINK,
        "salt": SALT,
        "note": DIGEST,
        "status_note": DIGEST,
        "status_auto": COMPARED,
        "excuse_code": COMPARED,
        "approved_by": DIGEST,
        "reversed_status": COMPARED,
        "reversal_approver": DIGEST,
        "created_seq": ENTRY,
        "ledger_seq": ENTRY,
    },
    "results": {
        "id": ROW_ID,
        "screening_id": LINK,
        "specimen_type": CONTENT,
        "specimen_id": CONTENT,
        "collected_at": CONTENT,
        "collector": CONTENT,
        "observed": CONTENT,
        "observed_reason": CONTENT,
        "temperature_ok": CONTENT,
        "method": CONTENT,
        "panel": CONTENT,
        "medications": CONTENT,
        "salt": SALT,
        "late_reason": DIGEST,
        "created_seq": ENTRY,
        "ledger_seq": ENTRY,
    },
    "result_versions": {
        "id": ROW_ID,
        "result_id": LINK,
        "seq": ENTRY,
        "reason": CONTENT,
        "note": CONTENT,
        "lab_report_id": CONTENT,
        "validity": CONTENT,
        "validity_version": CONTENT,
        "measures": CONTENT,
        "void": CONTENT,
        "override_reason": CONTENT,
        "lab_status": CONTENT,
        "lab_message": CONTENT,
    },
    "analyte_results": {
        "id": ROW_ID,
        "version_id": LINK,
        "code": CONTENT,
        "outcome": CONTENT,
        "stage": CONTENT,
        "level": CONTENT,
        "cutoff": CONTENT,
    },
    # Consents (42 CFR §2.31): the form's words (recipient, who signed, how to revoke,
    # the purpose as written) through the terms digest of the add entry; the revocation
    # through the revoke entry (audit/consent_rows.py).
    "consents": {
        "id": ROW_ID,
        "uid": COMPARED,
        "site": COMPARED,
        "client_id": LINK,
        "type": COMPARED,
        "recipient": DIGEST,
        "recipient_class": DIGEST,
        "purpose": COMPARED,
        "detail": DIGEST,
        "shares": COMPARED,
        "covers_from": COMPARED,
        "expires_on": COMPARED,
        "at_discharge": COMPARED,
        "signed_on": COMPARED,
        "signed_by": DIGEST,
        "how_to_revoke": DIGEST,
        "revocable_from": COMPARED,
        "taken_by": COMPARED,
        "salt": SALT,
        "added_seq": ENTRY,
        "revoked_seq": COMPARED,
        "revoke_reason": COMPARED,
        "revoke_note": DIGEST,
    },
    "restrictions": {
        "id": ROW_ID,
        "site": COMPARED,
        "client_id": LINK,
        "note": DIGEST,
        "salt": SALT,
        "added_seq": ENTRY,
        "lifted_seq": COMPARED,
        "lift_note": DIGEST,
    },
    # Each disclosure made (§2.25's accounting): the entry that recorded it.
    "disclosures": {
        "id": ROW_ID,
        "site": COMPARED,
        "seq": ENTRY,
        "client_id": LINK,
        "consent_id": LINK,
        "basis": COMPARED,
        "recipient": DIGEST,
        "salt": SALT,
        "purpose": COMPARED,
        "what": COMPARED,
        "period_from": COMPARED,
        "period_to": COMPARED,
        "form": COMPARED,
        "content": COMPARED,
    },
    "row_id_gaps": {"table_name": GAP, "row_id": GAP},
}

# The free text each salt salts: a salt with none of it must be empty.
SALTED_TEXT = {
    "draws": ("late_reason",),
    "screenings": ("note", "status_note"),
    "restrictions": ("note", "lift_note"),
}


def tables() -> list[sa.Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name in COLUMN_RULES]
