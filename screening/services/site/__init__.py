"""The installation: `init`, a site's change of time zone, and the database's upgrade
and backup."""

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
    "initialise",
    "medications_to_fix",
    "require_schema",
    "upgrade_schema",
]
