"""The front desk's printable sheet of a day's screenings (`today --format html`, and the
page the daily job leaves in `[notify] directory`): who, on which track, why, collected
by when, and an empty box for the collector's initials and the time collected."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from screening.render.page import due_words, environment, long_day
from screening.render.words import word

# A screening that no longer waits for a specimen: the sheet shows it as done.
OPEN = ("pending", "overdue")


def front_desk_html(
    site: str,
    day: date,
    rows: list[dict[str, Any]],
    *,
    closed: bool = False,
) -> str:
    """The sheet for ``rows`` (a day's list: code, name, track, why, status, due_by),
    sorted by name so that a client who gives a name at the desk is found at once."""
    lines = [
        {
            "code": row["code"],
            "name": row.get("name") or "",
            "track": row.get("track") or "",
            "why": word(row["why"]),
            "due": due_words(row["due_by"], day),
            "open": row["status"] in OPEN,
            "overdue": row["status"] == "overdue",
            "status": word(row["status"]),
        }
        for row in sorted(rows, key=_by_name)
    ]
    waiting = sum(1 for line in lines if line["open"])
    return str(
        environment(trim=True)
        .get_template("front_desk.html")
        .render(
            site=site,
            day=day,
            heading=long_day(day),
            lines=lines,
            waiting=waiting,
            done=len(lines) - waiting,
            overdue=sum(1 for line in lines if line["overdue"]),
            closed=closed,
        )
    )


def _by_name(row: dict[str, Any]) -> tuple[Any, ...]:
    """Names in the order a person reads them down a page: case aside, numbers by value
    ("Client 2" before "Client 10"); a client without a name by code, after the names."""
    name = row.get("name") or ""
    return (not name, _natural(name or row["code"]), _natural(row["code"]))


def _natural(text: str) -> list[tuple[int, Any]]:
    return [
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", text)
        if part
    ]
