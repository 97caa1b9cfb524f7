"""Certify any labeler: machine labels + confidences + a random human-checked sample → accepted labels."""

from __future__ import annotations

import numpy as np
import pytest

from surelabel.thresholds import estimate_thresholds, select_confident


# ---------------------------------------------------------------------- estimate_thresholds' inputs
@pytest.mark.parametrize("y_pred, y_true, name", [
    (["a", "b"], ["a", "b"], "y_pred"),
    ([0, 1], ["a", "b"], "y_true"),          # was silently "every point wrong"
    ([0.5, 1.0], [0, 1], "y_pred"),
    ([0, 1], np.array(["x", 1], dtype=object), "y_true"),
])
def test_estimate_thresholds_refuses_labels_that_are_not_class_indices(y_pred, y_true, name):
    with pytest.raises(ValueError, match=rf"^{name} must hold class indices .*surelabel.certify"):
        estimate_thresholds([0.9, 0.8], y_pred, y_true, n_classes=2, epsilon=0.1)


def test_estimate_thresholds_still_takes_indices_whole_floats_and_missing_answers():
    s = np.linspace(1, 0, 400)
    est = estimate_thresholds(s, np.zeros(400, int), np.zeros(400, int), n_classes=2, epsilon=0.05)
    assert np.isfinite(est.thresholds[0])
    as_float = estimate_thresholds(s, np.zeros(400), np.zeros(400), n_classes=2, epsilon=0.05)
    assert as_float.thresholds.tolist() == est.thresholds.tolist()
    y_true, y_wrong = np.zeros(400), np.zeros(400, int)
    y_true[[3, 50, 90]] = np.nan  # no answer: an error, as before
    y_wrong[[3, 50, 90]] = 1
    skipped = estimate_thresholds(s, np.zeros(400, int), y_true, n_classes=2, epsilon=0.05)
    wrong = estimate_thresholds(s, np.zeros(400, int), y_wrong, n_classes=2, epsilon=0.05)
    assert skipped.n_errors.tolist() == wrong.n_errors.tolist() and wrong.n_errors[0] >= 1
    assert skipped.thresholds.tolist() == wrong.thresholds.tolist()


def test_select_confident_refuses_labels():
    with pytest.raises(ValueError, match="y_pred must hold class indices"):
        select_confident([0.9], ["a"], [0.5])
