"""Properties of the threshold math, for every bound and search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from surelabel import estimate_thresholds, select_confident
from surelabel.bounds import clopper_pearson_upper

SETTINGS = [("clopper-pearson", "union"), ("clopper-pearson", "per-class"), ("hoeffding", "union"), ("paper", "union")]


@st.composite
def validation_sets(draw, max_classes=4, max_n=1500):
    """Scores on a coarse grid (ties are real), errors more likely at low scores."""
    k = draw(st.integers(2, max_classes))
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    err_level = draw(st.sampled_from([0.0, 0.01, 0.05, 0.3]))
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 101, n) / 100
    y_pred = rng.integers(0, k, n)
    wrong = rng.random(n) < err_level * (1.5 - scores)
    y_true = np.where(wrong, (y_pred + 1 + rng.integers(0, k - 1, n)) % k, y_pred)
    return scores, y_pred, y_true, k


def _est(data, eps, bound, search, **kw):
    s, p, t, k = data
    return estimate_thresholds(s, p, t, n_classes=k, epsilon=eps, delta=0.05, bound=bound, search=search, **kw)


@pytest.mark.parametrize("bound,search", SETTINGS)
@given(data=validation_sets(), eps=st.floats(0.005, 0.4), extra=st.floats(0.0, 0.3))
def test_relaxing_epsilon_never_raises_a_threshold(bound, search, data, eps, extra):
    tight = _est(data, eps, bound, search)
    loose = _est(data, min(eps + extra, 0.99), bound, search)
    assert np.all(loose.thresholds <= tight.thresholds)


@pytest.mark.parametrize("bound,search", SETTINGS)
@given(data=validation_sets(), eps=st.floats(0.005, 0.4))
def test_every_finite_threshold_meets_its_bound_on_the_validation_data(bound, search, data, eps):
    s, p, t, k = data
    est = _est(data, eps, bound, search)
    sel = select_confident(s, p, est.thresholds)
    for c in est.certified_classes:
        in_c = sel & (p == c)
        assert est.n_selected[c] == in_c.sum()
        assert est.n_errors[c] == (in_c & (t != c)).sum()
        assert est.support[c] >= est.min_support
        if search == "per-class" or bound == "paper":
            assert est.upper_bound[c] <= est.target <= eps + 1e-12
        else:  # only the union is certified: no class carries the pooled bound as if it were its own
            assert np.isnan(est.upper_bound[c])
            assert est.union_upper_bound <= est.target <= eps + 1e-12
        assert est.class_lower[c] <= est.error[c] <= est.class_upper[c] or est.n_selected[c] == 0
    if bound == "clopper-pearson" and search == "union" and est.union_n_selected:
        # the union's reported bound is the exact Clopper-Pearson bound of what is selected
        u = clopper_pearson_upper(est.union_n_errors, est.union_n_selected, 0.05)
        assert est.union_upper_bound == pytest.approx(float(u)) and u <= eps


@pytest.mark.parametrize("bound,search", SETTINGS)
@given(data=validation_sets(), eps=st.floats(0.005, 0.4), seed=st.integers(0, 1000))
def test_selection_is_invariant_to_increasing_transforms_and_row_order(bound, search, data, eps, seed):
    s, p, t, k = data
    a = _est(data, eps, bound, search)
    b = _est((np.exp(3 * s) - 7.0, p, t, k), eps, bound, search)
    assert np.array_equal(select_confident(s, p, a.thresholds), select_confident(np.exp(3 * s) - 7.0, p, b.thresholds))
    perm = np.random.default_rng(seed).permutation(s.size)
    c = _est((s[perm], p[perm], t[perm], k), eps, bound, search)
    np.testing.assert_array_equal(a.thresholds, c.thresholds)


@pytest.mark.parametrize("bound,search", SETTINGS)
def test_classes_with_too_little_support_are_never_auto_labeled(bound, search):
    rng = np.random.default_rng(0)
    p = np.r_[np.zeros(3000, int), np.ones(5, int)]
    s = rng.random(p.size)
    est = estimate_thresholds(s, p, p, n_classes=3, epsilon=0.05, bound=bound, search=search)
    assert np.isfinite(est.thresholds[0])
    assert np.isinf(est.thresholds[1]) and np.isinf(est.thresholds[2])  # 5 and 0 points of support


def test_perfect_predictions_with_enough_data_auto_label_everything():
    rng = np.random.default_rng(1)
    s = rng.random(4000)
    p = rng.integers(0, 3, 4000)
    est = estimate_thresholds(s, p, p, n_classes=3, epsilon=0.02)
    assert select_confident(s, p, est.thresholds).all()


def test_a_tiny_epsilon_certifies_nothing():
    rng = np.random.default_rng(2)
    s = rng.random(2000)
    p = rng.integers(0, 2, 2000)
    est = estimate_thresholds(s, p, p, n_classes=2, epsilon=1e-4)
    assert np.isinf(est.thresholds).all()  # 2,000 flawless points cannot show 0.01 %


def test_the_pool_makes_the_target_stricter_for_small_pools():
    rng = np.random.default_rng(3)
    s = rng.random(3000)
    p = rng.integers(0, 2, 3000)
    big = estimate_thresholds(s, p, p, n_classes=2, epsilon=0.02, pool_scores=rng.random(50_000),
                              pool_pred=rng.integers(0, 2, 50_000))
    small = estimate_thresholds(s, p, p, n_classes=2, epsilon=0.02, pool_scores=rng.random(100),
                                pool_pred=rng.integers(0, 2, 100))
    assert small.target < big.target < 0.02


def test_prior_evidence_counts_in_the_cumulative_test():
    rng = np.random.default_rng(4)
    s = rng.random(60)
    p = rng.integers(0, 2, 60)
    alone = estimate_thresholds(s, p, p, n_classes=2, epsilon=0.02)
    with_prior = estimate_thresholds(s, p, p, n_classes=2, epsilon=0.02, prior_n=[700, 700], prior_errors=[2, 2])
    assert np.isinf(alone.thresholds).all()  # 60 points alone cannot show 2 %
    assert np.isfinite(with_prior.thresholds).all()


def test_bad_arguments_are_refused_with_a_message():
    with pytest.raises(ValueError, match="epsilon"):
        estimate_thresholds([0.5], [0], [0], n_classes=2, epsilon=1.5)
    with pytest.raises(ValueError, match="delta"):
        estimate_thresholds([0.5], [0], [0], n_classes=2, epsilon=0.1, delta=0)
    with pytest.raises(ValueError, match="same length"):
        estimate_thresholds([0.5, 0.2], [0], [0], n_classes=2, epsilon=0.1)
    with pytest.raises(ValueError, match="Unknown bound"):
        estimate_thresholds([0.5], [0], [0], n_classes=2, epsilon=0.1, bound="wilson")
    with pytest.raises(ValueError, match="class indices"):
        estimate_thresholds([0.5], [3], [0], n_classes=2, epsilon=0.1)


def test_an_estimate_cannot_be_edited_after_the_fact():
    rng = np.random.default_rng(0)
    s = rng.random(500)
    y = (rng.random(500) < 0.5).astype(int)
    est = estimate_thresholds(s, y, y, n_classes=2, epsilon=0.05)
    with pytest.raises(ValueError):
        est.thresholds[0] = 0.0
