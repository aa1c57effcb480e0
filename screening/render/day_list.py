"""The day's list as the files the daily job leaves in `[notify] directory`: a CSV for
spreadsheets and the front desk's printable sheet (render/front_desk.py)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from screening.render.front_desk import front_desk_html
from screening.render.output import emit_csv


def list_files(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    *,
    site: str,
    day: date,
) -> tuple[str, str]:
    """The list's CSV text (``columns``) and its printable HTML page."""
    buffer = io.StringIO()
    emit_csv(rows, columns, buffer)
    return buffer.getvalue(), front_desk_html(site, day, rows)
