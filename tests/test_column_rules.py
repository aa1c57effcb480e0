"""Every stored column has a rule saying how `audit verify` checks it (issue 14: "every
stored column is either in the ledger or recomputed from it"). A column added later
without one fails here, so that nobody adds a column verify does not look at."""

from __future__ import annotations

from sqlmodel import SQLModel

import screening.db.models  # noqa: F401  (every table registered)
from screening.services.audit.column_rules import (
    COLUMN_RULES,
    CONTENT,
    DIGEST,
    RULES,
    SALT,
    SALTED_TEXT,
)


def _stored() -> dict[str, list[str]]:
    return {t.name: [c.name for c in t.c] for t in SQLModel.metadata.sorted_tables}


def test_every_column_of_every_table_has_a_rule() -> None:
    stored = _stored()
    missing = [
        f"{table}.{column}"
        for table, columns in stored.items()
        for column in columns
        if column not in COLUMN_RULES.get(table, {})
    ]
    assert not missing, (
        "columns with no rule for `audit verify` (add one to COLUMN_RULES in "
        f"services/audit/column_rules.py, and the check it names): {missing}"
    )
    gone = [
        f"{table}.{column}"
        for table, columns in COLUMN_RULES.items()
        for column in columns
        if column not in stored.get(table, [])
    ]
    assert not gone, f"rules for columns that no longer exist: {gone}"


def test_each_rule_is_one_verify_carries_out() -> None:
    for table, columns in COLUMN_RULES.items():
        for column, rule in columns.items():
            assert rule in RULES, f"{table}.{column}: unknown rule {rule!r}"


def test_the_rule_list_reads_as_a_table() -> None:
    """Every table, every column and its rule, as an auditor reads them."""
    lines = [
        f"{table}.{column}: {rule}"
        for table, columns in COLUMN_RULES.items()
        for column, rule in columns.items()
    ]
    assert "ledger.at: copied from the entry: must equal what its hashed text says" in lines
    assert "holds.id: id: a table's ids and listed gaps are exactly 1..n" in lines
    assert (
        "draw_amendments.draw_id: row link: must name a row that exists, the one the "
        "ledger entry names" in lines
    )
    assert len(lines) == sum(len(columns) for columns in _stored().values())


def test_a_salt_with_no_text_always_beside_it_names_its_texts() -> None:
    """A salt is checked through the digests it salts. Where no text is always there
    (every one may be NULL), the table must list its texts in SALTED_TEXT, so that
    verify requires the salt empty when there are none: a salt that salts nothing would
    be a value nobody checks."""
    tables = SQLModel.metadata.tables
    for table, columns in COLUMN_RULES.items():
        if columns.get("salt") != SALT:
            continue
        always = [
            name
            for name, rule in columns.items()
            if rule in (DIGEST, CONTENT) and not tables[table].c[name].nullable
        ]
        if not always:
            assert table in SALTED_TEXT, f"{table}.salt may salt nothing: list its texts"
    for table, texts in SALTED_TEXT.items():
        assert all(tables[table].c[text].nullable for text in texts)
        assert all(COLUMN_RULES[table][text] == DIGEST for text in texts)
