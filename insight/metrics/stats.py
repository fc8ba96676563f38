"""Honest small samples: an interval for every proportion, a test before a change is called real, and
estimates shrunk toward the whole for rankings (empirical Bayes), so ten ratings never outrank a
thousand by luck.

Proportions are the registry's rates (``Metric.is_rate``: numerator units are a subset of the
denominator's). Means of durations (``Metric.squares``) get Student's t interval and Welch's test from
the sums and sums of squares the parts keep; other means (yuan per buyer, 问答比) carry their n only.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _stats

__all__ = ["SMALL_SAMPLE", "CONFIDENCE", "ALPHA", "wilson", "two_proportion_p", "changed", "counts_changed", "outside", "beta_prior",
           "shrink",
           "beta_interval", "mean_spread", "mean_interval", "means_differ", "SIGNIFICANCE_NOTE"]

SMALL_SAMPLE = 30  # below this many units a figure is labelled a small sample (样本少，谨慎解读)
CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
_Z = float(_stats.norm.ppf(1 - ALPHA / 2))  # 1.96

SIGNIFICANCE_NOTE = ("区间为 95% 置信区间（比率用 Wilson，时长均值用 t 分布）；环比标“显著”表示两期差异的双侧检验"
                     " p < 0.05（比率用两比例检验，样本少时用 Fisher 精确检验；时长用 Welch t 检验），"
                     "否则视为正常波动；与同行的差距，只有同行值落在本店区间之外时才算高于或低于同行。")


def wilson(k: float, n: float, z: float = _Z) -> tuple[float, float] | None:
    """The Wilson score interval of ``k`` successes in ``n`` (None when n = 0): never outside [0, 1],
    sensible at k = 0 or k = n, where the normal interval collapses to a point."""
    if not n or n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 or k = n the bound is exactly the rate (rounding would put it a hair inside)
    return (0.0 if k <= 0 else max(0.0, centre - half)), (1.0 if k >= n else min(1.0, centre + half))


def two_proportion_p(k1: float, n1: float, k0: float, n0: float) -> float | None:
    """Two-sided p-value that two rates differ (None without units on either side): the pooled
    two-proportion z-test, or Fisher's exact test when an expected cell count is below 5 — where the
    normal approximation calls 4 of 4 against 2 of 6 a real change."""
    if not n1 or not n0 or n1 <= 0 or n0 <= 0:
        return None
    pooled = (k1 + k0) / (n1 + n0)
    if min(n1, n0) * min(pooled, 1 - pooled) < 5:
        table = [[round(k1), round(n1 - k1)], [round(k0), round(n0 - k0)]]
        return float(_stats.fisher_exact(table, alternative="two-sided").pvalue)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:  # both sides all 0 or all 1: no difference to test
        return 1.0
    z = (k1 / n1 - k0 / n0) / se
    return float(2 * _stats.norm.sf(abs(z)))


def changed(k1: float, n1: float, k0: float, n0: float, alpha: float = ALPHA) -> bool | None:
    """Whether a rate moved beyond what chance explains at ``alpha`` (None: nothing to compare)."""
    p = two_proportion_p(k1, n1, k0, n0)
    return None if p is None else p < alpha


def counts_changed(k1: float, k0: float, alpha: float = ALPHA, ratio: float = 1.0) -> bool | None:
    """Whether a count (a tag's mentions) moved beyond chance between two periods of equal exposure
    (``ratio``: this period's length over the previous one's): given the k1 + k0 events, k1 is binomial with
    p = ratio / (1 + ratio) when nothing changed (the exact conditional test of two Poisson rates). 2 → 5
    is within chance (p ≈ 0.45); None when neither period has any."""
    total = round(k1) + round(k0)
    if total <= 0:
        return None
    p = float(_stats.binomtest(round(k1), total, ratio / (1 + ratio), alternative="two-sided").pvalue)
    return p < alpha


def mean_spread(total: float, squares: float, n: float) -> tuple[float, float] | None:
    """(mean, sample variance) of ``n`` values from their sum and sum of squares; None below two values,
    or when the squares cannot belong to these values (Σx² < (Σx)²/n beyond rounding: squares missing,
    e.g. parts derived before they were kept)."""
    if not n or n < 2 or squares is None or squares != squares:
        return None
    mean = total / n
    spread = squares - n * mean * mean
    if spread < -1e-6 * max(squares, n * mean * mean, 1.0):
        return None
    return mean, max(spread, 0.0) / (n - 1)


def mean_interval(total: float, squares: float, n: float, level: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student's t interval of a mean (never below 0: durations), from Σx, Σx² and n."""
    spread = mean_spread(total, squares, n)
    if spread is None:
        return None
    mean, variance = spread
    half = float(_stats.t.ppf(1 - (1 - level) / 2, n - 1)) * math.sqrt(variance / n)
    return max(0.0, mean - half), mean + half


def means_differ(a: tuple[float, float, float], b: tuple[float, float, float], alpha: float = ALPHA) -> bool | None:
    """Whether two means (each as Σx, Σx², n) differ beyond chance: Welch's t-test, two-sided (None:
    nothing to compare)."""
    sa, sb = mean_spread(*a), mean_spread(*b)
    if sa is None or sb is None:
        return None
    (ma, va), (mb, vb), na, nb = sa, sb, a[2], b[2]
    se2 = va / na + vb / nb
    if se2 == 0:
        return ma != mb
    dof = se2 * se2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    p = 2 * float(_stats.t.sf(abs(ma - mb) / math.sqrt(se2), dof))
    return p < alpha


def outside(value: float | None, interval: tuple[float, float] | None) -> int:
    """+1 when ``value`` lies above the interval, −1 below, 0 inside (or nothing to compare)."""
    if value is None or interval is None or value != value:
        return 0
    lo, hi = interval
    return 1 if value > hi else (-1 if value < lo else 0)


def beta_prior(k, n, *, min_strength: float = 2.0, max_strength: float = 1000.0) -> tuple[float, float]:
    """Empirical Bayes: a Beta prior (mean, strength = α + β) fitted to groups' successes ``k`` of
    ``n`` by the method of moments. The mean is the pooled rate (the whole's); the strength says how
    alike the groups are — the observed spread of their rates minus what binomial noise alone
    explains. Groups no more spread than noise get ``max_strength`` (everything shrinks to the mean)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if not len(n) or n.sum() == 0:
        return float("nan"), min_strength
    mean = float(k.sum() / n.sum())
    if len(n) < 2 or mean in (0.0, 1.0):
        return mean, max_strength
    rates = k / n
    weights = n / n.sum()
    spread = float(np.sum(weights * (rates - mean) ** 2))  # weighted variance of the rates
    noise = mean * (1 - mean) * float(np.sum(weights / n))  # what binomial noise alone gives
    between = spread - noise
    if between <= 0:
        return mean, max_strength
    strength = mean * (1 - mean) / between - 1
    return mean, float(min(max(strength, min_strength), max_strength))


def shrink(k, n, mean: float, strength: float):
    """The posterior mean of each group's rate under the Beta(mean·s, (1−mean)·s) prior: its own rate
    where it has many units, the whole's where it has few."""
    return (np.asarray(k, float) + mean * strength) / (np.asarray(n, float) + strength)


def beta_interval(k, n, mean: float, strength: float, level: float = CONFIDENCE):
    """The central ``level`` posterior interval of each group's rate (arrays lo, hi)."""
    a = np.asarray(k, float) + mean * strength
    b = np.asarray(n, float) - np.asarray(k, float) + (1 - mean) * strength
    tail = (1 - level) / 2
    return _stats.beta.ppf(tail, a, b), _stats.beta.ppf(1 - tail, a, b)
