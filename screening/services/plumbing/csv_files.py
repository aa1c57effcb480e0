"""Reading the CSV files staff and labs hand over: UTF-8 (Excel's byte-order mark
allowed), one exact set of columns in any order, rows reported by the line they start on.

Fields are separated by commas, semicolons (Excel's "CSV" where the decimal mark is a
comma) or tabs (Excel's "Unicode text"): the header line says which, by the separator
under which it names the most expected columns, never by guessing from the data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from screening.errors import BadInput

Row = tuple[int, dict[str, str]]
# Checked in this order: a tie goes to the comma.
DELIMITERS = (",", ";", "\t")
Problem = tuple[int, str]


def read_text(path: Path, header: str) -> str:
    """A CSV file's text; a missing, unreadable, non-UTF-8 or empty file is refused."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"no file at {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadInput(
            f"{path} is not UTF-8 text (line {line} has the byte 0x{data[error.start]:02x}); "
            'save it as "CSV UTF-8"'
        ) from None
    if not text.strip():
        raise BadInput(f"{path} is empty; it needs the header line {header} and a row a line")
    return text


def read_rows(
    path: Path, columns: Sequence[str], optional: Sequence[str] = ()
) -> tuple[list[Row], list[Problem]]:
    """Every data row as ``(line, {column: text})``, and the rows that could not be read.

    The header must name exactly ``columns``, and may name ``optional`` ones too (empty
    in every row when absent); blank lines are skipped.
    """
    text = read_text(path, ",".join(columns))
    delimiter, skipped = _delimiter(path, text, columns, optional)
    expected = (";" if delimiter == ";" else ",").join(columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for _ in range(skipped):
            next(reader)
        header = [column.strip().lower() for column in next(reader)]
    except csv.Error as error:
        raise BadInput(f"{path}: line {1 + skipped} is not valid CSV ({error})") from None
    _check_header(path, 1 + skipped, header, columns, expected, optional)
    rows: list[Row] = []
    problems: list[Problem] = []
    while True:
        # A quoted field may span lines: report a row by the line it starts on.
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append((line, f"line {line}: not valid CSV ({error})"))
            continue
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            problems.append(
                (line, f"line {line}: {len(fields)} fields where the header has {len(header)}")
            )
            continue
        rows.append(
            (
                line,
                {
                    column: fields[header.index(column)] if column in header else ""
                    for column in (*columns, *optional)
                },
            )
        )
    return rows, problems


def _delimiter(
    path: Path, text: str, columns: Sequence[str], optional: Sequence[str]
) -> tuple[str, int]:
    """The field separator, and how many lines come before the header (Excel's "sep=;")."""
    first = text.splitlines()[0].strip("\r\n ")
    if first.lower().startswith("sep=") and len(first) == 5:  # the separator may be a tab
        return first[4], 1
    known = {*columns, *optional}
    named = {
        delimiter: sum(
            1
            for field in next(csv.reader([first], delimiter=delimiter))
            if field.strip().lower() in known
        )
        for delimiter in DELIMITERS
    }
    best = max(DELIMITERS, key=named.__getitem__)
    if not named[best]:
        # A file without its header, or meant for another command: said so, rather than
        # every column "missing" and the whole line one "unknown column".
        also = f" (and may add {', '.join(optional)})" if optional else ""
        raise BadInput(
            f"{path}, line 1: the header names none of the columns expected; it must be "
            f"{','.join(columns)}{also}, separated by commas, semicolons or tabs"
        )
    return best, 0


def _check_header(
    path: Path,
    line: int,
    header: list[str],
    columns: Sequence[str],
    expected: str,
    optional: Sequence[str] = (),
) -> None:
    missing = [column for column in columns if column not in header]
    extra = [column for column in header if column not in columns and column not in optional]
    repeated = sorted({column for column in header if header.count(column) > 1})
    parts = []
    if missing:
        parts.append("missing column " + ", ".join(repr(c) for c in missing))
    if extra:
        parts.append("unknown column " + ", ".join(repr(c) for c in extra))
    if repeated:
        parts.append("repeated column " + ", ".join(repr(c) for c in repeated))
    if parts:
        also = f" (and may add {', '.join(optional)})" if optional else ""
        raise BadInput(
            f"{path}, line {line}: {'; '.join(parts)}; the header must be {expected}{also}"
        )
