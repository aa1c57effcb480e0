"""Checkpoints kept outside the database: made after each write, delivered to the
witnesses, and read back by verify and export."""

from screening.services.witness.publishing import publish, publish_quietly

__all__ = ["publish", "publish_quietly"]
