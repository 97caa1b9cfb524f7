"""The TBAL loop: train, score once, certify thresholds, auto-label, query, repeat.

:class:`AutoLabeler` runs the whole loop against an :class:`~surelabel.oracles.Oracle`
(a simulated one, or anything that can answer labels). It follows scikit-learn's
conventions: no work in ``__init__``, parameters validated in :meth:`AutoLabeler.run`, the
user's model is ``clone``-d and re-fit on the human *training* labels every round — never on
validation labels.

How the promise is kept across rounds (``docs/guarantee.md``): the failure probability
``delta`` is split in two. Three quarters go to the validation tests, released by a spending
function of the training labels bought (a quarter of it in proportion to them, the rest to
the round that spends the training budget, whose model is the best), so that the levels of
all rounds add up to at most that share however many rounds there are. Each round certifies
the *cumulative* auto-labeled region (the validation points retired in earlier rounds stay
part of the evidence) by fixed-sequence testing at its level. The last quarter covers the
finite size of the pool: the bound is compared with
:func:`~surelabel.bounds.binomial_safe_rate` of all auto-labels made so far, so the promise
is about the realised share of wrong auto-labels, not only a rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator

from .engine import (
    SCORE_CHUNK_ROWS,
    SOURCE_NAMES,
    LabelState,
    TBALConfig,
    choose_queries,
    decide_next,
    initial_draw,
    predict_proba_logits,
    run_round,
)
from .exceptions import InputError, OracleError
from .oracles import Oracle
from .result import AutoLabelResult, RoundReport
from .rng import RandomState, seed_from

__all__ = ["AutoLabeler", "predict_proba_logits", "check_features"]


def check_features(X: ArrayLike, name: str = "X") -> np.ndarray:
    """2-D float array with only finite values, or an :class:`InputError` naming the first bad row.

    No copy of the pool is made: a float array keeps its dtype (float32 stays float32; only
    integers and other numbers become float64), finiteness is checked
    a few megabytes at a time, and a read-only memory-mapped
    ``.npy`` (``np.load(path, mmap_mode="r")``) or a pool of :mod:`surelabel.pool` is read in
    chunks from disk, never loaded whole.
    """
    from .pool import as_pool

    pool = as_pool(X)
    if pool is not None:
        if not pool.finite_checked:
            for lo, block in pool.iter_chunks():
                _check_finite(block, name, lo)
            pool.finite_checked = True
        return pool
    try:
        arr = np.asarray(X)
        if arr.dtype.kind != "f":
            arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}.") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D array of features. Got {arr.ndim} dimensions.")
    step = min(SCORE_CHUNK_ROWS, max(1024, 2**24 // max(arr.shape[1], 1)))  # a small boolean temporary
    for lo in range(0, arr.shape[0], step):
        _check_finite(arr[lo:lo + step], name, lo)
    return arr


def _check_finite(block: np.ndarray, name: str, first_row: int) -> None:
    if np.isfinite(block).all():
        return
    row, col = np.argwhere(~np.isfinite(block))[0]
    raise InputError(
        f"{name} has a non-finite value (NaN or inf) at row {first_row + row}, column {col}; "
        "fill or drop such rows before auto-labeling."
    )


class AutoLabeler(BaseEstimator):
    """Threshold-based auto-labeling with a certified bound on the share of wrong auto-labels.

    Parameters
    ----------
    model : scikit-learn classifier
        Anything with ``fit`` and ``predict_proba`` or ``decision_function``. Cloned and
        re-fit every round on the human training labels only.
    epsilon : float in (0, 1)
        Largest acceptable share of wrong auto-labels.
    delta : float in (0, 1), default 0.05
        Allowed probability that the share of wrong auto-labels exceeds ``epsilon``.
    bound : {"clopper-pearson", "hoeffding", "paper"}, default "clopper-pearson"
        ``paper`` reproduces the reference heuristic and gives no guarantee.
    score : str or callable, default "max_proba"
        Confidence score: ``max_proba``, ``margin``, ``neg_entropy``, ``energy`` or a function
        of the probability matrix.
    query : str or callable, default "random"
        Which items people label next, among those not auto-labeled: ``random`` (the default:
        representative training labels keep the model's confidence well ranked; measured
        best across data sets in ``docs/guarantee.md``), ``margin``, ``least_confident``,
        ``entropy``, ``margin_random`` (the paper's; better on some data, e.g. digits),
        ``mixed``, or a function ``(proba, b, *, random_state) -> indices``.
    validation_size : int, optional
        Human labels spent on validation in round 0. Default: half the budget.
    seed_size : int, optional
        Random training labels in round 0. Default: 20 % of what the budget leaves after
        validation (the paper's setting), at least 2.
    batch_size : int, optional
        Training labels queried per round. Default: 5 % of what the budget leaves after
        validation, at least 1.
    budget : int
        Every human label counts, validation included.
    guarantee : {"overall", "per-class"}, default "overall"
        What the promise covers. ``overall``: the share of wrong labels among *all*
        auto-labels is at most ``epsilon`` (one threshold certified on the union of classes;
        a guard keeps a class whose own validation evidence puts it clearly above
        ``epsilon`` from being auto-labeled). ``per-class``: every class's auto-labels on
        their own, jointly; needs more validation labels (``surelabel plan``).
    min_support : int, optional
        Classes with fewer predicted validation points are never auto-labeled.
    start_errors : int, optional
        Certified bounds only: the fixed-sequence test starts at the smallest region that
        could pass with this many validation errors in it; chosen from counts when omitted.
    c1 : float, default 0.25
        Constant of the ``paper`` heuristic.
    classes : sequence, optional
        The label set; inferred from the labels the oracle gives when omitted.
    query_kwargs : dict, optional
        Extra keyword arguments for the query strategy (e.g. ``{"factor": 2}``).
    random_state : int, Generator or None
    scheduler : str or distributed.Client, optional
        Score the pool on a Dask cluster (``pip install 'surelabel[dask]'``): the scheduler's
        address (``"tcp://host:8786"``), a ``distributed.Client``, or ``"local"`` for a local
        cluster of ``workers`` processes. The model is trained here and sent to the workers;
        the labels are the same as in process. A pool on disk must be at the same path on
        every worker (:mod:`surelabel.distributed`).
    workers : int, optional
        Worker processes of a ``"local"`` cluster (default 2).

    A scikit-learn estimator in its conventions: ``get_params``, ``set_params``,
    ``sklearn.base.clone`` and a readable ``repr`` work; no work happens in ``__init__``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from surelabel import SimulatedOracle, datasets
    >>> X, y = datasets.unit_ball(3000, d=5, random_state=0)
    >>> labeler = AutoLabeler(LogisticRegression(), epsilon=0.05, budget=700,
    ...                       validation_size=500, random_state=0)
    >>> result = labeler.run(X, SimulatedOracle(y))
    >>> result.n_human["total"] <= 700 and result.auto_error(y) <= 0.05
    True
    """

    def __init__(
        self,
        model: Any,
        *,
        epsilon: float,
        delta: float = 0.05,
        bound: str = "clopper-pearson",
        score: str | Callable[[np.ndarray], np.ndarray] = "max_proba",
        query: str | Callable[..., np.ndarray] = "random",
        validation_size: int | None = None,
        seed_size: int | None = None,
        batch_size: int | None = None,
        budget: int,
        guarantee: str = "overall",
        min_support: int | None = None,
        start_errors: int | None = None,
        c1: float = 0.25,
        classes: ArrayLike | None = None,
        query_kwargs: dict[str, Any] | None = None,
        random_state: RandomState = None,
        scheduler: Any = None,
        workers: int | None = None,
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
        self.classes = classes
        self.query_kwargs = query_kwargs
        self.random_state = random_state
        self.scheduler = scheduler
        self.workers = workers

    def _config(self, seed: int, n_items: int | None = None) -> TBALConfig:
        if not (hasattr(self.model, "predict_proba") or hasattr(self.model, "decision_function")):
            raise TypeError(
                f"The model {type(self.model).__name__} has neither predict_proba nor decision_function; "
                "use a classifier that has one (e.g. LogisticRegression or LinearSVC)."
            )
        if not hasattr(self.model, "fit"):
            raise TypeError(f"The model {type(self.model).__name__} has no fit method.")
        return TBALConfig.resolve(
            epsilon=self.epsilon,
            delta=self.delta,
            budget=self.budget,
            validation_size=self.validation_size,
            seed_size=self.seed_size,
            batch_size=self.batch_size,
            seed=seed,
            bound=self.bound,
            score=self.score,
            query=self.query,
            guarantee=self.guarantee,
            min_support=self.min_support,
            start_errors=self.start_errors,
            c1=self.c1,
            query_kwargs=self.query_kwargs,
            n_items=n_items,
        )

    def run(
        self,
        X: ArrayLike,
        oracle: Oracle,
        *,
        validation_candidates: ArrayLike | None = None,
        callback: Callable[[RoundReport], None] | None = None,
    ) -> AutoLabelResult:
        """Auto-label ``X``, asking ``oracle`` for human labels within the budget.

        Parameters
        ----------
        X : array-like, shape (n, d)
            Features of every item.
        oracle : Oracle
            Answers labels for item positions in ``X``. It may answer ``None`` for a
            validation item it cannot label (a skip): the item stays in the validation set
            and counts as an error wherever it falls, so skipping the hard items cannot make
            the bound optimistic. Training items must be answered.
        validation_candidates : array-like of int or bool, optional
            Items reserved for validation draws (a held-out reserve, as in the paper). They
            are not auto-labeled and do not count in coverage. By default validation is drawn
            from all items.
        callback : callable, optional
            Called as ``callback(report)`` with each round's :class:`RoundReport` as soon as the
            round is done (its next batch already answered): progress bars, logs, a look at the
            run in a notebook. Its return value is ignored; an exception it raises stops the run.

        Returns
        -------
        AutoLabelResult
        """
        X = check_features(X)
        n = X.shape[0]
        config = self._config(seed_from(self.random_state), n)
        if self.scheduler is not None:
            from .distributed import DistributedPool, connect

            client, close = connect(self.scheduler, self.workers)
            try:
                return self._run(DistributedPool(X, client), oracle, config, validation_candidates, callback)
            finally:
                close()
        return self._run(X, oracle, config, validation_candidates, callback)

    def _run(self, X: Any, oracle: Oracle, config: Any, validation_candidates: ArrayLike | None,
             callback: Callable[[RoundReport], None] | None) -> AutoLabelResult:
        n = X.shape[0]
        known = getattr(oracle, "y_true", None)
        if known is not None and np.shape(known)[0] != n:
            raise InputError(f"The oracle knows {np.shape(known)[0]} labels but X has {n} items; "
                             "give one label per row of X.")
        in_pool = np.ones(n, dtype=bool)
        if validation_candidates is not None:
            vc = np.asarray(validation_candidates)
            if vc.dtype == bool and vc.shape[0] != n:
                raise InputError(f"validation_candidates mask has {vc.shape[0]} entries for {n} items.")
            reserve = np.flatnonzero(vc) if vc.dtype == bool else np.unique(vc.astype(np.intp))
            if reserve.size and (reserve.min() < 0 or reserve.max() >= n):
                raise InputError("validation_candidates holds positions outside X.")
            in_pool[reserve] = False
        else:
            reserve = np.arange(n)

        classes: list[Any] = [] if self.classes is None else list(np.asarray(self.classes).tolist())
        class_index: dict[Any, int] = {c: i for i, c in enumerate(classes)}
        fixed_classes = self.classes is not None

        def ask(indices: np.ndarray, *, validation: bool = False) -> np.ndarray:
            answers = np.asarray(oracle.label(indices), dtype=object)
            if answers.shape[0] != indices.shape[0]:
                raise OracleError(f"The oracle answered {answers.shape[0]} labels for {indices.shape[0]} items.")
            skipped = np.array([a is None for a in answers.tolist()], dtype=bool)
            if skipped.any() and not validation:
                raise OracleError(f"The oracle gave no label (None) for training item {int(indices[skipped][0])}; "
                                  "only validation items may be skipped.")
            answers = answers[~skipped]
            fresh = sorted({a for a in answers.tolist() if a not in class_index}, key=str)
            if fresh and fixed_classes:
                raise OracleError(f"The oracle answered unknown label(s) {fresh[:5]}; known classes: {classes}.")
            for a in fresh:
                class_index[a] = len(classes)
                classes.append(a)
            codes = np.full(indices.shape[0], -1, dtype=np.intp)  # -1: skipped, an error wherever it falls
            codes[~skipped] = [class_index[a] for a in answers.tolist()]
            return codes

        val_idx, seed_idx = initial_draw(config, reserve, in_pool)
        state = LabelState.empty(n, len(classes), in_pool)
        val_codes = ask(val_idx, validation=True) if val_idx.size else np.empty(0, np.intp)
        seed_codes = ask(seed_idx) if seed_idx.size else np.empty(0, np.intp)
        state.grow_classes(len(classes))
        state.record_human(val_idx, val_codes, 0, validation=True)
        state.record_human(seed_idx, seed_codes, 0)
        # With fewer than two classes among the training labels a round trains no model and asks for
        # random items instead (engine.run_round): the labels already bought are kept, never thrown away.

        history: list[RoundReport] = []
        r = 0
        while True:
            state.grow_classes(len(classes))
            outcome = run_round(config, self.model, X, state, r)
            state.apply_round(outcome)
            stop_reason, b = decide_next(config, state, outcome)
            queried = np.empty(0, dtype=np.intp)
            if not stop_reason:
                queried = choose_queries(config, outcome, b)
                state.record_human(queried, ask(queried), r + 1)
            history.append(round_report(outcome, state, classes, queried.size))
            if callback is not None:
                callback(history[-1])
            if stop_reason:
                break
            r += 1

        labels = np.empty(n, dtype=object)
        cls = np.empty(len(classes), dtype=object)
        cls[:] = classes
        has = state.codes >= 0
        labels[has] = cls[state.codes[has]]
        return AutoLabelResult(
            labels=labels,
            source=SOURCE_NAMES[state.source].astype(str),
            round=state.rounds,
            scores=state.scores,
            in_pool=in_pool,
            classes=cls,
            history=history,
            stop_reason=stop_reason,
            epsilon=config.epsilon,
            delta=config.delta,
            bound=config.bound,
            budget=config.budget,
            extra={"validation_indices": val_idx, "delta_spent": state.delta_spent, "config": config},
        )


def round_report(outcome: Any, state: LabelState, classes: list[Any], n_queried: int) -> RoundReport:
    """The history entry of one round (after it was applied)."""

    def f(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    names = [str(c) for c in classes][: outcome.n_classes]
    est = outcome.estimate
    if est is None:
        thr = {c: None for c in names}
        ub = {c: None for c in names}
        estimates: dict[str, dict[str, Any]] = {}
        union_ub = target = None
    else:
        thr = {c: f(t) for c, t in zip(names, est.thresholds)}
        ub = {c: f(u) for c, u in zip(names, est.upper_bound)}
        cn, ck = est.extra["class_n"], est.extra["class_errors"]  # this round's points and earlier evidence
        estimates = {c: {"n": int(n), "errors": int(k), "estimate": f(k / n) if n else None,
                         "interval": [f(lo), f(hi)], "guarded": bool(g)}
                     for c, n, k, lo, hi, g in zip(names, cn, ck, est.class_lower, est.class_upper, est.guarded)}
        union_ub = f(est.union_upper_bound) if est.union_n_selected else None
        target = est.target
    pool = int(state.in_pool.sum())
    n_auto = state.n_auto
    return RoundReport(
        round=outcome.round,
        n_train=int(outcome.n_train),
        n_validation_left=int(state.val_active.sum()),
        thresholds=thr,
        upper_bounds=ub,
        class_estimates=estimates,
        union_upper_bound=union_ub,
        target=target,
        delta=float(outcome.delta),
        n_auto_labeled=int(outcome.auto_indices.size),
        n_auto_labeled_total=n_auto,
        n_retired_validation=int(outcome.retired_indices.size),
        n_queried=int(n_queried),
        human_labels_total=state.spent,
        coverage=n_auto / pool if pool else 0.0,
        note=outcome.note,
    )
