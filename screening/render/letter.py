"""A progress letter (services/disclosure/letters.py) as plain text for a terminal or an
email, one letter-size HTML page, or JSON. Every form carries the same sections in the
same words, the §2.32 notice verbatim with the consent's scope, the signature line, and
on a preview the mark that it is not for release."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from typing import Any

from screening.core.disclosure import type_words
from screening.core.letter import day_words
from screening.core.wording import plural
from screening.render.words import word

WIDTH = 76
TITLES = {
    "attendance": "Attendance",
    "results": "Results",
    "missed": "Missed screenings",
    "progress": "Progress",
}


def _percent(value: float | None) -> str:
    return "" if value is None else f" ({value * 100:.0f}%)"


def _attendance(a: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("screenings due", str(a["due"])),
        ("completed", f"{a['completed']}{_percent(a['completion_rate'])}"),
    ]
    if a["excused"]:
        rows.append(("excused", str(a["excused"])))
    if a["open"]:
        rows.append(("still open", str(a["open"])))
    return rows


def _results(r: dict[str, Any]) -> list[tuple[str, str]]:
    negative = str(r["negative"])
    if r["dilute"]:
        negative += f"; note: {plural(r['dilute'], 'dilute specimen')} (a negative, 49 CFR 40.197)"
    positive = str(r["positive"])
    if r["positive"]:
        # Not "0 confirmed", which reads as if the laboratory cleared it.
        unconfirmed = r["positive"] - r["confirmed"]
        said = [f"{r['confirmed']} confirmed by a laboratory"] if r["confirmed"] else []
        if unconfirmed:
            said.append(f"{unconfirmed} on the screening test alone, not confirmed")
        positive += f" ({'; '.join(said)})"
    if r["substances"]:
        found = ", ".join(f"{code} ×{n}" for code, n in r["substances"].items())
        positive += f"; found: {found}"
    rows = [("negative", negative), ("positive (unexpected)", positive)]
    if r["possible_tampering"]:
        rows.append(("possible tampering", str(r["possible_tampering"])))
    if r["awaiting"]:
        rows.append(("awaiting a result", str(r["awaiting"])))
    return rows


def _missed(m: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("no-shows", str(m["no_show"])),
        ("refusals", str(m["refused"])),
        ("unable to provide", str(m["unable_to_provide"])),
    ]
    if m["adulterated_or_substituted"]:
        rows.append(
            ("adulterated or substituted", f"{m['adulterated_or_substituted']} (a refusal)")
        )
    return rows


def _progress(p: dict[str, Any]) -> list[tuple[str, str]]:
    # The run counts random and interval screenings (core/measures.py): a for-cause
    # screening, asked for because of a concern, is in the results but not in the run.
    run = plural(p["current_run"], "random screening") + " negative in a row"
    return [
        ("trend", p["trend"]),
        ("current run", f"{run} (longest {p['longest_run']}; for-cause screenings apart)"),
    ]


SECTIONS = {
    "attendance": _attendance,
    "results": _results,
    "missed": _missed,
    "progress": _progress,
}


def sections(data: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, rows) of each section the letter carries, in the consent's order."""
    return [(TITLES[s], SECTIONS[s](data[s])) for s in data["carries"] if s in data]


def period_words(data: dict[str, Any]) -> str:
    first, last = date.fromisoformat(data["from"]), date.fromisoformat(data["to"])
    return f"{day_words(first)} to {day_words(last)}"


def basis_words(data: dict[str, Any]) -> str:
    """The consent (or order) the letter is made under, as the recipient reads it."""
    made = data["disclosure"]
    return f"no. {made['consent']}, {type_words(made['type'])}"


def signer(data: dict[str, Any]) -> str:
    signed = data["signed_by"]
    return f"{signed['name']}, {signed['role']}"


def render_text(data: dict[str, Any]) -> str:
    """Plain text, 76 columns: a terminal or the body of an email."""
    out: list[str] = []
    mark = data.get("mark")
    if mark:
        out += [mark, ""]
    client = data["client"]
    out += [
        "Progress letter",
        f"From: {data['program']}",
        f"Date: {day_words(date.fromisoformat(data['date']))}",
        f"To: {data['recipient']}",
        f"About: {client['code']}" + (f" {client['name']}" if client["name"] else ""),
        f"Purpose: {_purpose(data)}",
        f"Period: {period_words(data)}",
    ]
    out.append(f"Made under: {basis_words(data)}")
    for title, rows in sections(data):
        out += ["", title]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            out += textwrap.wrap(
                f"{label:<{width}}  {value}",
                WIDTH,
                initial_indent="  ",
                subsequent_indent=" " * (width + 4),
            )
    notice = data["notice"]
    for title, text in (("Notice", notice["statement"]), ("Scope of the consent", notice["scope"])):
        out += ["", title, *textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")]
    out += ["", "", f"Signed: ______________________________  {signer(data)}"]
    if mark:
        out += ["", mark]
    return "\n".join(out) + "\n"


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def render_html(data: dict[str, Any]) -> str:
    """One self-contained letter-size page, every value escaped by the template engine."""
    from screening.render.page import environment

    return str(
        environment(trim=True)
        .get_template("letter.html")
        .render(
            data=data,
            sections=sections(data),
            period=period_words(data),
            dated=day_words(date.fromisoformat(data["date"])),
            basis=basis_words(data),
            signer=signer(data),
            purpose=_purpose(data),
        )
    )


def render(data: dict[str, Any], form: str) -> str:
    """The letter in ``form``: text, html or json."""
    if form == "json":
        return render_json(data)
    if form == "html":
        return render_html(data)
    return render_text(data)


def _purpose(data: dict[str, Any]) -> str:
    """The purpose in words, with the form's own words where it has them."""
    said = word(data["purpose"])
    written = data.get("purpose_as_written")
    return f"{said} ({written})" if written else said
