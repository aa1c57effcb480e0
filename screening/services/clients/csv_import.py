"""`clients import FILE.csv`: every row enrolled, or none.

The header is exactly ``code,name,track,phase,admitted_on,medications`` (in any order,
the fields separated by commas, semicolons or tabs); medications are separated by ``;``
or ``,``, and admitted_on is YYYY-MM-DD or the clinic's date_format. Every bad row is
reported with its line number, column and reason before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from screening.core.typed import parse_day, split_list
from screening.errors import BadInput, RowErrors
from screening.services.clients.changes import InvalidFields, NewClient, check_new, codes, enrol
from screening.services.plumbing.context import Context
from screening.services.plumbing.csv_files import read_rows
from screening.services.records.upkeep import writing

COLUMNS = ("code", "name", "track", "phase", "admitted_on", "medications")


@dataclass(frozen=True)
class ImportResult:
    enrolled: int
    dry_run: bool
    renamed: tuple[tuple[str, str], ...] = ()  # brand names and synonyms, as generic names


@dataclass
class _Parsed:
    rows: list[tuple[int, NewClient]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    # The code of every data row, valid or not, by the line it starts on.
    codes: list[tuple[int, str]] = field(default_factory=list)


def parse_rows(ctx: Context, path: Path) -> _Parsed:
    rows, problems = read_rows(path, COLUMNS)
    parsed = _Parsed(problems=problems)
    date_format = ctx.settings.locale.date_format
    for line, value in rows:
        parsed.codes.append((line, value["code"].strip()))
        admitted, wrong_day = value["admitted_on"], ""
        if admitted.strip():
            try:
                admitted = parse_day(admitted, date_format).isoformat()
            except ValueError as error:
                # check_new refuses the text too (it reads YYYY-MM-DD only); this
                # reason names the clinic's style and the fix.
                wrong_day = f"admission date {error}"
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
                        admitted,
                        split_list(value["medications"]),
                    ),
                )
            )
        except InvalidFields as invalid:
            parsed.problems.extend(
                (
                    line,
                    f"line {line}, column {column}: "
                    + (wrong_day if column == "admitted_on" and wrong_day else reason),
                )
                for column, reason in invalid.problems
            )
    return parsed


def _code_problems(parsed: _Parsed, enrolled: set[str]) -> list[tuple[int, str]]:
    """Repeats within the file and codes already enrolled, whatever else is wrong."""
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    # Codes are matched case aside when typed (records/clients.find): two that differ
    # only by case would make one of them unreachable that way.
    known = {code.casefold(): code for code in enrolled}
    for line, code in parsed.codes:
        folded = code.casefold()
        if code in enrolled:
            problems.append(
                (line, f"line {line}, column code: client {code!r} is already enrolled")
            )
        elif folded in known:
            problems.append(
                (
                    line,
                    f"line {line}, column code: {code!r} differs only by case from "
                    f"{known[folded]}, already enrolled",
                )
            )
        elif folded in first_line:
            problems.append(
                (
                    line,
                    f"line {line}, column code: {code!r} already appears on "
                    f"line {first_line[folded]}",
                )
            )
        else:
            first_line[folded] = line
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
    parsed = parse_rows(ctx, path)
    if not parsed.codes and not parsed.problems:
        raise BadInput(f"{path} has a header but no clients; add one row a client")
    if dry_run:
        with ctx.database.read() as session:
            _refuse_problems(path, parsed, codes(session, ctx.site))
        return ImportResult(len(parsed.rows), True, _renamed(parsed))
    with writing(ctx) as (session, writer):
        _refuse_problems(path, parsed, codes(session, ctx.site))
        for _, new in parsed.rows:
            enrol(session, writer, ctx, new)
    return ImportResult(len(parsed.rows), False, _renamed(parsed))


def _renamed(parsed: _Parsed) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({pair for _, new in parsed.rows for pair in new.renamed}))
