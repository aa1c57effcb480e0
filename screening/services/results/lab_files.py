"""A lab's file, whatever its form: `results import` and the drop folder come here.

The form is recognised by content, not by the file's name: HL7 v2 (an ``MSH``, ``FHS``
or ``BHS`` segment first, after an optional byte order mark or MLLP start byte) or the
lab CSV. Either is imported whole or not at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screening.core.hl7v2 import looks_like_hl7
from screening.errors import BadInput
from screening.services.plumbing.context import Context
from screening.services.results.hl7_import import import_hl7
from screening.services.results.lab_import import COLUMNS, import_lab


def import_file(
    ctx: Context, path: Path, dry_run: bool = False, ack_dir: Path | None = None
) -> dict[str, Any]:
    """Import one lab file; returns what was (or, dry, would be) recorded, with a one-line
    ``summary`` that names no client and no result (safe for a job's log). A refused file
    raises BadInput (RowErrors for a file with several problems) and writes nothing."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file; give the path of the lab's file")
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError as error:
        raise BadInput(f"{path}: cannot read it ({error.strerror or error})") from None
    if not head.strip():
        raise BadInput(
            f"{path}: the file is empty (still being written, or cut short?); a lab's HL7 "
            f"file starts with MSH, a lab CSV with the header {','.join(COLUMNS)}"
        )
    if not looks_like_hl7(head) and (b"MSH|" in head or b"\nOBX|" in head):
        # Never quoted: an HL7 message holds the patient's name and date of birth.
        raise BadInput(
            f"{path}: holds HL7 segments, but not from its first byte (a message pasted "
            "into a spreadsheet, or bytes before MSH); import the lab's file as it came"
        )
    if looks_like_hl7(head):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise BadInput(f"{path}: cannot read it ({error.strerror or error})") from None
        return import_hl7(ctx, path, data, dry_run, ack_dir)
    done = import_lab(ctx, path, dry_run)
    verb = "would amend" if dry_run else "amended"
    rows, results = done["rows"], done["results"]
    summary = f"{rows} row{'s' * (rows != 1)}; {verb} {results} result{'s' * (results != 1)}"
    return {"form": "csv", "summary": summary, **done}
