"""Dates and lists typed on the command line, read as the clinic writes them.

A date option (--from, --to, --admitted, --on, --date, --late, close DATE) takes
YYYY-MM-DD or the clinic's date_format ([locale] in screening.toml) and reaches the
services as YYYY-MM-DD; a list option (--meds, --positive...) is separated by "," or ";"
as in CSV files (core/typed.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from screening.services.plumbing import Context

# Day, month and year in some order, as Excel writes them (11/20/2026, 20.11.2026).
_NUMBERED = re.compile(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b")


@overload
def typed_date(context: Context, text: str, what: str) -> str: ...
@overload
def typed_date(context: Context, text: str | None, what: str) -> str | None: ...
def typed_date(context: Context, text: str | None, what: str) -> str | None:
    """A date in the clinic's style as YYYY-MM-DD, or refused naming the style; what is
    not written day-month-year (YYYY-MM-DD, a typo, nothing) goes on to the service."""
    if text is None or not _NUMBERED.match(text):
        return text
    from screening.core.typed import parse_day
    from screening.errors import BadInput

    try:
        return parse_day(text, context.settings.locale.date_format).isoformat()
    except ValueError as error:
        raise BadInput(f"{what} {error}") from None


def typed_moment(context: Context, text: str | None, what: str) -> str | None:
    """A date and time in the clinic's style as YYYY-MM-DDTHH:MM[:SS]; a time alone
    (HH:MM today), ISO 8601 and the rest go on as typed, for the service to read."""
    if text is None or not _NUMBERED.match(text):
        return text
    from screening.core.typed import parse_moment
    from screening.errors import BadInput

    try:
        return parse_moment(text, context.settings.locale.date_format).isoformat()
    except ValueError as error:
        raise BadInput(f"{what} {error}") from None


def typed_list(text: str | None) -> list[str] | None:
    """The items of a list option, separated by "," or ";"; None when not given."""
    if text is None:
        return None
    from screening.core.typed import split_list

    return split_list(text)
