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


@overload
def typed_date(context: Context, text: str, what: str) -> str: ...
@overload
def typed_date(context: Context, text: str | None, what: str) -> str | None: ...
def typed_date(context: Context, text: str | None, what: str) -> str | None:
    """``text`` as YYYY-MM-DD; left out (None or blank) stays as it is."""
    if text is None or not text.strip():
        return text
    from screening.core.typed import parse_day
    from screening.errors import BadInput

    try:
        return parse_day(text, context.settings.locale.date_format).isoformat()
    except ValueError as error:
        raise BadInput(f"{what} {error}") from None


def typed_moment(context: Context, text: str | None, what: str) -> str | None:
    """A date and time in the clinic's style as YYYY-MM-DDTHH:MM[:SS]; a time alone
    (HH:MM today) and ISO 8601 go on as typed, for the service to read and word."""
    if text is None or re.match(r"^\s*(\d{1,2}:\d{2}|\d{4}-)", text):
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
