"""Interval, test and shrinkage maths against values computed by hand (and published tables)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insight.metrics.stats import (
    beta_interval,
    beta_prior,
    changed,
    mean_interval,
    mean_spread,
    means_differ,
    outside,
    shrink,
    two_proportion_p,
    wilson,
)


def test_wilson_matches_published_values():
    # 0 of 10: (0, 0.2775); 8 of 10: (0.4902, 0.9433) — e.g. Newcombe (1998), table I
    lo, hi = wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.27753, abs=1e-4)
    lo, hi = wilson(8, 10)
    assert (lo, hi) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson(0, 0) is None


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_wilson_contains_the_rate_and_stays_in_0_1(k, n):
    k = min(k, n)
    lo, hi = wilson(k, n)
    assert 0 <= lo <= k / n <= hi <= 1


def test_two_proportion_test_by_hand():
    # 45/50 vs 30/50: pooled 0.75, se = sqrt(0.75·0.25·(1/50 + 1/50)) = 0.08660, z = 3.4641, p = 0.000532
    assert two_proportion_p(45, 50, 30, 50) == pytest.approx(0.000532, abs=2e-6)
    assert changed(45, 50, 30, 50)
    # 98.00 % of 50 vs 98.01 %-ish of 50: no change worth a word
    assert not changed(49, 50, 49, 50) and two_proportion_p(49, 50, 49, 50) == 1.0
    # a week's 3 of 5 against last week's 4 of 5 is noise
    assert not changed(3, 5, 4, 5)
    assert changed(1, 1, 0, 0) is None
    # small samples: Fisher's exact test — 4 of 4 against 2 of 6 is p = 0.0762 (the z-test says 0.035)
    assert two_proportion_p(4, 4, 2, 6) == pytest.approx(0.07619, abs=1e-4) and not changed(4, 4, 2, 6)
    assert two_proportion_p(20, 20, 0, 20) < 1e-9  # all against none is real even for 20 each


def test_outside_the_interval():
    assert outside(0.99, (0.9, 0.95)) == 1 and outside(0.5, (0.9, 0.95)) == -1 and outside(0.92, (0.9, 0.95)) == 0
    assert outside(None, (0.9, 0.95)) == 0 and outside(0.5, None) == 0


def test_beta_prior_by_the_method_of_moments():
    # rates 0.2 and 0.8 of 10 each: mean 0.5; spread 0.09, binomial noise 0.25·(0.05+0.05) = 0.025;
    # between-group variance 0.065 → strength 0.25 / 0.065 − 1 = 2.846
    mean, strength = beta_prior([2, 8], [10, 10])
    assert mean == 0.5 and strength == pytest.approx(0.25 / 0.065 - 1)
    # groups no more spread than noise: everything shrinks to the pooled rate
    mean, strength = beta_prior([5, 5], [10, 10])
    assert mean == 0.5 and strength == 1000.0
    assert math.isnan(beta_prior([], [])[0])


def test_shrinkage_and_its_interval():
    # 0 of 3 toward 0.8 with strength 10: (0 + 8) / (3 + 10)
    assert shrink([0], [3], 0.8, 10)[0] == pytest.approx(8 / 13)
    lo, hi = beta_interval([0], [3], 0.8, 10)
    assert lo[0] < 8 / 13 < hi[0]
    # many units keep their own rate
    assert shrink([100], [1000], 0.8, 10)[0] == pytest.approx(108 / 1010)
    assert np.all(shrink([1, 2], [1, 2], 0.5, 2) < 1)


def test_mean_interval_and_welch_test_by_hand():
    # 10, 20, 30 s: mean 20, s = 10, t(0.975, 2) = 4.302653 → half 4.302653 · 10 / √3 = 24.8414 (cut at 0)
    lo, hi = mean_interval(60, 1400, 3)
    assert lo == 0 and hi == pytest.approx(44.8414, abs=1e-4)
    # 100 values of 30 ± 10 (50 each): mean 30, s² = 100·100/99, t(0.975, 99) = 1.984217
    lo, hi = mean_interval(3000, 50 * 20 ** 2 + 50 * 40 ** 2, 100)
    assert hi - 30 == pytest.approx(1.984217 * math.sqrt(100 * 100 / 99 / 100), abs=1e-5) and lo < 30 < hi
    # Welch: 10, 20, 30 vs 40, 50, 60 — t = 30 / √(100/3 + 100/3) = 3.674, 4 degrees of freedom, p = 0.0213
    assert means_differ((60, 1400, 3), (150, 7700, 3)) is True
    assert means_differ((60, 1400, 3), (75, 2075, 3)) is False  # 15, 25, 35: t = 0.61
    # one value, or squares that cannot belong to the values (parts from before squares were kept): no interval
    assert mean_interval(20, 400, 1) is None and mean_spread(60, 0, 3) is None
    assert means_differ((60, 0, 3), (150, 7700, 3)) is None
    assert mean_interval(60, 1200, 3) == (20.0, 20.0)  # all equal: no spread


@given(st.lists(st.floats(0, 86_400, allow_nan=False), min_size=2, max_size=60))
def test_mean_interval_contains_the_mean(values):
    total, squares = sum(values), sum(v * v for v in values)
    lo, hi = mean_interval(total, squares, len(values))
    assert 0 <= lo <= total / len(values) * (1 + 1e-9) + 1e-9 and hi >= total / len(values) * (1 - 1e-9) - 1e-9
