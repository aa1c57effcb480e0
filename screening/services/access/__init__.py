"""Who may do what (core/access.py): the role check before every command, and the
roles granted and revoked by an admin as ledger entries."""

from screening.services.access.checks import claim_site, require_role, require_role_if_recorded
from screening.services.access.manage import Change, grant, listing, revoke
from screening.services.records.grants import login_of

__all__ = [
    "Change",
    "claim_site",
    "grant",
    "listing",
    "login_of",
    "require_role",
    "require_role_if_recorded",
    "revoke",
]
