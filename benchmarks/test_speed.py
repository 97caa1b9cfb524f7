"""Speed benchmarks (pytest-benchmark); not part of the test suite.

Run: ``python3 -m pytest benchmarks/test_speed.py --benchmark-only -p no:cacheprovider``
Targets (issue #2): thresholds for 1,000,000 validation points x 10 classes in < 1 s; one
full unit-ball run at the paper's settings in < 0.25 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from surelabel import AutoLabeler, SimulatedOracle, datasets, estimate_thresholds
from surelabel.models import make_model


@pytest.fixture(scope="module")
def million():
    rng = np.random.default_rng(0)
    n = 1_000_000
    s = rng.random(n)
    y_pred = rng.integers(0, 10, n)
    wrong = rng.random(n) < 0.2 * (1 - s)
    y_true = np.where(wrong, (y_pred + 1) % 10, y_pred)
    return s, y_pred, y_true


@pytest.mark.parametrize(
    "bound,search", [("clopper-pearson", "union"), ("clopper-pearson", "per-class"), ("paper", "union")]
)
def test_estimate_thresholds_1m_points_10_classes(benchmark, million, bound, search):
    s, p, t = million
    est = benchmark(estimate_thresholds, s, p, t, n_classes=10, epsilon=0.05, bound=bound, search=search)
    assert np.isfinite(est.thresholds).any()


@pytest.fixture(scope="module")
def paper_ball():
    X, y = datasets.unit_ball(20_000, d=30, random_state=0)
    return X, y


@pytest.mark.parametrize("bound", ["clopper-pearson", "paper"])
def test_unit_ball_run_at_paper_settings(benchmark, paper_ball, bound):
    X, y = paper_ball
    reserve = np.arange(16_000, 20_000)

    def run():
        labeler = AutoLabeler(make_model("paper-svm"), epsilon=0.01, bound=bound, validation_size=2000,
                              seed_size=100, batch_size=25, budget=2500, random_state=0)
        return labeler.run(X, SimulatedOracle(y), validation_candidates=reserve)

    result = benchmark(run)
    assert result.coverage > 0.9
