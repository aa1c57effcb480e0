"""Counts in words: "1 hold", "2 holds", "once", "3 times". One helper for every message
the program writes, from the services' summaries to the CLI's lines (render/words.py
re-exports it)."""

from __future__ import annotations

# Nouns whose plural no rule below makes.
_IRREGULAR = {"is": "are", "was": "were", "has": "have", "person": "people"}


def plural_of(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """The count with its noun: "1 hold", "2 holds", "1 entry", "0 entries"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {many or plural_of(noun)}"


def times(count: int) -> str:
    """How often: "once", "twice", "3 times", "0 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def status_words(status: str) -> str:
    """A screening's stored status as a clinic worker says it: ``no_show`` is a no-show,
    ``unable_to_provide`` "unable to provide"."""
    return "no-show" if status == "no_show" else status.replace("_", " ")
