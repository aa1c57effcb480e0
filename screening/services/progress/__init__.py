"""Progress: one client's timeline, the treatment team's report, and the daily
reconciliation of draws, specimens and results."""

from screening.services.progress.client_timeline import letter_facts, timeline
from screening.services.progress.reports import reconcile, team

__all__ = ["letter_facts", "reconcile", "team", "timeline"]
