"""The installation: `init`, a site's change of time zone, and the database's upgrade,
backup and (PostgreSQL) group roles."""

from screening.services.site.db_roles import grant_group, revoke_group
from screening.services.site.db_roles import install as install_roles
from screening.services.site.maintenance import (
    backup,
    medications_to_fix,
    require_schema,
    upgrade_schema,
)
from screening.services.site.setup import initialise
from screening.services.site.timezone import change_timezone, describe

__all__ = [
    "backup",
    "change_timezone",
    "describe",
    "grant_group",
    "initialise",
    "install_roles",
    "medications_to_fix",
    "require_schema",
    "revoke_group",
    "upgrade_schema",
]
