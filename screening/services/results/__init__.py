"""Results: specimens recorded and amended, a lab's file imported, results read back,
and the screenings' changes after the draw (misses, excusals, for-cause, reversals)."""

from screening.services.results.amendments import amend
from screening.services.results.drop_folder import Swept, log_sweep, sweep
from screening.services.results.findings import Findings
from screening.services.results.lab_files import import_file
from screening.services.results.lab_import import import_lab
from screening.services.results.recording import record
from screening.services.results.screenings import for_cause, mark, reverse
from screening.services.results.views import listing, pending, show

__all__ = [
    "Findings",
    "Swept",
    "amend",
    "for_cause",
    "import_file",
    "import_lab",
    "listing",
    "log_sweep",
    "mark",
    "pending",
    "record",
    "reverse",
    "show",
    "sweep",
]
