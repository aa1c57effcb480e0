"""The daily job (`schedule run`): the draw at run_at, upkeep through the day, the
delivery of the list, and a checkpoint for the witnesses each day."""

from screening.services.daily.job import next_fire_times, run

__all__ = ["next_fire_times", "run"]
