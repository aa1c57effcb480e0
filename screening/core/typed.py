"""Lists and dates as staff type them, on the command line or in a CSV file.

A list is separated by "," or ";" in both places: Excel writes ";" in many locales, and
no medication or analyte name holds either. A date is YYYY-MM-DD always, or in the
clinic's own style (``date_format`` under [locale] in screening.toml): MM/DD/YYYY as
Excel writes dates in the US, DD/MM/YYYY as it does in most other places. A date in a
style the clinic has not chosen is refused with the fix: 03/04/2026 is March or April.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time

ISO = "YYYY-MM-DD"
DATE_FORMATS = (ISO, "MM/DD/YYYY", "DD/MM/YYYY")
SEPARATORS = re.compile(r"[,;]")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Excel drops leading zeros (1/5/2026); "." and "-" between the parts are common too.
_NUMBERED_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_MOMENT = re.compile(
    r"^(?P<day>[0-9/.-]+)(?:[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<half>[AaPp][Mm])?)?$"
)


def split_list(text: str) -> list[str]:
    """The items of a typed list, separated by "," or ";", without blanks."""
    return [item for item in (part.strip() for part in SEPARATORS.split(text)) if item]


def parse_day(text: str, date_format: str = ISO) -> date:
    """A typed date: YYYY-MM-DD, or ``date_format``. ValueError's message starts with
    the text, to follow what it is ("--from", "line 3, column admitted_on:")."""
    typed = text.strip()
    iso = _ISO_DAY.match(typed)
    if iso:
        return _day(text, int(iso[1]), int(iso[2]), int(iso[3]), ISO)
    numbered = _NUMBERED_DAY.match(typed)
    if numbered:
        first, second, year = int(numbered[1]), int(numbered[2]), int(numbered[3])
        if date_format == "MM/DD/YYYY":
            return _day(text, year, first, second, date_format)
        if date_format == "DD/MM/YYYY":
            return _day(text, year, second, first, date_format)
        raise ValueError(f"{text!r} is not a date: {_hint(first, second)}")
    try:
        # What date.fromisoformat took before the clinic's style existed (20261120).
        return date.fromisoformat(typed)
    except ValueError:
        pass
    also = "" if date_format == ISO else f" or {ISO}"
    raise ValueError(f"{text!r} is not a date; write it as {date_format}{also}")


def parse_moment(text: str, date_format: str = ISO) -> datetime:
    """A typed date and time, naive unless it carries an offset: ISO 8601 as before, or
    the clinic's date style with H:MM[:SS] and an optional AM/PM ("11/23/2026 9:45 AM",
    as Excel writes it). A date alone is its midnight."""
    typed = text.strip()
    if re.match(r"^\d{4}-", typed):
        try:
            return datetime.fromisoformat(typed)
        except ValueError:
            parse_day(re.split(r"[T ]", typed)[0])  # a day the calendar lacks, said so
            raise ValueError(f"{text!r} is not a date and time; write YYYY-MM-DDTHH:MM") from None
    match = _MOMENT.match(typed)
    if match is None:
        also = "" if date_format == ISO else f" or {ISO}THH:MM"
        raise ValueError(f"{text!r} is not a date and time; write it as {date_format} HH:MM{also}")
    day = parse_day(match["day"], date_format)
    if match["hour"] is None:
        return datetime.combine(day, time())
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r} is not a time: {hour} {match['half'].upper()}")
        hour = hour % 12 + (12 if match["half"].lower() == "pm" else 0)
    try:
        return datetime.combine(day, time(hour, minute, second))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day") from None


def _day(text: str, year: int, month: int, day: int, style: str) -> date:
    """The date, or why the calendar has no such day, in the style in force."""
    if not 1 <= month <= 12:
        problem = f"there is no month {month}"
    elif not 1 <= day <= calendar.monthrange(year, month)[1]:
        days = calendar.monthrange(year, month)[1]
        problem = f"{calendar.month_name[month]} {year} has {days} days"
    else:
        return date(year, month, day)
    if style == ISO:
        raise ValueError(f"{text!r} is not a date: {problem}")
    raise ValueError(
        f"{text!r} is not a date: {problem} (dates are {style} here, set by date_format "
        f"in screening.toml, or {ISO})"
    )


def _hint(first: int, second: int) -> str:
    """What to do with a date like 11/20/2026 where dates are YYYY-MM-DD."""
    if first > 12 >= second:
        styles = '"DD/MM/YYYY"'
    elif second > 12 >= first:
        styles = '"MM/DD/YYYY"'
    else:
        styles = '"MM/DD/YYYY" or "DD/MM/YYYY"'
    return f"dates are {ISO} here (or set date_format = {styles} under [locale] in screening.toml)"
