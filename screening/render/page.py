"""What every printed HTML page shares: the template environment, and the running header
each printed page carries (site, date, the client where the document is about one, and
"page N of M"), written as CSS `@page` margin boxes.

Margin boxes are what Chromium prints since version 131 (Chrome, Edge; the installed
headless Chromium makes the screenshots in docs/). A browser without them prints its own
header instead, with the page's title and number: every title names the site, the date
and the client's code, never a name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markupsafe import Markup

CONFIDENTIAL = "Confidential: 42 CFR Part 2"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def environment(*, trim: bool = False) -> Any:
    """The jinja2 environment of render/templates: every value escaped, and the filters
    the page header needs."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("screening", "render/templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=trim,
        lstrip_blocks=trim,
    )
    env.filters["css_string"] = css_string
    env.filters["long_day"] = long_day
    env.globals["CONFIDENTIAL"] = CONFIDENTIAL
    return env


def css_string(text: object) -> Markup:
    """``text`` as a quoted CSS string, safe inside a <style> element: everything but
    plain letters, digits and a few marks written as a CSS escape, so that no quote,
    backslash, newline or "</style>" in a site or client code can end the string or the
    element."""
    from markupsafe import Markup

    plain = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,:;")
    escaped = "".join(c if c in plain else f"\\{ord(c):06x}" for c in str(text))
    return Markup(f'"{escaped}"')  # noqa: S704  every character but the plain ones escaped


def long_day(value: date | str) -> str:
    """ "Fri 4 Dec 2026": a date a person reads at a glance, in any locale."""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:  # a date in another style, shown as it was typed
        return str(value)
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(moment: datetime) -> str:
    """ "6:00 PM": the clinic's local time as a front desk reads it."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def due_words(due_by: str, day: date) -> str:
    """A deadline (ISO, in the clinic's zone) in words: "by 6:00 PM Fri 4 Dec", the year
    added only when it is not the list's."""
    moment = datetime.fromisoformat(due_by)
    words = f"by {clock(moment)} {DAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]}"
    return words if moment.year == day.year else f"{words} {moment.year}"
