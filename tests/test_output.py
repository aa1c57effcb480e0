"""Tables: the plain-text fast path draws exactly what rich draws, or stands aside."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from screening.render.output import _plain_table, _rich_table, emit_rows, fit_widths

ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


def _console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, highlight=False, soft_wrap=False)


@st.composite
def tables(draw):  # type: ignore[no-untyped-def]
    columns = draw(st.integers(1, 6))
    headings = draw(st.lists(ASCII.filter(str.strip), min_size=columns, max_size=columns))
    rows = draw(st.lists(st.lists(ASCII, min_size=columns, max_size=columns), min_size=1))
    title = draw(st.none() | ASCII)
    return title, headings, rows


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(20, 200))
def test_the_plain_table_is_rich_s_table_whenever_it_is_used(table, width: int) -> None:  # type: ignore[no-untyped-def]
    title, headings, rows = table
    plain = _plain_table(title, headings, rows, _console(width))
    drawn = _console(width)
    _rich_table(title, headings, rows, drawn)
    if plain is not None:
        assert plain == drawn.file.getvalue()  # type: ignore[attr-defined]


def test_the_plain_table_is_used_for_a_draw_list_and_not_where_rich_would_cut(
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    columns = [("code", "code"), ("status", "status")]
    rows = [{"code": f"C-{n:06d}", "status": "pending"} for n in range(600)]
    assert _plain_table("Draw", ["code", "status"], [["C-1", "pending"]], _console(80))
    emit_rows(rows, columns, title="Draw of 2026-11-27")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Draw of 2026-11-27") and len(printed) == 600 + 5
    # A list wider than the page: names wrap, as rich wraps them.
    headings = ["code", "name", "track", "phase", "why selected", "collect by", "status"]
    wide = [["C-000001", "Synthetic Client 1", "morning", "2", "random", "2026-11-27 17:12"]]
    wide[0].append("pending")
    drawn = _console(80)
    _rich_table("Screening list", headings, wide, drawn)
    plain = _plain_table("Screening list", headings, wide, _console(80))
    assert plain == drawn.file.getvalue() and "Synthetic" in plain.splitlines()[4]  # type: ignore[attr-defined]
    crowded = [["a" * 12] * 8]  # eight columns wider than the page: each folds, none goes
    table = _plain_table(None, [f"c{n}" for n in range(8)], crowded, _console(80))
    assert table is not None and all(f"c{n}" in table for n in range(8))
    assert max(len(line) for line in table.splitlines()) <= 80
    assert _plain_table(None, ["name"], [["Zoë"]], _console(80)) is None
    terminal = Console(file=io.StringIO(), width=80, force_terminal=True)
    assert _plain_table(None, ["code"], [["C-1"]], terminal) is None


@settings(max_examples=200, deadline=None)
@given(tables(), st.integers(20, 200))
def test_a_table_keeps_every_column_within_the_page(table, width: int) -> None:  # type: ignore[no-untyped-def]
    title, headings, rows = table
    widths = fit_widths(headings, rows, width)
    if widths is None:  # not one character a column fits
        assert width - 2 * len(headings) < len(headings)
        return
    assert all(w >= 1 for w in widths) and sum(widths) + 2 * len(widths) <= width
    drawn = _console(width)
    _rich_table(None, headings, rows, drawn)
    lines = drawn.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert all(len(line) <= width for line in lines)
