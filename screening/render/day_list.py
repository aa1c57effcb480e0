"""The day's list as the files the daily job leaves in `[notify] directory`: a CSV for
spreadsheets and a self-contained HTML page for printing."""

from __future__ import annotations

import io
from typing import Any

from screening.render.output import emit_csv
from screening.render.timeline import render_table_html


def list_files(
    title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]
) -> tuple[str, str]:
    """The list's CSV text and HTML page."""
    buffer = io.StringIO()
    emit_csv(rows, columns, buffer)
    return buffer.getvalue(), render_table_html(title, rows, columns)
