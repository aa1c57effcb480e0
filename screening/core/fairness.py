"""Statistics of fairness: how likely a client's number of selections is under the
policy, when every day had its own probability.

A client eligible on days with probabilities p1..pn is selected a number of times that
follows the Poisson-binomial law. Its distribution is computed exactly here (dynamic
programming over the days, with fractions turned to floats only at the end of each
step), so "picked 3 times in 9 months" gets an exact chance, not an approximation.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def poisson_binomial(probabilities: Sequence[Fraction | float]) -> list[float]:
    """``pmf[k]`` = the chance of exactly k selections over days with these probabilities."""
    pmf = [1.0]
    for value in probabilities:
        p = float(value)
        q = 1.0 - p
        nxt = [0.0] * (len(pmf) + 1)
        for k, mass in enumerate(pmf):
            if mass:
                nxt[k] += mass * q
                nxt[k + 1] += mass * p
        pmf = nxt
    return pmf


def at_least(pmf: Sequence[float], k: int) -> float:
    """P(X >= k)."""
    return min(1.0, max(0.0, sum(pmf[max(k, 0) :])))


def at_most(pmf: Sequence[float], k: int) -> float:
    """P(X <= k)."""
    return min(1.0, max(0.0, sum(pmf[: max(k, -1) + 1])))


def two_sided(pmf: Sequence[float], observed: int) -> float:
    """The exact two-sided p-value: the total chance of every outcome no more likely than
    the one observed (the usual "minimum likelihood" definition for discrete laws)."""
    if observed < 0 or observed >= len(pmf):
        return 0.0
    threshold = pmf[observed] * (1 + 1e-9)  # ties within rounding count as as-likely
    return min(1.0, sum(mass for mass in pmf if mass <= threshold))


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Adjusted p-values controlling the false discovery rate across many clients."""
    n = len(pvalues)
    order = sorted(range(n), key=lambda i: pvalues[i])
    adjusted = [0.0] * n
    running = 1.0
    for rank in range(n, 0, -1):
        index = order[rank - 1]
        running = min(running, pvalues[index] * n / rank)
        adjusted[index] = running
    return adjusted


def mean(probabilities: Sequence[Fraction | float]) -> float:
    """The expected number of selections: the sum of the daily probabilities."""
    return float(sum(float(p) for p in probabilities))


def variance(probabilities: Sequence[Fraction | float]) -> float:
    return float(sum(float(p) * (1 - float(p)) for p in probabilities))
