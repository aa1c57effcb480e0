"""The auditor's tools: verify (the chain, its replay and every row), checkpoints,
fairness, a client's explanation and day receipt, and the export with its standalone
verifier."""

from screening.services.audit.day_receipts import day_receipt
from screening.services.audit.export_folder import VERIFIER, export
from screening.services.audit.fairness_figures import fairness
from screening.services.audit.one_site import site_scope
from screening.services.audit.receipt import explain
from screening.services.audit.walk import checkpoint, ledger_length, verify

__all__ = [
    "VERIFIER",
    "checkpoint",
    "day_receipt",
    "explain",
    "export",
    "fairness",
    "ledger_length",
    "site_scope",
    "verify",
]
