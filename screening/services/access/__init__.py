"""Who may do what (core/access.py): the role check before every command, the roles
granted and revoked by an admin as ledger entries, and the log of who read whose chart."""

from screening.services.access.checks import claim_site, require_role, require_role_if_recorded
from screening.services.access.manage import Change, grant, listing, revoke
from screening.services.access.reading import access_log
from screening.services.records.grants import login_of

__all__ = [
    "Change",
    "access_log",
    "claim_site",
    "grant",
    "listing",
    "login_of",
    "require_role",
    "require_role_if_recorded",
    "revoke",
]
