"""The canonical form is orjson's sorted compact output (core/canonical.py), and that is the
standard library's ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` byte for byte: over generated values (control characters,
non-ASCII, U+2028, the largest safe integers) and over every entry of a generated
clinic. Floats and unsafe integers stay refused, and a text the fast parse does not
accept goes to the reference, which words the problem."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.core.canonical import (
    MAX_SAFE_INTEGER,
    NotCanonical,
    canonical_text,
    canonical_text_of_stored,
    parsed_if_canonical,
    reference_text,
)
from screening.core.ledger import BrokenLink, check_link

ROOT = Path(__file__).resolve().parents[1]

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",))  # lone surrogates: not UTF-8 at all
    | st.sampled_from(["\u2028", "\u2029", "\x00", "\x1f", "\x7f", '"', "\\", "é", "😀"])
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0])
    | _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(_VALUES)
def test_the_fast_encoding_is_the_reference_encoding(value: Any) -> None:
    text = reference_text(value)
    assert canonical_text(value) == text
    assert canonical_text_of_stored(value) == text
    assert parsed_if_canonical(text.encode("utf-8")) == value


@given(_VALUES)
def test_a_text_not_in_canonical_form_is_left_to_the_reference(value: Any) -> None:
    spaced = json.dumps(value, ensure_ascii=True, indent=1)
    if spaced != reference_text(value):
        assert parsed_if_canonical(spaced.encode("utf-8")) is None


@pytest.mark.parametrize(
    "value",
    [1.5, 1.0, [2**53], {"a": -(2**53)}, {"a": [0.0]}, 10**30, {"é": 1}],
)
def test_floats_unsafe_integers_and_non_ascii_keys_are_refused(value: Any) -> None:
    with pytest.raises(NotCanonical):
        canonical_text(value)
    text = reference_text(value).encode("utf-8")
    assert parsed_if_canonical(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"v":1,"x":1.0}', "its text is not canonical JSON (1.0 is not an integer"),
        ('{"v":1,"x":9007199254740992}', "its text is not canonical JSON (integer"),
        ('{"v":1,"x":NaN}', "its text is not canonical JSON (NaN is not an integer"),
        ('{"x":1,"v":1}', "its text is not in canonical form"),
        ('{"v":1,"x":"\\u00e9"}', "its text is not in canonical form"),
        ('{"v":1,"x":"\\ud800"}', "its text is not in canonical form"),
        ('{"v":1, "x":1}', "its text is not in canonical form"),
        ('{"v":1,"v":1}', "its text is not in canonical form"),
    ],
)
def test_check_link_names_each_problem_as_the_reference_does(text: str, problem: str) -> None:
    import hashlib

    with pytest.raises(BrokenLink) as raised:
        check_link(
            seq=1,
            stored_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            canonical=text,
            expected_seq=1,
            expected_prev="0" * 64,
        )
    assert str(raised.value).startswith(problem)


def test_every_entry_of_a_generated_clinic_reads_the_same_both_ways(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), str(tmp_path / "clinic")]
        + ["--clients", "20", "--days", "30"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    connection = sqlite3.connect(tmp_path / "clinic" / "screening.db")
    kinds = set()
    for kind, canonical in connection.execute("SELECT kind, canonical FROM ledger ORDER BY seq"):
        document = json.loads(canonical)
        assert parsed_if_canonical(canonical.encode("utf-8")) == document
        assert canonical_text(document) == reference_text(document) == canonical
        kinds.add(kind)
    # A hold is drawn at random (about one a month in a clinic this size): it is read the
    # same both ways when there is one, and every other kind is always there.
    assert {"genesis", "policy", "client", "draw", "result", "amendment", "reveal"} <= kinds
