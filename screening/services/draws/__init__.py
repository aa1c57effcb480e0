"""The daily draw: its pool, the draw and its amendment, closures and the days without a
draw, the policy in plain figures, its simulation, and the day keys revealed once a day
is over."""

from screening.services.draws.beacon import BeaconNotYet
from screening.services.draws.closures import close, withdraw
from screening.services.draws.days_off import NoDraw, why_no_draw
from screening.services.draws.draw import reveal, select_day
from screening.services.draws.policy import describe
from screening.services.draws.simulation import simulate
from screening.services.draws.view import LIST_COLUMNS, DrawView, today

__all__ = [
    "LIST_COLUMNS",
    "BeaconNotYet",
    "DrawView",
    "NoDraw",
    "close",
    "describe",
    "reveal",
    "select_day",
    "simulate",
    "today",
    "why_no_draw",
    "withdraw",
]
