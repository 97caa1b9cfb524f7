"""The promise, tested: over many seeded runs of the whole loop, the share of runs whose
auto-labels are wrong more often than epsilon stays within delta plus binomial slack."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from surelabel import AutoLabeler, datasets
from surelabel.simulation import simulate, summarize, violation_slack

DELTA = 0.05


def unit_ball_problem(seed, n=3000, d=10):
    X, y = datasets.unit_ball(n, d=d, random_state=seed)
    return X, y, {}


def blobs_problem(seed, spread, noise):
    X, y = datasets.noisy_blobs(3000, n_classes=4, d=8, spread=spread, label_noise=noise, random_state=seed)
    return X, y, {}


def labeler(seed, *, epsilon, validation_size, budget, bound="clopper-pearson", C=1.0):
    return AutoLabeler(
        LogisticRegression(C=C),
        epsilon=epsilon,
        delta=DELTA,
        bound=bound,
        validation_size=validation_size,
        seed_size=20 if budget < 700 else 30,
        batch_size=20 if budget < 700 else 30,
        budget=budget,
        random_state=seed,
    )


CASES = {
    # name: (problem, labeler kwargs, epsilon)
    "unit-ball eps=5%": (unit_ball_problem, dict(epsilon=0.05, validation_size=300, budget=500, C=100), 0.05),
    "unit-ball eps=2%": (unit_ball_problem, dict(epsilon=0.02, validation_size=600, budget=800, C=100), 0.02),
    "noisy blobs eps=10%": (partial(blobs_problem, spread=0.6, noise=0.03),
                            dict(epsilon=0.1, validation_size=600, budget=900), 0.1),
    "overlapping blobs eps=5%": (partial(blobs_problem, spread=0.9, noise=0.0),
                                 dict(epsilon=0.05, validation_size=600, budget=900), 0.05),
}

RUNS = 200


@pytest.mark.parametrize("name", list(CASES))
def test_certified_bound_keeps_its_promise_over_200_seeds(name):
    problem, kw, eps = CASES[name]
    records = simulate(problem, partial(labeler, **kw), range(RUNS), epsilon=eps, n_jobs=2)
    s = summarize(records)
    assert s["violation_rate"] <= DELTA + violation_slack(DELTA, RUNS), s
    if name.startswith("unit-ball") or name.startswith("noisy"):
        assert s["coverage_mean"] > 0.3, s  # the promise is not kept by labeling nothing


def test_the_simulation_catches_a_method_without_a_guarantee():
    # the paper's heuristic on the overlapping set breaks epsilon far more often than delta:
    # the same harness that passes the certified bound fails it
    problem, kw, eps = CASES["overlapping blobs eps=5%"]
    records = simulate(problem, partial(labeler, **{**kw, "bound": "paper"}), range(100), epsilon=eps, n_jobs=2)
    assert summarize(records)["violation_rate"] > DELTA + violation_slack(DELTA, 100)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits", "noisy blobs"])
def test_certified_bound_keeps_its_promise_on_1000_seeds(name):
    if name == "digits":
        problem_fn = _digits_problem
        kw = dict(epsilon=0.05, validation_size=400, budget=700)
        eps = 0.05
    else:
        problem_fn = partial(blobs_problem, spread=0.6, noise=0.03)
        kw = dict(epsilon=0.1, validation_size=600, budget=900)
        eps = 0.1
    runs = 1000
    records = simulate(problem_fn, partial(labeler, **kw), range(runs), epsilon=eps, n_jobs=-1)
    s = summarize(records)
    assert s["violation_rate"] <= DELTA + violation_slack(DELTA, runs), s


def _digits_problem(seed):
    X, y = datasets.digits()
    perm = np.random.default_rng(seed).permutation(len(y))
    return X[perm], y[perm], {}
