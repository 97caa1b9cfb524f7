"""Behaviours of the TBAL loop a user relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from surelabel import AutoLabeler, BudgetError, InputError, SimulatedOracle, datasets
from surelabel.result import STOP_REASONS

FIT_LOG: list[np.ndarray] = []  # module-level: clone() deep-copies parameters


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that records every row it is fitted on."""

    def fit(self, X, y):
        FIT_LOG.append(np.asarray(X).copy())
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def _labeler(**kw):
    params = dict(epsilon=0.05, validation_size=400, seed_size=20, batch_size=20, budget=600, random_state=0)
    params.update(kw)
    model = params.pop("model", LogisticRegression(C=100))
    return AutoLabeler(model, **params)


def test_validation_labels_never_reach_fit(ball):
    X, y = ball
    FIT_LOG.clear()
    result = _labeler(model=RecordingClassifier()).run(X, SimulatedOracle(y))
    log = list(FIT_LOG)
    val = X[result.source == "validation"]
    assert len(log) == len(result.history) and len(log) > 1
    seen = np.vstack(log)
    val_rows = {row.tobytes() for row in val}
    assert not any(row.tobytes() in val_rows for row in seen)


def test_the_budget_is_never_exceeded_and_the_oracle_agrees(ball):
    X, y = ball
    for budget in (430, 455, 600):
        oracle = SimulatedOracle(y)
        result = _labeler(budget=budget).run(X, oracle)
        assert result.n_human["total"] <= budget
        assert oracle.n_labels == result.n_human["total"]
        assert result.n_human["validation"] == 400
        assert result.stop_reason in STOP_REASONS


def test_a_rare_class_missing_from_the_first_draw_keeps_every_label_bought():
    X, _ = datasets.unit_ball(1000, d=3, random_state=0)
    y = np.zeros(1000, dtype=int)
    y[[500, 900]] = 1  # two items of the second class, neither of them in the first draw
    oracle = SimulatedOracle(y)
    result = _labeler(validation_size=100, seed_size=20, batch_size=20, budget=200).run(X, oracle)
    assert (result.round[[500, 900]] != 0).all()  # the premise: round 0 saw one class only
    assert oracle.n_labels == result.n_human["total"] == 200  # nothing bought is thrown away
    assert result.stop_reason in STOP_REASONS
    human = np.isin(result.source, ["human", "validation"])
    np.testing.assert_array_equal(result.labels[human].astype(int), y[human])


def test_the_same_random_state_gives_the_same_result(ball):
    X, y = ball
    a = _labeler(random_state=7).run(X, SimulatedOracle(y))
    b = _labeler(random_state=7).run(X, SimulatedOracle(y))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.source, b.source)
    assert a.history == b.history


def test_a_perfect_model_auto_labels_almost_everything():
    X, y = datasets.unit_ball(4000, d=2, random_state=3)
    # the label is a fixed linear rule, so a near-hard-margin linear model is (almost) perfect
    result = _labeler(model=LogisticRegression(C=1e4), epsilon=0.05, validation_size=500).run(X, SimulatedOracle(y))
    human = result.n_human["total"]
    assert result.n_auto >= 0.95 * (X.shape[0] - human)
    assert result.auto_error(y) <= 0.05


def test_a_tiny_epsilon_auto_labels_nothing(ball):
    X, y = ball
    result = _labeler(epsilon=1e-5).run(X, SimulatedOracle(y))
    assert result.n_auto == 0 and result.coverage == 0.0
    assert result.stop_reason == "validation_exhausted"


def test_human_labels_are_never_overwritten(ball):
    X, y = ball
    result = _labeler().run(X, SimulatedOracle(y))
    human = result.source != "auto"
    labeled = human & (result.source != "unlabeled")
    assert np.array_equal(result.labels[labeled].astype(int), y[labeled])  # noise-free oracle


def test_string_labels_and_decision_function_models_work():
    X, y = datasets.unit_ball(2000, d=5, random_state=1)
    names = np.where(y == 1, "pos", "neg")
    result = _labeler(model=LinearSVC(C=10)).run(X, SimulatedOracle(names))
    assert set(result.classes.tolist()) == {"neg", "pos"}
    auto = result.source == "auto"
    assert auto.any() and set(result.labels[auto].tolist()) <= {"neg", "pos"}
    assert result.auto_error(names) <= 0.05


def test_a_validation_reserve_is_not_auto_labeled_and_not_in_coverage():
    X, y = datasets.unit_ball(3000, d=5, random_state=2)
    reserve = np.arange(2000, 3000)
    result = _labeler().run(X, SimulatedOracle(y), validation_candidates=reserve)
    assert not (result.source[reserve] == "auto").any()
    assert (result.source[:2000] != "validation").all()
    assert result.coverage == pytest.approx(result.n_auto / 2000)


def test_history_records_every_round_and_auto_labels_carry_their_round(ball):
    X, y = ball
    result = _labeler().run(X, SimulatedOracle(y))
    assert [h.round for h in result.history] == list(range(len(result.history)))
    auto_rounds = set(result.round[result.source == "auto"].tolist())
    assert auto_rounds <= {h.round for h in result.history if h.n_auto_labeled}
    assert result.history[-1].n_auto_labeled_total == result.n_auto
    assert np.isfinite(result.scores[result.source == "auto"]).all()


def test_results_round_trip_through_every_file_format(ball, tmp_path):
    X, y = ball
    result = _labeler().run(X, SimulatedOracle(y))
    frame = result.to_frame(ids=[f"item-{i}" for i in range(len(y))])
    assert list(frame.columns) == ["id", "label", "source", "round", "score"]
    for suffix in (".parquet", ".csv", ".jsonl"):
        path = result.save(tmp_path / f"labels{suffix}")
        back = pd.read_parquet(path) if suffix == ".parquet" else (
            pd.read_csv(path) if suffix == ".csv" else pd.read_json(path, lines=True))
        assert len(back) == len(y)
        assert (back["source"] == "auto").sum() == result.n_auto


@pytest.mark.parametrize(
    "kw,error,match",
    [
        (dict(epsilon=0.0), ValueError, "epsilon"),
        (dict(epsilon=1.0), ValueError, "epsilon"),
        (dict(delta=1.5), ValueError, "delta"),
        (dict(budget=300), BudgetError, "budget"),
        (dict(validation_size=5000, budget=6000), InputError, "validation_size"),
        (dict(bound="wilson"), ValueError, "bound"),
    ],
)
def test_bad_parameters_get_one_clear_error(ball, kw, error, match):
    X, y = ball
    with pytest.raises(error, match=match):
        _labeler(**kw).run(X, SimulatedOracle(y))


def test_a_model_without_probabilities_or_decisions_is_refused(ball):
    from sklearn.cluster import KMeans

    X, y = ball
    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        _labeler(model=KMeans()).run(X, SimulatedOracle(y))


def test_non_finite_features_are_refused_with_their_row(ball):
    X, y = ball
    X = X.copy()
    X[17, 2] = np.nan
    with pytest.raises(InputError, match="row 17, column 2"):
        _labeler().run(X, SimulatedOracle(y))


def test_a_single_class_auto_labels_nothing_and_says_why():
    X = np.random.default_rng(0).random((1000, 3))
    result = _labeler().run(X, SimulatedOracle(np.zeros(1000, int)))
    assert result.n_auto == 0 and result.n_human["total"] == 600
    assert all("fewer than two classes" in h.note for h in result.history)


def test_an_oracle_for_other_items_is_refused_before_any_label_is_asked():
    X, y = datasets.unit_ball(600, d=3, random_state=0)
    oracle = SimulatedOracle(y[:500])
    with pytest.raises(InputError, match="500 labels but X has 600 items"):
        _labeler().run(X, oracle)
    assert oracle.n_labels == 0
