"""The baselines as a user relies on them: the budget is respected, every label is bought and
counted once, the thresholded pass happens once with the final model and the full validation
set, and the semi-supervised baselines' auto-labels are measured like TBAL's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from surelabel import SimulatedOracle, datasets
from surelabel.baselines import (
    ActiveLearningLabeler,
    LabelSpreadingLabeler,
    PassiveLearningLabeler,
    SelfTrainingLabeler,
    kfold_threshold,
    knn_graph,
)
from surelabel.engine import TBALConfig, predict_proba_logits
from surelabel.exceptions import BudgetError
from surelabel.scores import max_proba
from surelabel.thresholds import estimate_thresholds, select_confident

VALIDATION_SHARE = TBALConfig.validation_share  # the split of delta every labeler uses


class RecordingOracle(SimulatedOracle):
    """A simulated annotator that remembers every item it was asked about."""

    def __init__(self, y):
        super().__init__(y)
        self.asked: list[int] = []

    def label(self, indices):
        self.asked.extend(np.asarray(indices).tolist())
        return super().label(indices)


@pytest.fixture(scope="module")
def problem():
    X, y = datasets.unit_ball(2500, d=5, random_state=1)
    reserve = np.arange(2000, 2500)
    return X, y, reserve


MODEL = LogisticRegression(C=100)
KW = dict(epsilon=0.05, budget=560, validation_size=400, seed_size=40, batch_size=30, random_state=0)
BASELINES = {
    "al": lambda bound="clopper-pearson": ActiveLearningLabeler(MODEL, bound=bound, **KW),
    "pl": lambda bound="clopper-pearson": PassiveLearningLabeler(MODEL, bound=bound, **KW),
}


@pytest.mark.parametrize("name", ["al", "pl"])
def test_every_label_is_bought_once_and_the_budget_is_spent_exactly(problem, name):
    X, y, reserve = problem
    oracle = RecordingOracle(y)
    result = BASELINES[name]().run(X, oracle, validation_candidates=reserve)
    assert oracle.n_labels == len(oracle.asked) == result.n_human["total"] == 560
    assert len(set(oracle.asked)) == len(oracle.asked), "an item was asked about twice"
    assert result.n_human == {"training": 160, "validation": 400, "total": 560}
    assert set(np.flatnonzero(result.source == "validation")) <= set(reserve.tolist())
    assert not result.in_pool[reserve].any() and (result.source[reserve] != "auto").all()


def test_active_learning_queries_in_batches_of_the_given_size(problem):
    X, y, reserve = problem
    result = BASELINES["al"]().run(X, SimulatedOracle(y), validation_candidates=reserve)
    queried = [h.n_queried for h in result.history[:-1]]
    assert queried == [30, 30, 30, 30] and sum(queried) + 40 == result.n_human["training"]
    assert all(h.n_auto_labeled == 0 for h in result.history[:-1]), "AL auto-labels only after the loop"
    # the AL loop asks about training items in rounds 0 (seed) to 4, each once
    assert sorted(np.unique(result.round[result.source == "human"]).tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["al", "pl"])
@pytest.mark.parametrize("bound", ["clopper-pearson", "paper"])
def test_thresholds_are_applied_once_with_the_final_model_and_the_full_validation_set(problem, name, bound):
    X, y, reserve = problem
    result = BASELINES[name](bound).run(X, SimulatedOracle(y), validation_candidates=reserve)
    codes = np.array([-1 if v is None else int(v) for v in result.labels])
    train = np.flatnonzero(result.source == "human")
    val = result.extra["validation_indices"]
    assert val.size == 400
    cand = np.flatnonzero(result.in_pool & ((result.source == "auto") | (result.source == "unlabeled")))
    final = clone(MODEL).fit(X[train], codes[train])  # trained on training labels only, never validation
    p_v, _ = predict_proba_logits(final, X[val], 2)
    p_c, _ = predict_proba_logits(final, X[cand], 2)
    certified = bound != "paper"
    est = estimate_thresholds(max_proba(p_v), p_v.argmax(1), y[val], n_classes=2, epsilon=0.05,
                              delta=0.05 * VALIDATION_SHARE if certified else 0.05, bound=bound,
                              pool_scores=max_proba(p_c) if certified else None,
                              pool_pred=p_c.argmax(1) if certified else None, pool_delta=0.05 * (1 - VALIDATION_SHARE))
    expected = cand[select_confident(max_proba(p_c), p_c.argmax(1), est.thresholds)]
    auto = np.flatnonzero(result.source == "auto")
    assert auto.size > 0 and np.array_equal(np.sort(auto), np.sort(expected))
    assert (result.round[auto] == result.history[-1].round).all(), "one pass, in the last round"
    assert np.array_equal(codes[auto], p_c.argmax(1)[np.searchsorted(cand, auto)])
    assert result.history[-1].thresholds == {"0": est.thresholds[0], "1": est.thresholds[1]}


@pytest.mark.parametrize("cls", [ActiveLearningLabeler, PassiveLearningLabeler])
def test_the_all_pass_labels_every_remaining_pool_item_with_the_same_labels_bought(problem, cls):
    X, y, reserve = problem
    passes = cls(MODEL, **KW).run_passes(X, SimulatedOracle(y), validation_candidates=reserve)
    sel, everything = passes["selective"], passes["all"]
    assert np.array_equal(sel.source != "auto", (sel.source == "human") | (sel.source == "validation")
                          | (sel.source == "unlabeled"))
    for kind in ("human", "validation"):
        assert np.array_equal(sel.source == kind, everything.source == kind)
    assert everything.coverage == pytest.approx((2000 - 160) / 2000)
    assert ((everything.source == "auto") | ~everything.in_pool | (everything.source == "human")).all()
    assert sel.n_auto <= everything.n_auto
    # where both auto-label an item, it is the same model's label
    both = (sel.source == "auto") & (everything.source == "auto")
    assert (sel.labels[both] == everything.labels[both]).all()


def test_same_seed_same_labels(problem):
    X, y, reserve = problem
    a = BASELINES["al"]().run(X, SimulatedOracle(y), validation_candidates=reserve)
    b = BASELINES["al"]().run(X, SimulatedOracle(y), validation_candidates=reserve)
    assert np.array_equal(a.source, b.source) and (a.labels == b.labels).all()


def test_a_budget_smaller_than_validation_plus_seed_is_refused(problem):
    X, y, reserve = problem
    with pytest.raises(BudgetError, match="validation_size \\+ seed_size"):
        ActiveLearningLabeler(MODEL, epsilon=0.05, budget=420, validation_size=400, seed_size=40).run(
            X, SimulatedOracle(y), validation_candidates=reserve)
    with pytest.raises(ValueError, match="final_pass"):
        PassiveLearningLabeler(MODEL, epsilon=0.05, budget=500, final_pass="some").run(X, SimulatedOracle(y))


@pytest.fixture(scope="module")
def small():
    X, y = datasets.unit_ball(900, d=3, random_state=2)
    return X, y, np.arange(700, 900)


def test_self_training_auto_labels_are_its_pseudo_labels_measured_like_tbal(small):
    X, y, reserve = small
    oracle = RecordingOracle(y)
    st = SelfTrainingLabeler(LogisticRegression(C=100), epsilon=0.05, budget=150, validation_size=100,
                             thresholds=(0.9, 0.99), n_splits=3, random_state=0)
    result = st.run(X, oracle, validation_candidates=reserve)
    assert oracle.n_labels == len(set(oracle.asked)) == result.n_human["total"] == 150
    assert result.n_human["validation"] == 100
    auto = result.source == "auto"
    assert auto.any() and result.in_pool[auto].all()
    assert result.coverage == pytest.approx(auto.sum() / 700)
    assert 0.0 <= result.auto_error(y) <= 0.1
    assert result.extra["threshold"] in (0.9, 0.99)
    assert [row["threshold"] for row in result.extra["search"]] == [0.9, 0.99]
    # the threshold is the one whose out-of-fold coverage is largest among those meeting epsilon
    ok = [row for row in result.extra["search"] if row["error"] <= 0.05]
    assert ok and result.extra["threshold"] == max(ok, key=lambda row: row["coverage"])["threshold"]


def test_self_training_works_with_a_decision_function_only_model(small):
    from sklearn.svm import LinearSVC

    X, y, reserve = small
    result = SelfTrainingLabeler(LinearSVC(), epsilon=0.05, budget=150, validation_size=100, thresholds=(0.95,),
                                 n_splits=3, random_state=0).run(X, SimulatedOracle(y), validation_candidates=reserve)
    assert result.n_auto > 0 and result.n_human["total"] == 150


def test_label_spreading_applies_one_threshold_chosen_by_kfold_search(small):
    X, y, reserve = small
    oracle = RecordingOracle(y)
    ls = LabelSpreadingLabeler(epsilon=0.05, budget=150, validation_size=100, n_splits=3, random_state=0)
    result = ls.run(X, oracle, validation_candidates=reserve)
    assert oracle.n_labels == len(set(oracle.asked)) == result.n_human["total"] == 150
    thr = result.extra["threshold"]
    assert np.isfinite(thr) and result.extra["search"][0]["error"] <= 0.05
    inputs = result.extra["oracle_inputs"]
    auto = result.source[inputs["indices"]] == "auto"
    assert np.array_equal(auto, inputs["scores"] >= thr), "one threshold, applied once to every candidate"
    assert result.coverage == pytest.approx(auto.sum() / 700)
    assert not np.isnan(result.auto_error(y))


def test_a_precomputed_graph_gives_the_same_labels_as_the_default_kernel(small):
    X, y, reserve = small
    kw = dict(epsilon=0.05, budget=150, validation_size=100, n_splits=3, random_state=0)
    a = LabelSpreadingLabeler(**kw).run(X, SimulatedOracle(y), validation_candidates=reserve)
    b = LabelSpreadingLabeler(kernel=knn_graph(X), **kw).run(X, SimulatedOracle(y), validation_candidates=reserve)
    assert np.array_equal(a.source, b.source) and (a.labels == b.labels).all()
    with pytest.raises(ValueError, match="precomputed graph"):
        LabelSpreadingLabeler(kernel=knn_graph(X[:50]), **kw).run(X, SimulatedOracle(y))


def test_kfold_threshold_takes_the_largest_out_of_fold_coverage_that_meets_epsilon():
    scores = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    truth = np.array([1, 1, 1, 1, 0, 1, 0, 0])
    thr, info = kfold_threshold(scores, np.ones(8, int), truth, epsilon=0.2)
    assert thr == 0.6 and info == {"coverage": 0.75, "error": pytest.approx(1 / 6)}
    assert kfold_threshold(scores, np.zeros(8, int), np.ones(8, int), epsilon=0.2)[0] == np.inf
