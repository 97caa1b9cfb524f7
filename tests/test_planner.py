"""The validation planner agrees with the certification machinery it plans for."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel import estimate_thresholds, min_certifiable_size
from surelabel.exceptions import InputError
from surelabel.planner import certification_probability, plan_validation
from surelabel.simulation import violation_slack

RUNS = 300


def simulate_class_sizes(sizes, errors, *, epsilon, delta, search, seed0=10_000, runs=RUNS):
    """Share of seeded validation sets in which each class gets a finite threshold / its full region."""
    K = len(sizes)
    any_hits = np.zeros(K)
    full_hits = np.zeros(K)
    for seed in range(seed0, seed0 + runs):
        rng = np.random.default_rng(seed)
        pred = np.repeat(np.arange(K), sizes)
        scores = rng.random(pred.size)
        wrong = rng.random(pred.size) < np.asarray(errors)[pred]
        truth = np.where(wrong, (pred + 1) % K, pred)
        est = estimate_thresholds(scores, pred, truth, n_classes=K, epsilon=epsilon, delta=delta, search=search)
        fin = np.isfinite(est.thresholds)
        any_hits += fin
        full_hits += fin & (est.n_selected == np.asarray(sizes))
    return any_hits / runs, full_hits / runs


def test_per_class_plan_is_kept_by_the_thresholds_it_plans_for():
    eps, delta, rounds = 0.05, 0.05, 4
    errors = [0.0, 0.005, 0.01]
    plan = plan_validation(eps, delta, n_classes=3, expected_error=errors, search="per-class", rounds=rounds)
    need = plan.needed_any.astype(int)
    assert need[0] == min_certifiable_size(eps, plan.delta_test) and (np.diff(need) > 0).all()
    # the loop's best-funded round tests at 0.75 delta (1 - early share) at least; per-class search divides by K
    delta_round = 0.75 * delta * (1 - 0.25)
    got_any, _ = simulate_class_sizes(need, errors, epsilon=eps, delta=delta_round, search="per-class")
    assert (got_any >= plan.power - violation_slack(1 - plan.power, RUNS)).all(), (need, got_any)
    need_full = plan.needed_full.astype(int)
    _, got_full = simulate_class_sizes(need_full, errors, epsilon=eps, delta=delta_round, search="per-class")
    assert (got_full >= plan.power - violation_slack(1 - plan.power, RUNS)).all(), (need_full, got_full)


def test_union_plan_is_kept_and_one_label_less_is_not_enough_for_an_error_free_class():
    eps = 0.02
    plan = plan_validation(eps, 0.05, n_classes=2, expected_error=0.004, loop=False, power=0.8)
    n = int(plan.needed_full[0])
    got_any, got_full = simulate_class_sizes([n], [0.004], epsilon=eps, delta=0.05, search="union")
    assert got_full[0] >= 0.8 - violation_slack(0.2, RUNS), (n, got_full)
    exact = plan_validation(eps, 0.05, expected_error=0.0, loop=False)
    m = int(exact.needed_any[0])
    assert certification_probability(m - 1, 0.0, epsilon=eps, delta=0.05).p_any == 0.0


def test_a_pilot_round_gives_a_plan_that_fresh_validation_sets_keep():
    # the model's error grows as its confidence falls: 0 at the top, 12 % at the bottom
    def draw(n, rng):
        s = rng.random(n)
        pred = (rng.random(n) < 0.4).astype(int)
        wrong = rng.random(n) < 0.12 * (1 - s) ** 2
        return s, pred, np.where(wrong, 1 - pred, pred)

    pilot = draw(3000, np.random.default_rng(0))
    plan = plan_validation(0.03, 0.05, pilot=pilot, search="per-class", loop=False)
    need = plan.needed_any
    assert np.isfinite(need).all()
    hits = np.zeros(2)
    for seed in range(RUNS):
        rng = np.random.default_rng(seed + 1)
        s, pred, truth = draw(int(plan.total_any), rng)
        est = estimate_thresholds(s, pred, truth, n_classes=2, epsilon=0.03, delta=0.05, search="per-class")
        hits += np.isfinite(est.thresholds)
    assert (hits / RUNS >= plan.power - violation_slack(1 - plan.power, RUNS)).all(), (plan.total_any, hits / RUNS)


def test_coverage_grows_with_validation_labels_and_hopeless_classes_are_named():
    plan = plan_validation(0.05, 0.05, n_classes=2, expected_error=[0.01, 0.07], search="per-class", loop=False)
    assert np.isfinite(plan.needed_any[0]) and not np.isfinite(plan.needed_any[1])
    assert any("1: not certified" in n for n in plan.notes)
    curve = plan.curve[plan.curve["group"] == "0"]
    cov = curve["expected_coverage"].to_numpy()
    assert cov[0] == 0.0 and cov[-1] > 0.9 and (np.diff(cov) > -0.05).all()
    d = plan.to_dict()
    assert d["groups"][1]["needed_any"] is None and d["curve"]


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        (dict(epsilon=1.5), "epsilon"),
        (dict(epsilon=0.05, power=1.0), "power"),
        (dict(epsilon=0.05, search="greedy"), "search"),
        (dict(epsilon=0.05, bound="paper"), "certified bounds"),
        (dict(epsilon=0.05, expected_error=-0.1), "Expected errors"),
        (dict(epsilon=0.05, rounds=0), "rounds"),
    ],
)
def test_bad_plans_are_refused(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        plan_validation(**kwargs)


def test_the_fast_first_test_table_matches_the_full_replica_of_the_search():
    for eps, delta in [(0.05, 0.05), (0.02, 0.001)]:
        for n in list(range(1, 2500, 13)) + [10_000]:
            full = certification_probability(n, 0.01, epsilon=eps, delta=delta)
            fast = certification_probability(n, 0.01, epsilon=eps, delta=delta, first_only=True)
            assert (full.first_region, full.start_errors) == (fast.first_region, fast.start_errors)
            assert full.p_any == pytest.approx(fast.p_any, abs=1e-12)
