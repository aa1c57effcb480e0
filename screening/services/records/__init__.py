"""The rows every job shares (sites, clients, screenings' states) with their ledger
entries, and `writing`, the transaction every writing command opens."""

from screening.services.records.sites import settle, zone_in_force

__all__ = ["settle", "zone_in_force"]
