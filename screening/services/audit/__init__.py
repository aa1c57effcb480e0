"""The auditor's tools: verify (the chain, its replay and every row), checkpoints,
fairness, a client's receipt, and the export with its standalone verifier."""

from screening.services.audit.explain import explain
from screening.services.audit.export import VERIFIER, export
from screening.services.audit.fairness import fairness
from screening.services.audit.verify import checkpoint, verify

__all__ = ["VERIFIER", "checkpoint", "explain", "export", "fairness", "verify"]
