"""The clinic's words for what the program stores, in every text output: statuses,
readings, reasons and kinds as a clinic worker says them, counts with the right noun,
instants in the site's local time, and what needs attention marked in words (and in
colour where the terminal shows it). JSON and CSV keep the stored values."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, tzinfo
from typing import Any, TextIO

# Re-exported: one plural helper for core/, services/, render/ and cli/.
from screening.core.wording import plural as plural
from screening.core.wording import times as times

# Stored value -> what staff read. A value not here is shown with its underscores as
# spaces (``word``), so a new status never prints as an internal name.
WORDS = {
    # a screening's status
    "no_show": "no-show",
    "unable_to_provide": "unable to provide",
    # how a result reads (core/interpret.py)
    "unexpected_positive": "unexpected positive",
    "expected_positive": "expected positive",
    "unexpected_negative": "unexpected negative",
    "possible_tampering": "possible tampering",
    "not_tested": "not tested",
    # why a screening exists
    # (not "overdue": that is a screening past its deadline)
    "interval": "interval (due for a test)",
    "for_cause": "for cause",
    "recollection": "observed recollection",
    # why a client was left out of a day's pool
    "not_a_meeting_day": "not a meeting day",
    "recently_tested": "tested recently",
    # amendment reasons, excuse codes, disclosure purposes
    "lab_report": "lab report",
    "lab_confirmation": "lab confirmation",
    "corrected_report": "corrected report",
    "lab_withdrawal": "withdrawn by the lab",
    "data_entry_error": "data entry error",
    "wrong_client": "wrong client",
    "clinic_error": "clinic error",
    "court_order": "court order",
    # collection methods and specimens
    "point_of_care": "point of care",
    "oral_fluid": "oral fluid",
    # kinds of consent (core/disclosure.py)
    "tpo": "TPO (treatment, payment, operations)",
    # ledger entry kinds
    "draw_amend": "draw amendment",
    "key_rotation": "key rotation",
}
# Why a client was left out of a day's pool, where the stored word alone reads oddly.
LEFT_OUT = {"hold": "on hold", "closure": "clinic closed"}
# Why clients were selected, as counted in a draw's summary ("4 due for a test").
SELECTED_AS = {"interval": "due for a test"}

# What needs someone's attention, and the style it gets on a colour terminal. The marker
# goes with it everywhere, so that it never rests on colour alone (a printout, NO_COLOR,
# a colour-blind reader).
MARK = "!"
ALERT = "bold red"
CAUTION = "bold yellow"
ATTENTION = {
    "unexpected_positive": ALERT,
    "unexpected_negative": ALERT,
    "possible_tampering": ALERT,
    "adulterated": ALERT,
    "substituted": ALERT,
    "no_show": CAUTION,
    "refused": CAUTION,
    "unable_to_provide": CAUTION,
    "overdue": CAUTION,
    "dilute": CAUTION,
    "invalid": CAUTION,
}
_TOKEN = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def word(value: Any) -> str:
    """A stored value as staff say it; anything else as it is."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    if value in WORDS:
        return WORDS[value]
    return value.replace("_", " ") if _TOKEN.fullmatch(value) else value


def in_words(text: str) -> str:
    """Free text from the services ("possible_tampering: specimen dilute") with each
    internal value in it as staff say it."""
    return _TOKEN.sub(lambda found: word(found.group(0)), text)


def attention(value: Any) -> str | None:
    """The style of a value that needs attention, None for one that does not."""
    return ATTENTION.get(value) if isinstance(value, str) else None


def marked(value: Any) -> str:
    """The value in words, with the attention marker when it needs attention."""
    text = word(value)
    return f"{MARK} {text}" if attention(value) else text


def local_time(instant: datetime | str, zone: tzinfo, day: date | None = None) -> str:
    """An instant as the clinic reads it, in the site's zone, 24-hour with the zone's
    abbreviation: "2026-12-04 15:05 EST" (unambiguous, also across a clock change); only
    "15:05 EST" when it falls on ``day``. A time without an offset ("2026-12-04 15:05",
    as some views give it) is taken as the site's local time already."""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    local = instant.astimezone(zone)
    if day is not None and local.date() == day:
        return f"{local:%H:%M %Z}".rstrip()
    return f"{local:%Y-%m-%d %H:%M %Z}".rstrip()


_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")


def instants_in(text: str, zone: tzinfo) -> str:
    """Free text from the services with each ISO instant in it ("2026-11-30T14:00:00Z")
    as ``local_time`` shows it."""
    return _INSTANT.sub(lambda found: local_time(found.group(0), zone), text)


def colour_on(stream: TextIO) -> bool:
    """Colour only on a terminal (or where FORCE_COLOR asks for it, as rich takes it),
    and never under NO_COLOR (no-color.org: any value but the empty one)."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def styled(text: str, style: str | None, stream: TextIO) -> str:
    """``text`` with the ANSI codes of ``style`` where the stream shows colour."""
    if style is None or not colour_on(stream):
        return text
    from rich.console import Console
    from rich.text import Text

    console = Console(force_terminal=True, color_system="standard", highlight=False)
    with console.capture() as capture:
        console.print(Text(text, style=style), end="", soft_wrap=True)
    return capture.get()
