"""What the draw needs of one client: the latest state, the holds and the screening
days, and the candidate that makes of the client on a given day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from screening.core.selection import Candidate, in_program


@dataclass
class Member:
    """What the draw needs of one client: the latest state, holds and screening days."""

    site: str | None
    state: dict[str, Any] | None
    # Hold entry -> the days it covers now (ended early: to its new last day; withdrawn:
    # gone). A draw made before the change keeps the candidates it was made with.
    holds: dict[int, tuple[date, date]] = field(default_factory=dict)
    # Screening dates recorded and not cancelled (how many each day).
    screened: Counter[date] = field(default_factory=Counter)
    # Screening dates collected (how many each day), and screenings still pending by
    # their creating entry: (date, deadline). The interval floor's clock under
    # ``interval_from = "collection"``.
    collected: Counter[date] = field(default_factory=Counter)
    open: dict[int, tuple[date, datetime]] = field(default_factory=dict)

    def candidate(self, day: date, at: datetime | None = None) -> Candidate | None:
        state = self.state
        if state is None:
            return None
        admitted = date.fromisoformat(state["admitted_on"])
        discharged = state["discharged_on"]
        if not in_program(admitted, date.fromisoformat(discharged) if discharged else None, day):
            return None
        holds = self.holds
        held = bool(holds) and any(start <= day <= end for start, end in holds.values())
        # The latest collected, or still open (pending, not yet due) at the draw.
        collected, screened = self.collected, self.screened
        tested = max(collected) if collected else None
        if at is not None and self.open:
            for opened, due in self.open.values():
                if due > at and (tested is None or opened > tested):
                    tested = opened
        return Candidate(
            state["uid"],
            state["track"],
            state["phase"],
            admitted,
            held,
            max(screened) if screened else None,
            tested,
        )

    def gone_by(self, day: date) -> bool:
        """Discharged on or before ``day``: in no pool of ``day`` or after."""
        discharged = self.state["discharged_on"] if self.state else None
        return discharged is not None and date.fromisoformat(discharged) <= day
