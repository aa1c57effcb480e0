"""Exact Poisson-binomial law, two-sided p-values and Benjamini–Hochberg."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.core.fairness import (
    at_least,
    at_most,
    benjamini_hochberg,
    mean,
    poisson_binomial,
    two_sided,
    variance,
)


def test_equal_probabilities_give_the_binomial_law() -> None:
    n, p = 12, 0.3
    pmf = poisson_binomial([p] * n)
    for k in range(n + 1):
        assert pmf[k] == pytest.approx(math.comb(n, k) * p**k * (1 - p) ** (n - k), rel=1e-12)


def test_a_small_case_by_hand() -> None:
    pmf = poisson_binomial([Fraction(1, 2), Fraction(1, 4)])
    assert pmf == pytest.approx([3 / 8, 4 / 8, 1 / 8])
    assert at_least(pmf, 1) == pytest.approx(5 / 8)
    assert at_most(pmf, 0) == pytest.approx(3 / 8)
    # Outcomes no more likely than 2 selections (1/8): only 2 itself.
    assert two_sided(pmf, 2) == pytest.approx(1 / 8)
    assert two_sided(pmf, 1) == pytest.approx(1.0)


def test_certain_and_impossible_days() -> None:
    assert poisson_binomial([1, 1, 0]) == [0.0, 0.0, 1.0, 0.0]
    assert two_sided(poisson_binomial([1, 1]), 1) == 0.0


def test_three_in_nine_months_at_a_low_rate() -> None:
    # About 39 weeks of a 1-day track at p = 1/60 a day: 3 selections is unusual but not
    # impossible; the chance of at least that many is what `audit explain` states.
    pmf = poisson_binomial([Fraction(1, 60)] * 39)
    chance = at_least(pmf, 3)
    assert 0.01 < chance < 0.05
    assert mean([Fraction(1, 60)] * 39) == pytest.approx(0.65)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fractions(min_value=0, max_value=1, max_denominator=50), max_size=40))
def test_the_law_sums_to_one_with_the_right_mean_and_variance(ps) -> None:  # type: ignore[no-untyped-def]
    pmf = poisson_binomial(ps)
    assert sum(pmf) == pytest.approx(1.0)
    assert sum(k * m for k, m in enumerate(pmf)) == pytest.approx(mean(ps), abs=1e-9)
    second = sum(k * k * m for k, m in enumerate(pmf)) - mean(ps) ** 2
    assert second == pytest.approx(variance(ps), abs=1e-9)


def test_benjamini_hochberg_matches_the_textbook_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([]) == []
