"""When the daily draw fires: once every local day, at ``[schedule] run_at``.

One definition serves `schedule next`, `schedule run` (services/daily/fire_times.py wraps
it in an APScheduler trigger), the draw's own "is it time yet" and `config check`.
APScheduler's cron trigger is not used: after the day clocks spring forward it leaves out
a day for a run_at just after midnight (00:30 in New York on 2027-03-15), and a day
without its draw is a day nobody is screened.

The rule, for each local date:
- run_at exists once that day: that instant;
- run_at falls in the spring gap (02:30 in New York on 2027-03-14): the first instant
  after the gap (03:00 local, the moment the clocks jump to). systemd's calendar timers
  skip such a day instead;
- run_at happens twice (01:30 in New York on 2027-11-07): the first time (as systemd).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def fire_time(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the draw of local ``day`` fires at local time ``at``."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)  # exists (fold=0: the first of two, when repeated)
    # In a gap: fold=0 reads it with the offset before the change (an instant after the
    # gap), fold=1 with the offset after (an instant before it); the change lies between.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())  # whole seconds: changes happen on one
    after = first.astimezone(UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def fire_times(at: time, zone: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """Every fire time at or after ``start``, in order, aware in ``zone``."""
    day = start.astimezone(zone).date() - timedelta(days=1)
    while True:
        fire = fire_time(day, at, zone)
        if fire >= start:
            yield fire.astimezone(zone)
        day += timedelta(days=1)
