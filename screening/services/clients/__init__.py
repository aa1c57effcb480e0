"""Clients: enrolment (one by one or from a CSV file), changes, holds, discharge and
readmission, each with its ledger entry."""

from screening.services.clients.changes import (
    add,
    discharge,
    hold,
    listing,
    readmit,
    show,
    update,
)
from screening.services.clients.csv_import import import_clients
from screening.services.clients.holds import hold_end, hold_withdraw

__all__ = [
    "add",
    "discharge",
    "hold",
    "hold_end",
    "hold_withdraw",
    "import_clients",
    "listing",
    "readmit",
    "show",
    "update",
]
