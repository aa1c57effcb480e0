"""`clients import FILE.csv`: every row enrolled, or none.

The header is exactly ``code,name,track,phase,admitted_on,medications`` (in any order);
medications are separated by ``;``. Every bad row is reported with its line number,
column and reason before anything is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
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


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"no file at {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise BadInput(f"cannot read {path}: {error.strerror}") from None
    if not data.strip():
        raise BadInput(f"{path} is empty; it needs the header line {HEADER} and one row a client")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadInput(
            f"{path} is not UTF-8 text (line {line} has the byte 0x{data[error.start]:02x}); "
            "save it as \"CSV UTF-8\""
        ) from None


def parse_rows(ctx: Context, path: Path, text: str) -> tuple[list[tuple[int, NewClient]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except csv.Error as error:
        raise BadInput(f"{path}: line 1 is not valid CSV ({error})") from None
    missing = [column for column in COLUMNS if column not in header]
    extra = [column for column in header if column not in COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    if missing or extra or repeated:
        parts = []
        if missing:
            parts.append("missing column " + ", ".join(repr(c) for c in missing))
        if extra:
            parts.append("unknown column " + ", ".join(repr(c) for c in extra))
        if repeated:
            parts.append("repeated column " + ", ".join(repr(c) for c in repeated))
        raise BadInput(f"{path}, line 1: {'; '.join(parts)}; the header must be {HEADER}")
    position = {column: header.index(column) for column in COLUMNS}
    rows: list[tuple[int, NewClient]] = []
    problems: list[str] = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(f"line {reader.line_num}: not valid CSV ({error})")
            continue
        line = reader.line_num
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            problems.append(f"line {line}: {len(fields)} fields where the header has {len(header)}")
            continue
        value = {column: fields[position[column]] for column in COLUMNS}
        try:
            rows.append((line, check_new(
                ctx, value["code"], value["track"], value["phase"], value["name"],
                value["admitted_on"], value["medications"].split(";"),
            )))
        except InvalidFields as invalid:
            problems.extend(f"line {line}, column {column}: {reason}"
                            for column, reason in invalid.problems)
    return rows, problems


def import_clients(ctx: Context, path: Path, dry_run: bool = False) -> ImportResult:
    text = read_text(path)
    rows, problems = parse_rows(ctx, path, text)
    first_line: dict[str, int] = {}
    for line, new in rows:
        if new.code in first_line:
            problems.append(
                f"line {line}, column code: {new.code!r} already appears on line {first_line[new.code]}"
            )
        else:
            first_line[new.code] = line
    if not rows and not problems:
        raise BadInput(f"{path} has a header but no clients; add one row a client")
    if dry_run:
        with ctx.database.read() as session:
            _refuse_problems(path, problems, rows, codes(session, ctx.site))
        return ImportResult(len(rows), True)
    with writing(ctx) as (session, writer):
        _refuse_problems(path, problems, rows, codes(session, ctx.site))
        for _, new in rows:
            enrol(session, writer, ctx, new)
    return ImportResult(len(rows), False)


def _refuse_problems(
    path: Path, problems: list[str], rows: list[tuple[int, NewClient]], enrolled: set[str]
) -> None:
    problems = problems + [
        f"line {line}, column code: client {new.code!r} is already enrolled"
        for line, new in rows if new.code in enrolled
    ]
    if problems:
        problems.sort(key=_line_number)
        raise RowErrors(
            f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}; "
            "nothing was imported. Fix them and import the whole file again",
            problems,
        )


def _line_number(problem: str) -> int:
    return int(problem.split()[1].rstrip(":,"))
