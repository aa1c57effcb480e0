"""Tables: the plain-text fast path draws exactly what rich draws, or stands aside."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from screening.render.output import _plain_table, _rich_table, emit_rows

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
    cut = [["a" * 12] * 8]  # eight columns that may not wrap: wider than the page
    assert _plain_table(None, [f"c{n}" for n in range(8)], cut, _console(80)) is None
    assert _plain_table(None, ["name"], [["Zoë"]], _console(80)) is None
    terminal = Console(file=io.StringIO(), width=80, force_terminal=True)
    assert _plain_table(None, ["code"], [["C-1"]], terminal) is None


def test_a_rich_without_the_sizing_asked_of_it_draws_the_table_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.table import Table

    monkeypatch.delattr(Table, "_calculate_column_widths")
    wide = [["C-000001", "Synthetic Client 1 " * 5]]
    assert _plain_table(None, ["code", "name"], wide, _console(40)) is None
