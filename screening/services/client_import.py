"""`clients import FILE.csv`: every row enrolled, or none.

The header is exactly ``code,name,track,phase,admitted_on,medications`` (in any order);
medications are separated by ``;``. Every bad row is reported with its line number,
column and reason before anything is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from screening.errors import BadInput, RowErrors
from screening.services.clients import InvalidFields, NewClient, check_new, codes, enrol
from screening.services.context import Context
from screening.services.upkeep import writing

COLUMNS = ("code", "name", "track", "phase", "admitted_on", "medications")
HEADER = ",".join(COLUMNS)


@dataclass(frozen=True)
class ImportResult:
    enrolled: int
    dry_run: bool


def read_text(path: Path, header: str = HEADER) -> str:
    """A CSV file's text: UTF-8 (a byte-order mark allowed), not empty."""
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


@dataclass
class _Parsed:
    rows: list[tuple[int, NewClient]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    # The code of every data row, valid or not, by the line it starts on.
    codes: list[tuple[int, str]] = field(default_factory=list)


def _check_header(path: Path, header: list[str]) -> None:
    missing = [column for column in COLUMNS if column not in header]
    extra = [column for column in header if column not in COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    parts = []
    if missing:
        parts.append("missing column " + ", ".join(repr(c) for c in missing))
    if extra:
        parts.append("unknown column " + ", ".join(repr(c) for c in extra))
    if repeated:
        parts.append("repeated column " + ", ".join(repr(c) for c in repeated))
    if parts:
        raise BadInput(f"{path}, line 1: {'; '.join(parts)}; the header must be {HEADER}")


def parse_rows(ctx: Context, path: Path, text: str) -> _Parsed:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except csv.Error as error:
        raise BadInput(f"{path}: line 1 is not valid CSV ({error})") from None
    _check_header(path, header)
    position = {column: header.index(column) for column in COLUMNS}
    parsed = _Parsed()
    while True:
        # A quoted field may span lines: report a row by the line it starts on.
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.problems.append((line, f"line {line}: not valid CSV ({error})"))
            continue
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            parsed.problems.append(
                (line, f"line {line}: {len(fields)} fields where the header has {len(header)}")
            )
            continue
        value = {column: fields[position[column]] for column in COLUMNS}
        parsed.codes.append((line, value["code"].strip()))
        try:
            parsed.rows.append(
                (
                    line,
                    check_new(
                        ctx,
                        value["code"],
                        value["track"],
                        value["phase"],
                        value["name"],
                        value["admitted_on"],
                        value["medications"].split(";"),
                    ),
                )
            )
        except InvalidFields as invalid:
            parsed.problems.extend(
                (line, f"line {line}, column {column}: {reason}")
                for column, reason in invalid.problems
            )
    return parsed


def _code_problems(parsed: _Parsed, enrolled: set[str]) -> list[tuple[int, str]]:
    """Repeats within the file and codes already enrolled, whatever else is wrong."""
    problems, first_line = [], {}
    for line, code in parsed.codes:
        if code in enrolled:
            problems.append(
                (line, f"line {line}, column code: client {code!r} is already enrolled")
            )
        elif code in first_line:
            problems.append(
                (
                    line,
                    f"line {line}, column code: {code!r} already appears on "
                    f"line {first_line[code]}",
                )
            )
        else:
            first_line[code] = line
    return problems


def _refuse_problems(path: Path, parsed: _Parsed, enrolled: set[str]) -> None:
    problems = sorted(parsed.problems + _code_problems(parsed, enrolled), key=lambda p: p[0])
    if problems:
        count = len(problems)
        raise RowErrors(
            f"{path}: {count} problem{'s' if count > 1 else ''}; nothing was imported. "
            "Fix them and import the whole file again",
            [text for _, text in problems],
        )


def import_clients(ctx: Context, path: Path, dry_run: bool = False) -> ImportResult:
    parsed = parse_rows(ctx, path, read_text(path))
    if not parsed.codes and not parsed.problems:
        raise BadInput(f"{path} has a header but no clients; add one row a client")
    if dry_run:
        with ctx.database.read() as session:
            _refuse_problems(path, parsed, codes(session, ctx.site))
        return ImportResult(len(parsed.rows), True)
    with writing(ctx) as (session, writer):
        _refuse_problems(path, parsed, codes(session, ctx.site))
        for _, new in parsed.rows:
            enrol(session, writer, ctx, new)
    return ImportResult(len(parsed.rows), False)
