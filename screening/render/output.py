"""The one output path (STYLE §2): table, ``--json`` or CSV on stdout; messages on stderr.

Consoles are made per call so that they write to whatever ``sys.stdout`` is now (tests
swap it). rich follows the terminal and ``NO_COLOR`` for colour.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

Columns = Sequence[tuple[str, str]]  # (key, heading)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    # No styles at all under NO_COLOR (rich alone would keep bold); rich itself leaves
    # them out where stdout is not a terminal. What needs attention is marked in words
    # too (render/words.py).
    if os.environ.get("NO_COLOR", ""):
        return Console(stderr=stderr, highlight=False, soft_wrap=False, color_system=None)
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def message(text: str) -> None:
    """A note for the person at the terminal (stderr)."""
    print(text, file=sys.stderr)


def attention(text: str, style: str | None = None) -> None:
    """A note on stderr that needs a look: coloured on a terminal, and marked in words."""
    from screening.render.words import ALERT, MARK, styled

    print(styled(f"{MARK} {text}", style or ALERT, sys.stderr), file=sys.stderr)


def warning(text: str) -> None:
    from screening.render.words import CAUTION, styled

    print(styled(f"warning: {text}", CAUTION, sys.stderr), file=sys.stderr)


def error(text: str) -> None:
    from screening.render.words import ALERT, styled

    print(styled(f"error: {text}", ALERT, sys.stderr), file=sys.stderr)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def emit_rows(
    rows: list[dict[str, Any]],
    columns: Columns,
    *,
    title: str | None = None,
    empty: str = "nothing to show",
    alert: Sequence[str] = (),
) -> None:
    """Rows as a table in the clinic's words (render/words.py); JSON and CSV, which keep
    the stored values, are emit_json's and emit_csv's. A cell that needs attention is
    marked (and coloured on a terminal); so is every non-empty cell of the ``alert``
    columns (e.g. the team report's flags)."""
    if not rows:
        message(empty)
        return
    cells: list[list[str]] = []
    styles: list[list[str | None]] = []
    for row in rows:
        cells.append([])
        styles.append([])
        for key, _ in columns:
            text, style = _shown(row.get(key), key in alert)
            cells[-1].append(text)
            styles[-1].append(style)
    console = _console()
    headings = [heading for _, heading in columns]
    plain = _plain_table(title, headings, cells, console)
    if plain is not None:
        console.file.write(plain)
        return
    _rich_table(title, headings, cells, console, styles)


def _shown(value: Any, alert: bool) -> tuple[str, str | None]:
    """A cell's text and style: the value in words, marked when it needs attention."""
    from screening.render import words

    if isinstance(value, (list, tuple)):
        text = ", ".join(words.in_words(str(item)) for item in value)
        style = words.ALERT if alert and text else None
        return (f"{words.MARK} {text}" if style else text), style
    if isinstance(value, str):
        style = words.attention(value) or (words.ALERT if alert and value else None)
        text = words.WORDS.get(value) or words.in_words(value)
        return (f"{words.MARK} {text}" if style else text), style
    return _cell(value), None


def _rich_table(
    title: str | None,
    headings: list[str],
    cells: list[list[str]],
    console: Any,
    styles: list[list[str | None]] | None = None,
) -> None:
    console.print(_table(title, headings, cells, console.width, styles))


def _table(
    title: str | None,
    headings: list[str],
    cells: list[list[str]],
    width: int,
    styles: list[list[str | None]] | None = None,
) -> Any:
    """The rich table of ``cells``, every column given a width that keeps the table
    within ``width`` (``fit_widths``): no column is ever cut off the page."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # Light rules leave the columns the room an 80-column terminal has.
    # Text, not markup, here too: a title or heading is shown as written.
    table = Table(
        title=Text(title) if title else None,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    widths = fit_widths(headings, cells, width)
    for index, heading in enumerate(headings):
        table.add_column(
            Text(heading),
            overflow="fold",
            width=None if widths is None else widths[index],
            no_wrap=widths is None,
        )
    for at, line in enumerate(cells):
        # Text, not markup: user data such as "[/red]" is shown as typed, never parsed.
        row_styles = styles[at] if styles else [None] * len(line)
        table.add_row(
            *(Text(cell, style=style or "") for cell, style in zip(line, row_styles, strict=True))
        )
    return table


def _longest_word(texts: Iterable[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


def fit_widths(headings: list[str], cells: list[list[str]], width: int) -> list[int] | None:
    """Each column's text width for a table ``width`` wide. Every column at its widest
    value when the table fits; otherwise, at each stage below, the widest column gives up
    a character at a time, so that the columns of long text (names, long codes,
    sentences) wrap before the short values (dates, times, statuses) do. A column is
    never dropped. None when not even one character a column fits."""
    count = len(headings)
    # SIMPLE_HEAD, no edge padding, collapsed padding: a space at each edge and two
    # between columns.
    room = width - 2 * (count - 1) - 2
    if room < count:
        return None
    columns = [[headings[index], *(line[index] for line in cells)] for index in range(count)]
    widths = [max(len(text) for text in texts) for texts in columns]
    words = [_longest_word(texts) for texts in columns]
    short = [
        words[index] <= SHORT_WORD and max(len(text) for text in texts[1:] or [""]) <= SHORT_TEXT
        for index, texts in enumerate(columns)
    ]
    # Long text (names, long codes, sentences) first wraps at spaces, then folds its
    # long words to ten characters; only then do short values wrap at spaces; then long
    # text folds further; then headings fold (a date is never cut for its column's
    # name), and short values fold last of all.
    long = [not flag for flag in short]
    values = [_longest_word(texts[1:]) or 1 for texts in columns]
    stages = (
        [words[i] if long[i] else widths[i] for i in range(count)],
        [min(words[i], FOLDED) if long[i] else widths[i] for i in range(count)],
        [min(words[i], FOLDED) if long[i] else words[i] for i in range(count)],
        [1 if long[i] else words[i] for i in range(count)],
        [1 if long[i] else values[i] for i in range(count)],
        [1] * count,
    )
    for floor in stages:
        while sum(widths) > room:
            wide = [index for index in range(count) if widths[index] > floor[index]]
            if not wide:
                break
            widest = max(wide, key=lambda index: widths[index])
            widths[widest] -= 1
    return widths


# A column whose words are no longer than this, and values no longer than SHORT_TEXT
# (dates, statuses, numbers), keeps its words whole while any other column can fold.
SHORT_WORD = 12
SHORT_TEXT = 24
FOLDED = 10


def _plain_table(
    title: str | None, headings: list[str], cells: list[list[str]], console: Any
) -> str | None:
    """The table exactly as ``_rich_table`` draws it, made with plain string joins, when
    rich would add nothing but its layout: output to a file or pipe (no styles) and ASCII
    text on one line per cell. None otherwise. A draw list of a few hundred rows took rich
    most of `select`'s time; this takes almost none. (tests/test_output.py compares the
    two on generated tables.)"""
    if console.is_terminal or console.color_system is not None:
        return None
    title = title or None  # rich shows no empty title
    texts = [*headings, *(cell for line in cells for cell in line)]
    if title is not None:
        texts.append(title)
    if not all(text.isascii() and text.isprintable() for text in texts):
        return None
    widths = fit_widths(headings, cells, console.width)
    if widths is None:
        return None
    width = sum(widths) + 2 * (len(widths) - 1) + 2
    if title is not None and len(title) > width:
        return None  # rich would wrap the title

    def lines(values: list[str], header: bool = False) -> list[str]:
        wrapped = [_wrap(value, w, console) for value, w in zip(values, widths, strict=True)]
        height = max(len(cell) for cell in wrapped)
        if header:  # rich sets headings on the bottom line of their row
            wrapped = [[""] * (height - len(cell)) + cell for cell in wrapped]
        return [
            " "
            + "  ".join(
                (cell[at] if at < len(cell) else "").ljust(w)
                for cell, w in zip(wrapped, widths, strict=True)
            )
            + " \n"
            for at in range(height)
        ]

    blank = " " * width + "\n"
    parts = [title.ljust(width) + "\n"] if title is not None else []
    parts += [blank, *lines(headings, header=True), " " + "\u2500" * (width - 2) + " \n"]
    for values in cells:
        parts += lines(values)
    parts.append(blank)
    return "".join(parts)


def _wrap(text: str, width: int, console: Any) -> list[str]:
    if len(text) <= width:
        return [text]
    from rich.text import Text

    return [line.plain for line in Text(text).wrap(console, width, overflow="fold")]


def emit_record(record: dict[str, Any], fields: Columns, *, as_json: bool = False) -> None:
    """One item as "label: value" lines, or JSON."""
    if as_json:
        emit_json(record)
        return
    from screening.render.words import styled

    width = max(len(label) for _, label in fields)
    for key, label in fields:
        text, style = _shown(record.get(key), False)
        sys.stdout.write(f"{label:<{width}}  {styled(text, style, sys.stdout)}\n")


def emit_csv(rows: list[dict[str, Any]], columns: Columns, handle: Any) -> None:
    writer = csv.writer(handle)
    writer.writerow([key for key, _ in columns])
    for row in rows:
        writer.writerow([_spreadsheet_safe(_cell(row.get(key))) for key, _ in columns])


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @) is quoted to stay text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
