"""The options every command spells the same way (docs/cli.md's preamble):

- ``--format`` names the forms a command really has (text, json, csv, html), in any case;
  ``--json`` is short for ``--format json`` (both given and disagreeing: exit 2);
- ``--out FILE`` wherever there is a ``--format``: the output written to FILE, owner-only
  (0600), whole or not at all, never over one of the clinic's own files;
- dates are DATE (YYYY-MM-DD): ``--from``/``--to`` for a range, ``--date`` for "as of";
  a day something happens is named by it (``--admitted``, ``--on``, ``--late``);
- ``--reason`` (and ``--purpose``) is a word from a fixed list only where the record keeps
  a code that is counted (``results amend``, ``results excuse``, ``audit export``): typed in
  any case, with spaces, dashes or underscores, and refused with the list and the closest;
  everywhere else it is free text, kept as typed.

Only typer is imported at module top (STYLE §6).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from screening.services.plumbing import Context, Output


class TextJson(StrEnum):
    text = "text"
    json = "json"


class TextJsonCsv(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


class TextJsonHtml(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class AnyForm(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"
    html = "html"


_FORMAT_HELP = "What to print (default text); --json is short for --format json."
TextJsonFormat = Annotated[
    TextJson | None,
    typer.Option("--format", case_sensitive=False, help=_FORMAT_HELP),
]
TableFormat = Annotated[
    TextJsonCsv | None,
    typer.Option("--format", case_sensitive=False, help=_FORMAT_HELP),
]
PageFormat = Annotated[
    TextJsonHtml | None,
    typer.Option(
        "--format", case_sensitive=False, help=_FORMAT_HELP + " html: one self-contained page."
    ),
]
ReportFormat = Annotated[
    AnyForm | None,
    typer.Option(
        "--format", case_sensitive=False, help=_FORMAT_HELP + " html: one self-contained page."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Write to FILE (readable by you only) instead of the terminal.",
    ),
]

FromOpt = Annotated[
    str | None, typer.Option("--from", metavar="DATE", help="First day, YYYY-MM-DD.")
]
LastOpt = Annotated[str | None, typer.Option("--to", metavar="DATE", help="Last day, YYYY-MM-DD.")]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE", help="Last day, YYYY-MM-DD (default: today)."),
]
# What leaves under a consent (report progress, results export): which one, and from when.
ConsentOpt = Annotated[
    int | None,
    typer.Option(
        "--consent",
        metavar="N",
        min=1,
        max=2**31 - 1,
        help="The consent to disclose under (default: the client's consent in force naming "
        "the recipient; `screening consent list CODE`). A consent to a class of recipients "
        "is always named.",
    ),
]
DisclosedFromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="DATE",
        help="First day, YYYY-MM-DD (default: the first day the consent covers).",
    ),
]


def chosen(form: Enum | None, as_json: bool) -> str:
    """The form asked for: --format's, or json for --json, or text."""
    from screening.errors import BadInput

    if as_json and form is not None and form.value != "json":
        raise BadInput(f"--json and --format {form.value} disagree; give one of them")
    if as_json:
        return "json"
    return str(form.value) if form is not None else "text"


def target(context: Context, out: Path | None, option: str = "--out") -> Output | None:
    """The --out file, checked before any work: never one of the clinic's own files
    (services/plumbing/outputs.py)."""
    from screening.services.plumbing import output

    return output(context.settings, context.database, out, option)


def opened(
    ctx: typer.Context, form: Enum | None, as_json: bool, out: Path | None
) -> tuple[str, Context, Output | None]:
    """What every command with a --format starts with, in this order: the form asked
    for (checked before the database is opened), the command's context, and the --out
    file (checked before any work)."""
    from screening.cli.common import open_context

    chosen_form = chosen(form, as_json)
    context = open_context(ctx)
    return chosen_form, context, target(context, out)


def deliver(text: str, out: Output | None, what: str) -> None:
    """Print, or write a file only its owner can read (it holds treatment records)."""
    from screening.render.output import message

    if out is None:
        sys.stdout.write(text)
    else:
        message(out.write(text, what))


class Held:
    """A disclosure's output, made but not yet out (services/disclosure/gate.py): the
    --out file written under a temporary name (a file already there is refused: a
    disclosed letter is kept as sent), renamed once the disclosure is recorded and
    removed if it is not. The terminal or a pipe cannot be taken back: it is written and
    flushed here, before the disclosure commits, so that a full disk, a closed pipe or a
    reader gone away fails the command and records nothing."""

    def __init__(self, text: str, out: Output | None, what: str) -> None:
        from screening.errors import EnvironmentProblem

        self.payload = text.encode("utf-8")
        self.out, self.what = out, what
        self.staged = None
        if out is not None:
            self.staged = out.stage(self.payload, what)
            return
        if sys.stdout is None:
            raise EnvironmentProblem(
                f"standard output is closed: nowhere to write {what}; give --out FILE. "
                "Nothing was disclosed"
            )
        try:
            sys.stdout.flush()
            sys.stdout.buffer.write(self.payload)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise EnvironmentProblem(
                f"the reader of {what} stopped before the end; nothing was disclosed"
            ) from None
        except OSError as error:
            raise EnvironmentProblem(
                f"writing {what} failed: {error.strerror or error}; nothing was disclosed"
            ) from None

    def release(self) -> None:
        from screening.render.output import message
        from screening.services.plumbing import shown

        if self.staged is None:
            return
        self.staged.place()
        assert self.out is not None
        private = " (readable by you only)" if self.staged.temporary else ""
        message(f"written to {shown(self.out.path)}{private}")

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.discard()


def new_file(out: Output | None, what: str) -> None:
    """A disclosure's --out must be a new file: one already there (an earlier letter,
    kept as it was sent) is refused (exit 2) before any work."""
    from screening.errors import BadInput
    from screening.services.plumbing import shown

    if out is not None and os.path.isfile(out.path):
        raise BadInput(
            f"{shown(out.path)} exists; give a new file name for {what} (a disclosure is "
            "kept as it was sent, never written over)"
        )


@contextlib.contextmanager
def delivered(out: Output | None, what: str) -> Iterator[None]:
    """What the block prints goes to --out's file when there is one (written once the
    block is done: a failure part-way writes nothing)."""
    if out is None:
        yield
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    deliver(buffer.getvalue(), out, what)


def emit_table(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    form: str,
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Rows as a table, JSON or CSV on stdout."""
    from screening.render.output import emit_csv, emit_json, emit_rows

    if form == "json":
        emit_json(rows)
    elif form == "csv":
        emit_csv(rows, columns, sys.stdout)
    else:
        emit_rows(rows, columns, title=title, empty=empty)
