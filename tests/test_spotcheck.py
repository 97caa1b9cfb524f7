"""Spot checks: uniform samples of auto-labels, and exact intervals that cover the truth."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel.exceptions import InputError
from surelabel.simulation import violation_slack
from surelabel.spotcheck import draw_spot_check, spot_check_report


def test_the_interval_covers_the_true_auto_label_error_at_its_nominal_rate():
    # many seeded "runs": a finite set of auto-labels with its own realised error, a
    # uniform spot check of it, and the exact interval judged against the whole set
    runs, confidence = 1500, 0.95
    hits, class_hits, class_total = 0, 0, 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        n_auto = int(rng.integers(1000, 6000))
        auto = rng.integers(0, 3, size=n_auto)
        rates = rng.uniform(0.0, 0.12, size=3)  # class-dependent error rates
        wrong = rng.random(n_auto) < rates[auto]
        truth = np.where(wrong, (auto + 1) % 3, auto)
        sample = draw_spot_check(np.ones(n_auto, bool), 200, random_state=seed)
        report = spot_check_report(auto[sample], truth[sample], classes=[0, 1, 2], confidence=confidence)
        realised = wrong.mean()
        hits += report.ci_low <= realised <= report.ci_high
        for row in report.per_class:
            if row["n"]:
                c = row["class"]
                class_total += 1
                class_hits += row["ci_low"] <= wrong[auto == c].mean() <= row["ci_high"]
    assert hits / runs >= confidence - violation_slack(1 - confidence, runs)
    assert class_hits / class_total >= confidence - violation_slack(1 - confidence, class_total)


def test_spot_check_on_a_real_run_checks_the_promise():
    from sklearn.linear_model import LogisticRegression

    from surelabel import AutoLabeler, SimulatedOracle, datasets

    X, y = datasets.unit_ball(4000, d=5, random_state=0)
    result = AutoLabeler(LogisticRegression(C=100), epsilon=0.05, budget=600, validation_size=400,
                         random_state=0).run(X, SimulatedOracle(y))
    idx = draw_spot_check(result.auto_mask, 200, random_state=1)
    report = spot_check_report(result.labels[idx], y[idx], epsilon=0.05)
    assert report.n == 200 and report.verdict in ("kept", "unclear")
    assert report.ci_low <= result.auto_error(y) <= report.ci_high


def test_the_sample_is_uniform_and_seeded():
    mask = np.zeros(1000, bool)
    mask[::2] = True
    a = draw_spot_check(mask, 100, random_state=4)
    assert (a == draw_spot_check(mask, 100, random_state=4)).all()
    assert mask[a].all() and np.unique(a).size == 100
    counts = np.zeros(1000)
    for s in range(300):
        counts[draw_spot_check(mask, 100, random_state=s)] += 1
    # every auto-label is drawn with probability 100/500 = 0.2
    assert abs(counts[mask].mean() / 300 - 0.2) < 1e-9 and counts[mask].std() / 300 < 0.05


@pytest.mark.parametrize(
    "mask,n,needle",
    [(np.zeros(10, bool), 5, "no auto-labels"), (np.ones(10, bool), 11, "only 10"), (np.ones(10, bool), 0, "positive")],
)
def test_impossible_spot_checks_are_refused(mask, n, needle):
    with pytest.raises(InputError, match=needle):
        draw_spot_check(mask, n)


def test_report_verdicts_and_errors():
    assert spot_check_report(["a"] * 300, ["a"] * 300, epsilon=0.05).verdict == "kept"
    assert spot_check_report(["a"] * 100, ["b"] * 30 + ["a"] * 70, epsilon=0.05).verdict == "broken"
    assert spot_check_report(["a"] * 50, ["b"] * 2 + ["a"] * 48, epsilon=0.05).verdict == "unclear"
    with pytest.raises(InputError, match="one answer per"):
        spot_check_report(["a", "b"], ["a"])
    with pytest.raises(InputError, match="no answer"):
        spot_check_report(["a", "b"], ["a", None])
    frame = spot_check_report(["a", "b"], ["a", "a"], classes=["a", "b", "c"]).to_frame()
    assert frame["class"].tolist() == ["a", "b", "c", "(all)"]
