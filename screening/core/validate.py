"""Checks on what staff type or import; each failure says what is wrong and the fix."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from screening.config import Settings
from screening.core.vocabulary import Unknown, Vocabulary, fold

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class Invalid(ValueError):
    """A value that cannot be used; str() is the message for the user."""


def parse_date(text: str, what: str) -> date:
    """A date typed as YYYY-MM-DD, read as CSV files' dates are (core/typed.parse_day):
    the clinic's own style reaches here already as YYYY-MM-DD (cli/typed.py)."""
    from screening.core.typed import parse_day

    try:
        return parse_day(text)
    except ValueError as error:
        raise Invalid(f"{what} {error}") from None


def client_code(text: str) -> str:
    code = text.strip()
    if not CODE_PATTERN.match(code):
        raise Invalid(f"client code {text!r} is not usable; use up to 64 letters, digits, . _ / -")
    return code


def close_matches(text: str, known: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Up to three of ``known`` that look like ``text`` (case aside), closest first."""
    import difflib

    folded: dict[str, str] = {}
    for name in sorted(known):
        folded.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(text.strip().casefold(), list(folded), n=3, cutoff=0.6)
    return [folded[name] for name in found]


def did_you_mean(text: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """ "; did you mean X?" for the closest of ``known``, or nothing."""
    found = close_matches(text, known)
    return f"; did you mean {' or '.join(found)}?" if found else ""


def _word(text: str) -> str:
    """A word of a fixed list as typed any way: case, spaces and dashes aside."""
    return "_".join(re.split(r"[\s_-]+", text.strip().casefold())).strip("_")


def choice(text: str, choices: tuple[str, ...], what: str) -> str:
    """One of ``choices`` (words like lab_confirmation), typed in any case with spaces,
    dashes or underscores ("Lab confirmation"); else refused with the list and the
    closest."""
    wanted = _word(text)
    for name in choices:
        if _word(name) == wanted:
            return name
    # Said as staff type them: "lab confirmation", not lab_confirmation.
    said = {name: name.replace("_", " ") for name in choices}
    found = close_matches(wanted.replace("_", " "), list(said.values()))
    raise Invalid(
        f"{what} {text!r} is not one of {', '.join(said.values())}"
        + (f"; did you mean {' or '.join(found)}?" if found else "")
    )


def _configured(known: dict[str, object], text: str, what: str) -> str:
    """A track or phase from the config: as named there, matched case aside when that
    names one only."""
    if text in known:
        return text
    same = [name for name in known if name.casefold() == text.strip().casefold()]
    if len(same) == 1:
        return same[0]
    raise Invalid(
        f"unknown {what} {text!r}{did_you_mean(text, list(known))}; known {what}s: "
        f"{', '.join(sorted(known))}"
    )


def track(settings: Settings, text: str) -> str:
    return _configured(dict(settings.tracks), text, "track")


def phase(settings: Settings, text: str) -> str:
    return _configured(dict(settings.phases), text, "phase")


def medications(items: list[str], vocabulary: Vocabulary) -> list[str]:
    """Generic names, without repeats, sorted: the canonical list kept for a client. A
    brand name or synonym becomes its generic name (see ``renamed``); a name the
    vocabulary does not know is refused with the closest it knows."""
    result: set[str] = set()
    for item in items:
        name = " ".join(item.split())
        if not name:
            continue
        found = vocabulary.resolve_medication(name)
        if isinstance(found, Unknown):
            raise Invalid(
                f"unknown medication {item.strip()!r}{found.did_you_mean()} (generic and "
                "brand names are known; a clinic adds its own under [medications] in "
                "screening.toml)"
            )
        result.add(found)
    return sorted(result)


def renamed(items: list[str], vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """(as typed, generic name) for each brand name or synonym among ``items``."""
    pairs = []
    for item in items:
        name = " ".join(item.split())
        generic = vocabulary.medication(name) if name else None
        if generic is not None and fold(name) != fold(generic):
            pairs.append((name, generic))
    return pairs


def _unicode(text: str | None, what: str) -> str:
    """Text as one Unicode form (NFC: "José" typed either way is one name), refusing
    bytes that are not UTF-8 (a terminal in another encoding passes them as lone
    surrogates, which no database or digest can hold)."""
    value = " ".join((text or "").split())
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise Invalid(
            f"{what} is not valid UTF-8 text (check the terminal's or file's encoding); "
            "type it again"
        )
    return unicodedata.normalize("NFC", value)


def free_text(text: str | None, what: str, required: bool = True) -> str | None:
    value = _unicode(text, what)
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise Invalid(f"{what} contains control characters; type it again as plain text")
    if not value:
        if required:
            raise Invalid(f"{what} is empty; say why in a few words")
        return None
    if len(value) > 500:
        raise Invalid(f"{what} is {len(value)} characters long; keep it under 500")
    return value


def staff_name(text: str | None, what: str) -> str:
    """A staff member's name, as recorded beside actions in the ledger: a name and nothing
    more (up to four words of letters), so no note about a client can ride along. Any
    alphabet works: "José Núñez", "Zoë", "Łukasz"."""
    value = _unicode(text, what)
    words = value.split(" ") if value else []
    plain = all(word.replace(".", "").replace("'", "").replace("-", "").isalpha() for word in words)
    if not words or len(words) > 4 or len(value) > 48 or not plain:
        raise Invalid(
            f"{what} {text!r} is not a staff member's name; give just the name, "
            "e.g. 'Dr A. Lee' (up to four words of letters)"
        )
    return value


# Zones with no place: a clinic keeps its place's daylight-saving rules, which a fixed
# offset (EST is UTC-5 all year) or an old abbreviation does not.
UNIVERSAL = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                       "Etc/Zulu", "Zulu", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "Greenwich",
                       "Etc/Greenwich"})  # fmt: skip


def clinic_zone(text: str) -> str:
    """A time zone a clinic can keep: an IANA name of a place (America/New_York), or UTC
    said on purpose. Refused with the closest place names: an unknown name, an old
    abbreviation or fixed offset (EST, EST5EDT, Etc/GMT+5), a region ("America")."""
    from zoneinfo import available_timezones

    zone = text.strip()
    known = available_timezones()
    universal = {name.casefold(): name for name in UNIVERSAL}
    if zone.casefold() in universal:
        return universal[zone.casefold()]
    places = sorted(name for name in known if "/" in name and not name.startswith("Etc/"))
    if zone in places:
        return zone
    typed = zone.casefold().replace(" ", "_")
    same = [name for name in places if name.casefold() == typed]
    same = same or [name for name in places if name.casefold().rsplit("/", 1)[-1] == typed]
    hint = same or close_matches(zone.replace(" ", "_"), places)
    suggestion = f"did you mean {' or '.join(hint[:3])}?" if hint else "e.g. America/New_York"
    if zone in known:
        raise Invalid(
            f"{zone!r} names no place (an old alias, an abbreviation or a fixed offset, "
            f"which may keep other daylight-saving rules than the clinic's); name the "
            f"clinic's place ({suggestion})"
        )
    raise Invalid(f"{zone!r} is not an IANA time zone; {suggestion}")
