"""Baselines TBAL is measured against, with the same oracle, budget accounting and metrics.

Every baseline has TBAL's parameter vocabulary (``epsilon``, ``delta``, ``bound``, ``c1``,
``score``, ``query``, ``validation_size``, ``seed_size``, ``batch_size``, ``budget``,
``random_state``, where the parameter means something for the method), spends its human
labels through the same :class:`~surelabel.oracles.Oracle`, and returns the same
:class:`~surelabel.result.AutoLabelResult`, so coverage, auto-label error and human labels
are computed by the same code for every method.

:class:`ActiveLearningLabeler` (``AL+SC`` / ``AL``)
    Active learning with TBAL's seed, batches and query strategy, but no auto-labeling
    inside the loop. When the budget is spent, the final model makes *one* pass: with
    ``final_pass="selective"`` (AL+SC) the pool items above thresholds estimated on the
    full validation set are auto-labeled; with ``final_pass="all"`` (AL) every remaining
    pool item is. Each query is counted once (the reference code counts every AL query
    twice, so its AL used about half the training labels; see ``docs/benchmarks.md``).
:class:`PassiveLearningLabeler` (``PL+SC`` / ``PL``)
    The same with random training labels and one model.
:class:`SelfTrainingLabeler`
    scikit-learn's :class:`~sklearn.semi_supervised.SelfTrainingClassifier` on the human
    labels; its confidence threshold is chosen by stratified k-fold search, and the items
    it pseudo-labels are its auto-labels.
:class:`LabelSpreadingLabeler`
    :class:`~sklearn.semi_supervised.LabelSpreading` over a k-nearest-neighbour graph,
    with a threshold on the spread label distribution chosen by stratified k-fold search
    (the recipe of seed ``003``: "threshold the metric ... over stratified k-folds").

The k-fold searches choose, by default, the threshold with the largest out-of-fold
coverage whose out-of-fold auto-label error is at most ``epsilon``. That is an estimate,
not a bound: these two baselines make no promise, and the benchmarks report how often
they break ``epsilon``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from . import loop as _loop
from .exceptions import BudgetError, InputError, OracleError
from .oracles import Oracle
from .query import get_query
from .result import AutoLabelResult, RoundReport
from .rng import RandomState, check_random_state
from .rng import seed_from as _seed_from
from .scores import proba_from_decision
from .thresholds import BOUNDS, GUARANTEES, ThresholdEstimate, estimate_thresholds, select_confident

__all__ = [
    "ActiveLearningLabeler",
    "PassiveLearningLabeler",
    "SelfTrainingLabeler",
    "LabelSpreadingLabeler",
    "PrecomputedKernel",
    "knn_graph",
    "kfold_threshold",
    "FINAL_PASSES",
]

from .engine import AUTO as _AUTO  # noqa: E402  (one vocabulary of sources with the engine)
from .engine import HUMAN as _HUMAN  # noqa: E402
from .engine import SOURCE_NAMES as _SOURCE_NAMES  # noqa: E402
from .engine import UNLABELED as _UNLABELED  # noqa: E402
from .engine import VALIDATION as _VALIDATION  # noqa: E402
from .engine import (  # noqa: E402
    TBALConfig,
    confidence_scores,
    initial_draw,
    query_rng,
    small_fit_threads,
    validation_rng,
)

#: Final passes of the AL and PL baselines: thresholded (``selective``) or everything (``all``).
FINAL_PASSES = ("selective", "all")


# -- bookkeeping shared by every baseline ------------------------------------------------
class _Ledger:
    """Labels, their sources and rounds, and the oracle calls that paid for them."""

    def __init__(self, n: int, oracle: Oracle, classes: ArrayLike | None) -> None:
        self.oracle = oracle
        self.codes = np.full(n, -1, dtype=np.intp)
        self.source = np.zeros(n, dtype=np.int8)
        self.rounds = np.full(n, -1, dtype=np.int64)
        self.scores = np.full(n, np.nan)
        self.fixed = classes is not None
        self.classes: list[Any] = [] if classes is None else list(np.asarray(classes).tolist())
        self.index: dict[Any, int] = {c: i for i, c in enumerate(self.classes)}
        self.spent = 0

    def ask(self, indices: np.ndarray, source: int, r: int) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.intp)
        if indices.size == 0:
            return np.empty(0, dtype=np.intp)
        answers = np.asarray(self.oracle.label(indices))
        if answers.shape[0] != indices.shape[0]:
            raise OracleError(f"The oracle answered {answers.shape[0]} labels for {indices.shape[0]} items.")
        fresh = sorted({a for a in answers.tolist() if a not in self.index}, key=str)
        if fresh and self.fixed:
            raise OracleError(f"The oracle answered unknown label(s) {fresh[:5]}; known classes: {self.classes}.")
        for a in fresh:
            self.index[a] = len(self.classes)
            self.classes.append(a)
        out = np.array([self.index[a] for a in answers.tolist()], dtype=np.intp)
        self.codes[indices] = out
        self.source[indices] = source
        self.rounds[indices] = r
        self.spent += indices.size
        return out

    def auto(self, indices: np.ndarray, codes: np.ndarray, scores: np.ndarray, r: int) -> None:
        self.codes[indices] = codes
        self.source[indices] = _AUTO
        self.rounds[indices] = r
        self.scores[indices] = scores

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def result(self, *, in_pool: np.ndarray, history: list[RoundReport], stop_reason: str, epsilon: float,
               delta: float, bound: str, budget: int, extra: dict) -> AutoLabelResult:
        n = self.codes.shape[0]
        labels = np.empty(n, dtype=object)
        cls = np.empty(len(self.classes), dtype=object)
        cls[:] = self.classes
        has = self.codes >= 0
        labels[has] = cls[self.codes[has]]
        return AutoLabelResult(
            labels=labels,
            source=_SOURCE_NAMES[self.source].astype(str),
            round=self.rounds.copy(),
            scores=self.scores.copy(),
            in_pool=in_pool,
            classes=cls,
            history=history,
            stop_reason=stop_reason,
            epsilon=float(epsilon),
            delta=float(delta),
            bound=bound,
            budget=int(budget),
            extra=extra,
        )


def _split_pool(n: int, validation_candidates: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """``(in_pool mask, reserve positions)`` exactly as :meth:`AutoLabeler.run` reads them."""
    in_pool = np.ones(n, dtype=bool)
    if validation_candidates is None:
        return in_pool, np.arange(n)
    vc = np.asarray(validation_candidates)
    if vc.dtype == bool and vc.shape[0] != n:
        raise InputError(f"validation_candidates mask has {vc.shape[0]} entries for {n} items.")
    reserve = np.flatnonzero(vc) if vc.dtype == bool else np.unique(vc.astype(np.intp))
    if reserve.size and (reserve.min() < 0 or reserve.max() >= n):
        raise InputError("validation_candidates holds positions outside X.")
    in_pool[reserve] = False
    return in_pool, reserve


def _check_unit(name: str, value: Any) -> None:
    if not isinstance(value, (int, float, np.floating)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"The '{name}' parameter must be in the open interval (0, 1). Got {value!r}.")


def _resolve_budget(budget: Any, validation_size: Any, n_reserve: int) -> tuple[int, int]:
    budget_i = int(budget)
    if budget_i < 1:
        raise BudgetError(f"The 'budget' parameter must be a positive number of labels. Got {budget}.")
    val = budget_i // 2 if validation_size is None else int(validation_size)
    if val < 0:
        raise ValueError(f"The 'validation_size' parameter must be >= 0. Got {val}.")
    if val > budget_i:
        raise BudgetError(f"The budget ({budget_i} labels) is smaller than validation_size ({val}).")
    if val > n_reserve:
        raise InputError(f"validation_size ({val}) is larger than the {n_reserve} items validation can be drawn from.")
    return budget_i, val


def _report(r: int, *, n_train: int, n_val: int, est: ThresholdEstimate | None, classes: list, delta: float,
            n_auto: int, n_auto_total: int, n_queried: int, spent: int, n_pool: int, note: str = "",
            n_retired: int = 0) -> RoundReport:
    def f(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    names = [str(c) for c in classes]
    if est is None:
        thr = {c: None for c in names}
        ub = {c: None for c in names}
        union_ub = target = None
    else:
        thr = {c: f(t) for c, t in zip(names, est.thresholds)}
        ub = {c: f(u) for c, u in zip(names, est.upper_bound)}
        union_ub = f(est.union_upper_bound) if est.union_n_selected else None
        target = est.target
    return RoundReport(
        round=r,
        n_train=int(n_train),
        n_validation_left=int(n_val),
        thresholds=thr,
        upper_bounds=ub,
        union_upper_bound=union_ub,
        target=target,
        delta=float(delta),
        n_auto_labeled=int(n_auto),
        n_auto_labeled_total=int(n_auto_total),
        n_retired_validation=int(n_retired),
        n_queried=int(n_queried),
        human_labels_total=int(spent),
        coverage=n_auto_total / n_pool if n_pool else 0.0,
        note=note,
    )


# -- AL and PL: train, then one pass with the final model ------------------------------
class _OnePassLabeler(BaseEstimator):
    """Shared parameters, checks and the final pass of the AL and PL baselines."""

    _uses_queries = True

    def __init__(
        self,
        model: Any,
        *,
        epsilon: float,
        delta: float = 0.05,
        bound: str = "clopper-pearson",
        score: str | Callable[[np.ndarray], np.ndarray] = "max_proba",
        query: str | Callable[..., np.ndarray] = "margin_random",
        validation_size: int | None = None,
        seed_size: int | None = None,
        batch_size: int | None = None,
        budget: int,
        guarantee: str = "overall",
        min_support: int | None = None,
        start_errors: int | None = None,
        c1: float = 0.25,
        final_pass: str = "selective",
        classes: ArrayLike | None = None,
        query_kwargs: dict[str, Any] | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.model = model
        self.epsilon = epsilon
        self.delta = delta
        self.bound = bound
        self.score = score
        self.query = query
        self.validation_size = validation_size
        self.seed_size = seed_size
        self.batch_size = batch_size
        self.budget = budget
        self.guarantee = guarantee
        self.min_support = min_support
        self.start_errors = start_errors
        self.c1 = c1
        self.final_pass = final_pass
        self.classes = classes
        self.query_kwargs = query_kwargs
        self.random_state = random_state

    def _check_params(self) -> None:
        _check_unit("epsilon", self.epsilon)
        _check_unit("delta", self.delta)
        if self.bound not in BOUNDS:
            raise ValueError(f"Unknown bound {self.bound!r}. Allowed: {', '.join(BOUNDS)}.")
        if self.guarantee not in GUARANTEES:
            raise ValueError(f"Unknown guarantee {self.guarantee!r}. Allowed: {', '.join(GUARANTEES)}.")
        if self.final_pass not in FINAL_PASSES:
            raise ValueError(f"Unknown final_pass {self.final_pass!r}. Allowed: {', '.join(FINAL_PASSES)}.")
        if not (hasattr(self.model, "predict_proba") or hasattr(self.model, "decision_function")):
            raise TypeError(
                f"The model {type(self.model).__name__} has neither predict_proba nor decision_function; "
                "use a classifier that has one (e.g. LogisticRegression or LinearSVC)."
            )

    def _config(self, n_pool: int, n_items: int | None = None) -> TBALConfig:
        """The engine's configuration for these parameters: same sizes, same seed, same random streams."""
        config = TBALConfig.resolve(
            epsilon=self.epsilon, delta=self.delta, budget=self.budget, validation_size=self.validation_size,
            seed_size=self.seed_size, batch_size=self.batch_size, seed=_seed_from(self.random_state),
            bound=self.bound, score=self.score, query=self.query, guarantee=self.guarantee,
            min_support=self.min_support, start_errors=self.start_errors, c1=self.c1,
            query_kwargs=self.query_kwargs, n_items=n_items)
        if config.seed_size > n_pool:
            raise InputError(f"seed_size ({config.seed_size}) is larger than the pool ({n_pool} items).")
        return config

    def _scores(self, fitted: Any, X: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        proba, logits = _loop.predict_proba_logits(fitted, X, K)
        return proba, confidence_scores(self.score, proba, logits), proba.argmax(axis=1)

    def run(self, X: ArrayLike, oracle: Oracle, *, validation_candidates: ArrayLike | None = None) -> AutoLabelResult:
        """Spend the budget, train, and make the one final pass named by ``final_pass``.

        Parameters
        ----------
        X : array-like, shape (n, d)
        oracle : Oracle
        validation_candidates : array-like of int or bool, optional
            A reserve to draw validation from, as in :meth:`AutoLabeler.run`; reserve items
            are never auto-labeled and do not count in coverage.

        Returns
        -------
        AutoLabelResult
        """
        return self.run_passes(X, oracle, validation_candidates=validation_candidates)[self.final_pass]

    def run_passes(
        self, X: ArrayLike, oracle: Oracle, *, validation_candidates: ArrayLike | None = None
    ) -> dict[str, AutoLabelResult]:
        """Both final passes from one training run: ``{"selective": AL+SC, "all": AL}``.

        The labels bought and the final model are the same; only the last pass differs.
        """
        self._check_params()
        X = _loop.check_features(X)
        n = X.shape[0]
        in_pool, reserve = _split_pool(n, validation_candidates)
        config = self._config(int(in_pool.sum()), n)
        budget, n_val, batch = config.budget, config.validation_size, config.batch_size
        ledger = _Ledger(n, oracle, self.classes)
        # the engine's own round-0 draw: TBAL and these baselines share validation and seed items by construction
        val_idx, seed_idx = initial_draw(config, reserve, in_pool)
        ledger.ask(val_idx, _VALIDATION, 0)
        ledger.ask(seed_idx, _HUMAN, 0)
        history, fitted, r = self._train(X, ledger, in_pool, budget, batch, config, n_val)

        train_idx = np.flatnonzero(ledger.source == _HUMAN)
        cand = np.flatnonzero(in_pool & (ledger.source == _UNLABELED))
        K = ledger.n_classes
        n_pool = int(in_pool.sum())
        stop_reason = "pool_exhausted" if cand.size == 0 else "budget_spent"
        extra_base = {"validation_indices": val_idx, "candidates": cand}
        results: dict[str, AutoLabelResult] = {}
        if fitted is None:  # fewer than two classes among the training labels: no model, no auto-labels
            note = "fewer than two classes among the training labels: no model, nothing auto-labeled"
            history = history + [_report(r, n_train=train_idx.size, n_val=n_val, est=None, classes=ledger.classes,
                                         delta=self.delta, n_auto=0, n_auto_total=0, n_queried=0,
                                         spent=ledger.spent, n_pool=n_pool, note=note)]
            for name in FINAL_PASSES:
                results[name] = ledger.result(in_pool=in_pool, history=list(history), stop_reason=stop_reason,
                                              epsilon=self.epsilon, delta=self.delta, bound=self.bound,
                                              budget=budget, extra={**extra_base, "final_pass": name})
            return results

        both = np.concatenate([cand, val_idx])
        _, s_all, pred_all = self._scores(fitted, X[both], K)
        s_c, pred_c = s_all[: cand.size], pred_all[: cand.size]
        s_v, pred_v = s_all[cand.size:], pred_all[cand.size:]
        oracle_inputs = {"indices": cand, "scores": s_c, "pred": pred_c}
        certified = config.certified
        delta_val = config.validation_delta if certified else self.delta
        for name in FINAL_PASSES:
            codes, source, rounds, scores = (ledger.codes.copy(), ledger.source.copy(), ledger.rounds.copy(),
                                             ledger.scores.copy())
            if name == "selective":
                est = estimate_thresholds(
                    s_v, pred_v, ledger.codes[val_idx], n_classes=K, epsilon=self.epsilon, delta=delta_val,
                    bound=self.bound, min_support=self.min_support, search=config.search, c1=self.c1,
                    start_errors=self.start_errors, pool_scores=s_c if certified else None,
                    pool_pred=pred_c if certified else None, n_auto_labeled=0,
                    pool_delta=config.pool_delta,
                )
                auto = select_confident(s_c, pred_c, est.thresholds)
                n_retired = int(select_confident(s_v, pred_v, est.thresholds).sum())
            else:
                est = None
                auto = np.ones(cand.size, dtype=bool)
                n_retired = 0
            ledger.auto(cand[auto], pred_c[auto], s_c[auto], r)
            n_auto = int(auto.sum())
            rep = _report(r, n_train=train_idx.size, n_val=n_val, est=est, classes=ledger.classes, delta=delta_val,
                          n_auto=n_auto, n_auto_total=n_auto, n_queried=0, spent=ledger.spent, n_pool=n_pool,
                          note=f"final pass ({name}) with the model trained on all {train_idx.size} training labels",
                          n_retired=n_retired)
            results[name] = ledger.result(
                in_pool=in_pool, history=history + [rep], stop_reason=stop_reason, epsilon=self.epsilon,
                delta=self.delta, bound=self.bound, budget=budget,
                extra={**extra_base, "final_pass": name, "oracle_inputs": oracle_inputs,
                       "thresholds": None if est is None else est.thresholds},
            )
            ledger.codes, ledger.source, ledger.rounds, ledger.scores = codes, source, rounds, scores
        return results

    def _train(self, X, ledger, in_pool, budget, batch, config, n_val):  # pragma: no cover - abstract
        raise NotImplementedError


class ActiveLearningLabeler(_OnePassLabeler):
    """Active learning, then one pass with the final model: the AL+SC and AL baselines.

    Round 0 draws ``validation_size`` validation labels (from the reserve, when given) and
    ``seed_size`` random training labels; every later round re-fits ``model`` on all
    training labels and queries ``batch_size`` more with ``query``, until ``budget`` (all
    human labels, validation included) is spent or the pool is empty. Nothing is
    auto-labeled inside the loop. Then the final model, trained on every training label,
    makes one pass over the unlabeled pool: with ``final_pass="selective"`` (AL+SC) it
    auto-labels the items above per-class thresholds estimated once on the full
    validation set, exactly as a single TBAL round would (same ``bound``, ``delta`` split
    and ``guarantee``); with ``final_pass="all"`` (AL) it labels every one of them.

    Parameters
    ----------
    model, epsilon, delta, bound, score, query, validation_size, seed_size, batch_size, budget, guarantee,
    min_support, start_errors, c1, classes, query_kwargs, random_state
        As for :class:`~surelabel.loop.AutoLabeler`.
    final_pass : {"selective", "all"}, default "selective"
        ``selective`` is AL+SC, ``all`` is AL.

    Notes
    -----
    Every label the oracle gives is counted once. The reference code of Vishwakarma et al.
    (2023) adds the running count to itself in its AL loop, so its AL and AL+SC used about
    half the training labels that TBAL did; here they use the same budget.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from surelabel import SimulatedOracle, datasets
    >>> X, y = datasets.unit_ball(3000, d=5, random_state=0)
    >>> al = ActiveLearningLabeler(LogisticRegression(C=100), epsilon=0.05, budget=700,
    ...                            validation_size=500, random_state=0)
    >>> result = al.run(X, SimulatedOracle(y))
    >>> result.n_human["total"], result.n_human["training"], result.coverage > 0.5
    (700, 200, True)
    """

    def _train(self, X, ledger, in_pool, budget, batch, config, n_val):
        query_fn = get_query(self.query)
        qkw = dict(self.query_kwargs or {})
        history: list[RoundReport] = []
        n_pool = int(in_pool.sum())
        r = 0
        while True:
            train_idx = np.flatnonzero(ledger.source == _HUMAN)
            y_train = ledger.codes[train_idx]
            fitted = None
            if np.unique(y_train).size >= 2:
                with small_fit_threads():  # a small fit: one BLAS thread (engine.SMALL_FIT_BLAS_THREADS)
                    fitted = clone(self.model).fit(X[train_idx], y_train)
            cand = np.flatnonzero(in_pool & (ledger.source == _UNLABELED))
            b = min(batch, budget - ledger.spent, cand.size)
            if b <= 0:
                return history, fitted, r
            rng = query_rng(config.seed, r + 1)  # TBAL's query stream for the same round
            if fitted is None:
                picks = rng.choice(cand.size, size=b, replace=False)
                note = "fewer than two classes among the training labels: random query"
            else:
                proba, _, _ = self._scores(fitted, X[cand], ledger.n_classes)
                picks = np.asarray(query_fn(proba, b, random_state=rng, **qkw), dtype=np.intp)
                note = ""
            ledger.ask(cand[picks], _HUMAN, r + 1)
            history.append(_report(r, n_train=train_idx.size, n_val=n_val, est=None, classes=ledger.classes,
                                   delta=self.delta, n_auto=0, n_auto_total=0, n_queried=picks.size,
                                   spent=ledger.spent, n_pool=n_pool, note=note))
            r += 1


class PassiveLearningLabeler(_OnePassLabeler):
    """Random training labels, one model, one pass: the PL+SC and PL baselines.

    ``validation_size`` validation labels are drawn as for TBAL; every other label of the
    budget is a uniformly random pool item (``seed_size`` first, then the rest, which is
    the same distribution). The model is trained once, and the final pass is the same as
    :class:`ActiveLearningLabeler`'s. ``query`` and ``batch_size`` are accepted for a
    shared vocabulary and not used.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from surelabel import SimulatedOracle, datasets
    >>> X, y = datasets.unit_ball(3000, d=5, random_state=0)
    >>> pl = PassiveLearningLabeler(LogisticRegression(C=100), epsilon=0.05, budget=700,
    ...                             validation_size=500, final_pass="all", random_state=0)
    >>> result = pl.run(X, SimulatedOracle(y))
    >>> result.n_human["training"], round(result.coverage, 4)
    (200, 0.7667)
    """

    def _train(self, X, ledger, in_pool, budget, batch, config, n_val):
        cand = np.flatnonzero(in_pool & (ledger.source == _UNLABELED))
        b = min(budget - ledger.spent, cand.size)
        if b > 0:
            ledger.ask(query_rng(config.seed, 1).choice(cand, size=b, replace=False), _HUMAN, 0)
        train_idx = np.flatnonzero(ledger.source == _HUMAN)
        y_train = ledger.codes[train_idx]
        fitted = None
        if np.unique(y_train).size >= 2:
            with small_fit_threads():
                fitted = clone(self.model).fit(X[train_idx], y_train)
        return [], fitted, 0


# -- semi-supervised baselines with a k-fold threshold ---------------------------------
def kfold_threshold(
    scores: ArrayLike, y_pred: ArrayLike, y_true: ArrayLike, *, epsilon: float, metric: str | Callable = "coverage"
) -> tuple[float, dict[str, float]]:
    """Threshold on out-of-fold scores chosen by a metric: ``(threshold, {"coverage", "error"})``.

    ``metric="coverage"`` takes the lowest threshold whose out-of-fold error among the
    items at or above it is at most ``epsilon`` (the largest out-of-fold coverage that
    meets ``epsilon``); ``inf`` when no region does. A callable
    ``metric(y_true, y_pred, selected_mask) -> float`` is maximised over the distinct
    scores instead.

    Examples
    --------
    >>> kfold_threshold([0.9, 0.8, 0.7, 0.6], [0, 0, 1, 1], [0, 0, 1, 0], epsilon=0.1)[0]
    0.7
    """
    s = np.asarray(scores, dtype=float).ravel()
    p = np.asarray(y_pred).ravel()
    t = np.asarray(y_true).ravel()
    if s.size == 0:
        return math.inf, {"coverage": 0.0, "error": math.nan}
    order = np.argsort(-s, kind="stable")
    ss, wrong = s[order], (p != t)[order]
    ends = np.ones(ss.size, dtype=bool)
    ends[:-1] = ss[:-1] != ss[1:]
    n = np.arange(1, ss.size + 1)
    err = np.cumsum(wrong) / n
    if callable(metric):
        best, value = -1, -math.inf
        for j in np.flatnonzero(ends):
            v = float(metric(t, p, s >= ss[j]))
            if v > value:
                best, value = int(j), v
    elif metric == "coverage":
        ok = np.flatnonzero(ends & (err <= epsilon))
        if ok.size == 0:
            return math.inf, {"coverage": 0.0, "error": math.nan}
        best = int(ok[-1])
    else:
        raise ValueError(f"Unknown metric {metric!r}. Allowed: 'coverage' or a callable.")
    return float(ss[best]), {"coverage": float((best + 1) / ss.size), "error": float(err[best])}


class PrecomputedKernel:
    """A fixed affinity graph that :class:`~sklearn.semi_supervised.LabelSpreading` can use as ``kernel``.

    The k-nearest-neighbour search is the costly part of label spreading; when the same
    items are labeled many times (k folds, many seeds) it is done once. Calling the object
    with the items it was built for returns the graph.

    Attributes
    ----------
    graph : scipy.sparse.csr_matrix, shape (n, n)
    """

    def __init__(self, graph: Any) -> None:
        self.graph = graph

    def __call__(self, X: Any, Y: Any = None) -> Any:
        n = self.graph.shape[0]
        if X.shape[0] != n or (Y is not None and Y.shape[0] != n):
            raise ValueError(
                f"This precomputed graph is for {n} items; got {X.shape[0]}. Build it with knn_graph() on the same X."
            )
        return self.graph


def knn_graph(X: ArrayLike, n_neighbors: int = 7, n_jobs: int | None = None) -> PrecomputedKernel:
    """The k-nearest-neighbour connectivity graph label spreading's ``kernel="knn"`` builds.

    Examples
    --------
    >>> kernel = knn_graph(np.random.default_rng(0).random((50, 3)), n_neighbors=5)
    >>> kernel.graph.shape, int(kernel.graph.sum())
    ((50, 50), 250)
    """
    from sklearn.neighbors import NearestNeighbors

    arr = _loop.check_features(X)
    nn = NearestNeighbors(n_neighbors=n_neighbors, n_jobs=n_jobs).fit(arr)
    return PrecomputedKernel(nn.kneighbors_graph(arr, n_neighbors, mode="connectivity").tocsr())


class _ProbaFromDecision(ClassifierMixin, BaseEstimator):
    """Gives ``predict_proba`` to a classifier that only has ``decision_function`` (for self-training)."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return proba_from_decision(self.estimator_.decision_function(X))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class _SemiSupervisedLabeler(BaseEstimator):
    """Draw the human labels, search the threshold by stratified k-fold, auto-label."""

    def _check_common(self) -> None:
        _check_unit("epsilon", self.epsilon)
        if int(self.n_splits) < 2:
            raise ValueError(f"The 'n_splits' parameter must be >= 2. Got {self.n_splits}.")
        if not (callable(self.metric) or self.metric == "coverage"):
            raise ValueError(f"Unknown metric {self.metric!r}. Allowed: 'coverage' or a callable.")

    def _draw(self, X, oracle, validation_candidates):
        self._check_params()
        X = _loop.check_features(X)
        n = X.shape[0]
        seed = _seed_from(self.random_state)
        rng = check_random_state(seed)
        in_pool, reserve = _split_pool(n, validation_candidates)
        budget, n_val = _resolve_budget(self.budget, self.validation_size, reserve.size)
        ledger = _Ledger(n, oracle, self.classes)
        # the engine's validation stream: the same validation items as TBAL and AL/PL for the same seed
        val_idx = np.sort(validation_rng(seed).choice(reserve, size=n_val, replace=False)) if n_val \
            else np.empty(0, np.intp)
        available = in_pool.copy()
        available[val_idx] = False
        n_train = min(budget - n_val, int(available.sum()))
        train_idx = rng.choice(np.flatnonzero(available), size=n_train, replace=False)
        ledger.ask(val_idx, _VALIDATION, 0)
        ledger.ask(train_idx, _HUMAN, 0)
        labeled = np.flatnonzero(ledger.codes >= 0)
        if np.unique(ledger.codes[labeled]).size < 2:
            raise InputError("Fewer than two classes among the human labels; these baselines need at least two.")
        return X, rng, in_pool, budget, ledger, val_idx, labeled

    def _folds(self, y: np.ndarray, rng: np.random.Generator):
        from sklearn.model_selection import StratifiedKFold

        k = int(min(self.n_splits, max(2, np.bincount(y).max())))
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            # a class with fewer members than folds is legitimate here (tiny budgets)
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            return list(skf.split(np.zeros(y.size), y)), k

    def _finish(self, ledger, in_pool, budget, val_idx, auto_idx, auto_codes, auto_scores, thr, search,
                oracle_inputs, note) -> AutoLabelResult:
        ledger.auto(auto_idx, auto_codes, auto_scores, 0)
        n_pool = int(in_pool.sum())
        n_auto = int(auto_idx.size)
        rep = _report(0, n_train=int((ledger.source == _HUMAN).sum()), n_val=val_idx.size, est=None,
                      classes=ledger.classes, delta=math.nan, n_auto=n_auto, n_auto_total=n_auto, n_queried=0,
                      spent=ledger.spent, n_pool=n_pool, note=note)
        rep = RoundReport(**{**rep.to_dict(), "thresholds": {str(c): (thr if np.isfinite(thr) else None)
                                                            for c in ledger.classes}})
        return ledger.result(in_pool=in_pool, history=[rep], stop_reason="budget_spent", epsilon=self.epsilon,
                             delta=math.nan, bound="none", budget=budget,
                             extra={"validation_indices": val_idx, "threshold": thr, "search": search,
                                    "oracle_inputs": oracle_inputs})


class SelfTrainingLabeler(_SemiSupervisedLabeler):
    """Self-training on the human labels; its pseudo-labels are its auto-labels.

    ``budget`` human labels are bought at once: ``validation_size`` from the reserve (when
    given; as TBAL draws its validation) and the rest uniformly from the pool. All of them
    train a :class:`~sklearn.semi_supervised.SelfTrainingClassifier` around ``model`` on
    the whole of ``X``; the pool items it pseudo-labels with confidence at or above its
    ``threshold`` are auto-labeled. The threshold is picked from ``thresholds`` by
    stratified k-fold search over the human labels: in each fold the held-out labels are
    hidden among the unlabeled items, and the share of them that self-training
    pseudo-labels, and how many wrongly, estimate coverage and error (seed ``003``).

    Parameters
    ----------
    model : scikit-learn classifier
        The base estimator; one with only ``decision_function`` (a linear SVM) gets
        logistic probabilities, as TBAL's scores do.
    epsilon : float in (0, 1)
        The error the search aims at (no promise is made).
    budget : int
        Human labels in all.
    validation_size : int, optional
        Labels drawn from the reserve (default half the budget, as TBAL).
    thresholds : sequence of float
        Self-training thresholds searched.
    n_splits : int, default 5
    metric : "coverage" or callable, default "coverage"
        See :func:`kfold_threshold`.
    max_iter : int, default 10
        Self-training iterations.
    search_pool_size : int or None, default 5000
        Unlabeled items used in the search fits (a random subset, for speed); the final
        fit uses all of them.
    classes : sequence, optional
    random_state : int, Generator or None

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from surelabel import SimulatedOracle, datasets
    >>> X, y = datasets.unit_ball(1500, d=5, random_state=0)
    >>> st = SelfTrainingLabeler(LogisticRegression(C=100), epsilon=0.05, budget=300, n_splits=3,
    ...                          thresholds=(0.9, 0.99), random_state=0)
    >>> result = st.run(X, SimulatedOracle(y))
    >>> result.n_human["total"], result.coverage > 0.5
    (300, True)
    """

    def __init__(
        self,
        model: Any,
        *,
        epsilon: float,
        budget: int,
        validation_size: int | None = None,
        thresholds: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
        n_splits: int = 5,
        metric: str | Callable = "coverage",
        max_iter: int = 10,
        search_pool_size: int | None = 5000,
        classes: ArrayLike | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.model = model
        self.epsilon = epsilon
        self.budget = budget
        self.validation_size = validation_size
        self.thresholds = thresholds
        self.n_splits = n_splits
        self.metric = metric
        self.max_iter = max_iter
        self.search_pool_size = search_pool_size
        self.classes = classes
        self.random_state = random_state

    def _check_params(self) -> None:
        self._check_common()
        grid = np.asarray(self.thresholds, dtype=float)
        if grid.size == 0 or (grid <= 0).any() or (grid >= 1).any():
            raise ValueError(f"The 'thresholds' parameter must hold values in (0, 1). Got {self.thresholds!r}.")
        if not (hasattr(self.model, "predict_proba") or hasattr(self.model, "decision_function")):
            raise TypeError(f"The model {type(self.model).__name__} has neither predict_proba nor decision_function.")

    def _base(self) -> Any:
        base = clone(self.model)
        if "warm_start" in base.get_params():
            # self-training re-fits the same estimator on a growing set; starting from the last
            # solution gives the same model for a fraction of the optimiser's iterations
            base.set_params(warm_start=True)
        return base if hasattr(base, "predict_proba") else _ProbaFromDecision(base)

    def _fit(self, X: np.ndarray, y: np.ndarray, threshold: float) -> Any:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.semi_supervised import SelfTrainingClassifier

        st = SelfTrainingClassifier(self._base(), threshold=float(threshold), max_iter=int(self.max_iter))
        with warnings.catch_warnings():
            # an iteration limit reached or a base model short of convergence is a property of the
            # baseline being measured, not an error of the benchmark
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", message="y contains no unlabeled samples", category=UserWarning)
            return st.fit(X, y)

    def run(self, X: ArrayLike, oracle: Oracle, *, validation_candidates: ArrayLike | None = None) -> AutoLabelResult:
        """Buy the labels, search the threshold by k-fold, self-train, and auto-label.

        Returns
        -------
        AutoLabelResult
            ``extra["threshold"]`` is the chosen threshold and ``extra["search"]`` the
            out-of-fold coverage and error of every threshold tried. ``scores`` holds the
            final self-trained model's confidence; each pseudo-label was admitted earlier,
            at or above the threshold, by the model of the iteration that made it.
        """
        X, rng, in_pool, budget, ledger, val_idx, labeled = self._draw(X, oracle, validation_candidates)
        y_lab = ledger.codes[labeled]
        unl = np.flatnonzero(ledger.codes < 0)
        folds, k = self._folds(y_lab, rng)
        sub = unl
        if self.search_pool_size is not None and unl.size > int(self.search_pool_size):
            sub = rng.choice(unl, size=int(self.search_pool_size), replace=False)
        grid = sorted(float(t) for t in self.thresholds)
        search: list[dict[str, float]] = []
        for thr in grid:
            n_held = n_sel = n_wrong = 0
            for tr, te in folds:
                idx = np.concatenate([labeled[tr], labeled[te], sub])
                y_fit = np.concatenate([y_lab[tr], np.full(te.size + sub.size, -1)])
                st = self._fit(X[idx], y_fit, thr)
                held = slice(tr.size, tr.size + te.size)
                sel = st.labeled_iter_[held] > 0
                n_held += te.size
                n_sel += int(sel.sum())
                n_wrong += int((st.transduction_[held][sel] != y_lab[te][sel]).sum())
            cov = n_sel / n_held if n_held else 0.0
            err = n_wrong / n_sel if n_sel else 0.0
            search.append({"threshold": thr, "coverage": cov, "error": err})
        chosen = _choose(search, self.epsilon, self.metric)
        y_all = np.where(ledger.codes >= 0, ledger.codes, -1)
        st = self._fit(X, y_all, chosen)
        proba = st.predict_proba(X[unl])
        scores = proba.max(axis=1)
        pseudo = st.labeled_iter_[unl] > 0
        in_p = in_pool[unl]
        hit = unl[pseudo & in_p]
        codes = st.transduction_[unl][pseudo & in_p].astype(np.intp)
        cand_mask = in_p
        oracle_inputs = {"indices": unl[cand_mask], "scores": scores[cand_mask],
                         "pred": st.classes_[proba.argmax(axis=1)][cand_mask].astype(np.intp)}
        note = (f"self-training threshold {chosen:g} chosen by {k}-fold search; "
                f"{int(st.n_iter_)} self-training iteration(s)")
        return self._finish(ledger, in_pool, budget, val_idx, hit, codes, scores[pseudo & in_p], chosen, search,
                            oracle_inputs, note)


def _choose(search: list[dict[str, float]], epsilon: float, metric: str | Callable) -> float:
    """The grid value with the best out-of-fold result; the most conservative one if none meets epsilon."""
    if callable(metric):
        return max(search, key=lambda row: metric(row))["threshold"]
    ok = [row for row in search if row["error"] <= epsilon]
    if not ok:
        return max(row["threshold"] for row in search)
    return max(ok, key=lambda row: (row["coverage"], row["threshold"]))["threshold"]


class LabelSpreadingLabeler(_SemiSupervisedLabeler):
    """Label spreading from the human labels, thresholded where a k-fold search says it is safe.

    ``budget`` human labels are bought at once, as for :class:`SelfTrainingLabeler`.
    :class:`~sklearn.semi_supervised.LabelSpreading` spreads them over a nearest-neighbour
    graph of every item of ``X``; a pool item is auto-labeled with its spread class when
    the largest entry of its label distribution reaches a threshold. The threshold comes
    from stratified k-fold search: each fold's labels are hidden, spread from the others,
    and the held-out items' out-of-fold scores and errors choose it with ``metric``
    (:func:`kfold_threshold`). Seed ``003`` describes the recipe.

    Parameters
    ----------
    epsilon : float in (0, 1)
        The error the search aims at (no promise is made).
    budget : int
    validation_size : int, optional
        Labels drawn from the reserve (default half the budget, as TBAL).
    kernel : {"knn", "rbf"} or callable, default "knn"
        A :class:`PrecomputedKernel` from :func:`knn_graph` saves the neighbour search
        when the same ``X`` is labeled many times.
    n_neighbors : int, default 7
    alpha : float, default 0.2
    max_iter : int, default 200
    n_splits : int, default 5
    metric : "coverage" or callable, default "coverage"
    classes : sequence, optional
    random_state : int, Generator or None

    Examples
    --------
    >>> from surelabel import SimulatedOracle, datasets
    >>> X, y = datasets.unit_ball(1500, d=3, random_state=0)
    >>> ls = LabelSpreadingLabeler(epsilon=0.05, budget=300, random_state=0)
    >>> result = ls.run(X, SimulatedOracle(y))
    >>> result.n_human["total"], result.coverage > 0.3
    (300, True)
    """

    def __init__(
        self,
        *,
        epsilon: float,
        budget: int,
        validation_size: int | None = None,
        kernel: str | Callable = "knn",
        n_neighbors: int = 7,
        alpha: float = 0.2,
        max_iter: int = 200,
        n_splits: int = 5,
        metric: str | Callable = "coverage",
        classes: ArrayLike | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.epsilon = epsilon
        self.budget = budget
        self.validation_size = validation_size
        self.kernel = kernel
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.max_iter = max_iter
        self.n_splits = n_splits
        self.metric = metric
        self.classes = classes
        self.random_state = random_state

    def _check_params(self) -> None:
        self._check_common()
        if not (callable(self.kernel) or self.kernel in ("knn", "rbf")):
            raise ValueError(f"Unknown kernel {self.kernel!r}. Allowed: 'knn', 'rbf' or a callable.")

    def _spread(self, X: np.ndarray, y: np.ndarray, kernel: Any) -> Any:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.semi_supervised import LabelSpreading

        ls = LabelSpreading(kernel=kernel, n_neighbors=self.n_neighbors, alpha=self.alpha, max_iter=self.max_iter)
        with warnings.catch_warnings():
            # the iteration limit is reported in the result's note, not raised
            warnings.simplefilter("ignore", ConvergenceWarning)
            return ls.fit(X, y)

    def run(self, X: ArrayLike, oracle: Oracle, *, validation_candidates: ArrayLike | None = None) -> AutoLabelResult:
        """Buy the labels, search the threshold by k-fold, spread, and auto-label.

        Returns
        -------
        AutoLabelResult
            ``extra["threshold"]`` is the chosen threshold and ``extra["search"]`` its
            out-of-fold coverage and error.
        """
        X, rng, in_pool, budget, ledger, val_idx, labeled = self._draw(X, oracle, validation_candidates)
        kernel = self.kernel
        if kernel == "knn":  # the graph depends on X only: build it once for every fold
            kernel = knn_graph(X, self.n_neighbors)
        y_lab = ledger.codes[labeled]
        folds, k = self._folds(y_lab, rng)
        oof_s = np.empty(labeled.size)
        oof_p = np.empty(labeled.size, dtype=np.intp)
        for tr, te in folds:
            y_fit = np.full(X.shape[0], -1, dtype=np.intp)
            y_fit[labeled[tr]] = y_lab[tr]
            ls = self._spread(X, y_fit, kernel)
            dist = ls.label_distributions_[labeled[te]]
            oof_s[te] = dist.max(axis=1)
            oof_p[te] = ls.classes_[dist.argmax(axis=1)]
        thr, info = kfold_threshold(oof_s, oof_p, y_lab, epsilon=self.epsilon, metric=self.metric)
        y_fit = np.where(ledger.codes >= 0, ledger.codes, -1)
        ls = self._spread(X, y_fit, kernel)
        cand = np.flatnonzero(in_pool & (ledger.codes < 0))
        dist = ls.label_distributions_[cand]
        scores = dist.max(axis=1)
        pred = ls.classes_[dist.argmax(axis=1)].astype(np.intp)
        auto = scores >= thr
        converged = int(ls.n_iter_) < int(self.max_iter)
        note = (f"threshold {thr:.4g} chosen by {k}-fold search (out-of-fold coverage {info['coverage']:.3f}, "
                f"error {info['error']:.4f}); spreading {'converged' if converged else 'hit max_iter'}")
        return self._finish(ledger, in_pool, budget, val_idx, cand[auto], pred[auto], scores[auto], thr,
                            [{"threshold": thr, **info}], {"indices": cand, "scores": scores, "pred": pred}, note)
