"""The confidence bounds: exact, monotone, and covering the truth as often as promised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta, binom

from surelabel.bounds import (
    binomial_safe_rate,
    clopper_pearson_interval,
    clopper_pearson_upper,
    hoeffding_upper,
    paper_upper,
)


def test_clopper_pearson_matches_the_beta_quantile():
    k, n = np.array([0, 3, 10, 50]), np.array([100, 100, 400, 60])
    expected = beta.ppf(0.95, k + 1, n - k)
    np.testing.assert_allclose(clopper_pearson_upper(k, n, 0.05), expected, rtol=1e-10)


def test_bounds_are_trivial_without_data():
    assert clopper_pearson_upper(0, 0, 0.05) == 1.0
    assert hoeffding_upper(0, 0, 0.05) == 1.0
    assert clopper_pearson_upper(5, 5, 0.05) == 1.0


@given(k=st.integers(0, 200), extra=st.integers(1, 500), delta=st.floats(0.001, 0.5))
def test_clopper_pearson_is_monotone_in_errors_trials_and_delta(k, extra, delta):
    n = k + extra
    u = clopper_pearson_upper(k, n, delta)
    assert 0.0 <= u <= 1.0
    assert clopper_pearson_upper(k + 1, n + 1, delta) >= u - 1e-12  # one more error
    assert clopper_pearson_upper(k, n + 1, delta) <= u + 1e-12  # one more correct
    assert clopper_pearson_upper(k, n, delta / 2) >= u - 1e-12  # more confidence


@pytest.mark.parametrize("p", [0.005, 0.03, 0.2])
@pytest.mark.parametrize("n", [50, 400])
def test_upper_bounds_cover_the_true_rate_at_their_level(p, n):
    # exact coverage over the binomial distribution, not a Monte Carlo estimate
    k = np.arange(n + 1)
    w = binom.pmf(k, n, p)
    for fn in (clopper_pearson_upper, hoeffding_upper):
        miss = w[fn(k, np.full(k.shape, n), 0.05) < p].sum()
        assert miss <= 0.05 + 1e-9


def test_two_sided_interval_contains_the_estimate():
    lo, hi = clopper_pearson_interval(np.array([0, 7, 20]), np.array([50, 50, 20]), 0.9)
    assert np.all(lo <= np.array([0, 7, 20]) / np.array([50, 50, 20]))
    assert np.all(hi >= np.array([0, 7, 20]) / np.array([50, 50, 20]))
    assert lo[0] == 0.0 and hi[2] == 1.0


def test_paper_heuristic_is_zero_without_errors_whatever_n():
    # the reason it carries no guarantee
    assert paper_upper(0, 26) == 0.0
    assert paper_upper(0, 10_000) == 0.0


@pytest.mark.parametrize("eps", [0.01, 0.05, 0.2])
def test_safe_rate_keeps_the_realised_share_below_epsilon_for_every_larger_count(eps):
    delta = 0.05
    for c in [1, 7, 30, 99, 100, 101, 250, 1234, 5000]:
        p = float(binomial_safe_rate(c, eps, delta))
        for c2 in range(c, c + 400, 7):
            assert binom.sf(np.floor(eps * c2 + 1e-9), c2, p) <= delta + 1e-9


def test_safe_rate_is_monotone_and_tends_to_epsilon():
    c = np.arange(1, 20_000)
    r = binomial_safe_rate(c, 0.01, 0.025)
    assert np.all(np.diff(r) >= 0)
    assert 0.0085 < r[-1] < 0.01
    assert np.all(binomial_safe_rate(c, 0.02, 0.025) >= r)
