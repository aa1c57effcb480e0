"""The one output path (STYLE §2): table, ``--json`` or CSV on stdout; messages on stderr.

Consoles are made per call so that they write to whatever ``sys.stdout`` is now (tests
swap it). rich follows the terminal and ``NO_COLOR`` for colour.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

Columns = Sequence[tuple[str, str]]  # (key, heading)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def message(text: str) -> None:
    """A note for the person at the terminal (stderr)."""
    print(text, file=sys.stderr)


def warning(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


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


def _words(text: str) -> str:
    """Codes such as unexpected_positive read better as words in a table."""
    return text.replace("_", " ") if text.islower() else text


def emit_rows(
    rows: list[dict[str, Any]],
    columns: Columns,
    *,
    as_json: bool = False,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    if as_json:
        emit_json(rows)
        return
    if not rows:
        message(empty)
        return
    cells = [[_words(_cell(row.get(key))) for key, _ in columns] for row in rows]
    console = _console()
    plain = _plain_table(title, [heading for _, heading in columns], cells, console)
    if plain is not None:
        console.file.write(plain)
        return
    _rich_table(title, [heading for _, heading in columns], cells, console)


def _rich_table(
    title: str | None, headings: list[str], cells: list[list[str]], console: Any
) -> None:
    console.print(_table(title, headings, cells, range(len(cells))))


def _table(
    title: str | None, headings: list[str], cells: list[list[str]], rows: Iterable[int]
) -> Any:
    """The rich table of ``cells``, its columns sized for all of them, with the ``rows``."""
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
    for index, heading in enumerate(headings):
        widest = max([len(heading), *(len(line[index]) for line in cells)])
        # Short values (dates, codes, statuses) never wrap; long text folds at spaces.
        if widest <= 12:
            table.add_column(Text(heading), no_wrap=True, min_width=widest)
        else:
            table.add_column(
                Text(heading), overflow="fold", min_width=min(_longest_word(cells, index), 20)
            )
    for row in rows:
        # Text, not markup: user data such as "[/red]" is shown as typed, never parsed.
        table.add_row(*(Text(cell) for cell in cells[row]))
    return table


def _longest_word(cells: list[list[str]], index: int) -> int:
    return max(len(word) for line in cells for word in (line[index].split() or [""]))


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
    widths = _text_widths(headings, cells, console)
    if widths is None:
        return None
    # SIMPLE_HEAD, no edge padding, collapsed padding: a space at each edge and two
    # between columns.
    width = sum(widths) + 2 * (len(widths) - 1) + 2
    if width > console.width or (title is not None and len(title) > width):
        return None  # rich would cut the table, or wrap its title

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


def _text_widths(headings: list[str], cells: list[list[str]], console: Any) -> list[int] | None:
    """The width rich gives each column's text. At their natural widths when the table
    fits; otherwise rich's own sizing, asked of a table with only the rows that set each
    column's widest value and longest word (all the sizing looks at). None where rich
    would cut a column that must not wrap, or cannot be asked."""
    natural = [
        max(len(headings[index]), *(len(line[index]) for line in cells))
        for index in range(len(headings))
    ]
    if sum(natural) + 2 * (len(natural) - 1) + 2 <= console.width:
        return natural
    telling: set[int] = set()
    for index in range(len(headings)):
        telling.add(max(range(len(cells)), key=lambda row: len(cells[row][index])))
        telling.add(
            max(
                range(len(cells)),
                key=lambda row: max((len(w) for w in cells[row][index].split()), default=0),
            )
        )
    table = _table(None, headings, cells, sorted(telling))
    try:  # rich's own sizing, not a public API: if it moves, rich draws the table
        sized = table._calculate_column_widths(  # noqa: SLF001
            console,
            console.options.update_width(console.width - table._extra_width),  # noqa: SLF001
        )
    except (AttributeError, TypeError):
        return None
    # Each column's right padding, but the last's (and the first's left one) are off.
    widths = [w - (index < len(sized) - 1) for index, w in enumerate(sized)]
    if any(w < n for w, n in zip(widths, natural, strict=True) if n <= 12) or min(widths) < 1:
        return None  # a column that never wraps would be cut, or one left out
    return widths


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
    width = max(len(label) for _, label in fields)
    for key, label in fields:
        sys.stdout.write(f"{label:<{width}}  {_cell(record.get(key))}\n")


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
