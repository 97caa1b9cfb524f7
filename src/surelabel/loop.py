"""The TBAL loop: train, score once, certify thresholds, auto-label, query, repeat.

:class:`AutoLabeler` runs the whole loop against an :class:`~surelabel.oracles.Oracle`
(a simulated one, or anything that can answer labels). It follows scikit-learn's
conventions: no work in ``__init__``, parameters validated in :meth:`AutoLabeler.run`, the
user's model is ``clone``-d and re-fit on the human *training* labels every round — never on
validation labels.

How the promise is kept across rounds (``docs/guarantee.md``): the failure probability
``delta`` is split in two. Three quarters are spread evenly over the largest number of
rounds the budget allows; each round certifies the *cumulative* auto-labeled region (the
validation points retired in earlier rounds stay part of the evidence) by fixed-sequence
testing at its share. The last quarter covers the finite size of the pool: the bound is
compared with :func:`~surelabel.bounds.binomial_safe_rate` of all auto-labels made so far,
so the promise is about the realised share of wrong auto-labels, not only a rate.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone

from .exceptions import BudgetError, InputError, OracleError
from .oracles import Oracle
from .result import AutoLabelResult, RoundReport
from .rng import RandomState, check_random_state
from .scores import energy, get_score, proba_from_decision
from .thresholds import BOUNDS, SEARCHES, ThresholdEstimate, estimate_thresholds, min_certifiable_size, select_confident
from .query import get_query

__all__ = ["AutoLabeler", "predict_proba_logits", "check_features"]

_UNLABELED, _HUMAN, _VALIDATION, _AUTO = 0, 1, 2, 3
_SOURCE_NAMES = np.array(["unlabeled", "human", "validation", "auto"], dtype=object)

#: Share of ``delta`` spent on the validation tests; the rest covers the pool's finite size.
VALIDATION_SHARE = 0.75


def check_features(X: ArrayLike, name: str = "X") -> np.ndarray:
    """2-D float array with only finite values, or an :class:`InputError` naming the first bad row."""
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}.") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D array of features. Got {arr.ndim} dimensions.")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{name} has a non-finite value (NaN or inf) at row {row}, column {col}; "
            "fill or drop such rows before auto-labeling."
        )
    return arr


def predict_proba_logits(model: Any, X: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(proba, logits)`` over all ``n_classes`` columns from a fitted classifier.

    Uses ``predict_proba`` when the model has it, else ``decision_function`` (logistic link
    for two classes, softmax for more). Columns of classes the model has not seen are 0.
    """
    cols = np.asarray(model.classes_, dtype=np.intp)
    n = X.shape[0]
    if hasattr(model, "predict_proba"):
        pm = np.asarray(model.predict_proba(X), dtype=float)
        with np.errstate(divide="ignore"):
            lm = np.log(np.clip(pm, 1e-300, None))
    elif hasattr(model, "decision_function"):
        d = np.asarray(model.decision_function(X), dtype=float)
        pm = proba_from_decision(d)
        lm = np.column_stack([np.zeros(n), d]) if d.ndim == 1 else d
    else:  # pragma: no cover - checked in run()
        raise TypeError("model needs predict_proba or decision_function")
    proba = np.zeros((n, n_classes))
    logits = np.full((n, n_classes), -np.inf)
    proba[:, cols] = pm
    logits[:, cols] = lm
    return proba, logits


#: How the validation share of ``delta`` is spread over rounds: "uniform" or "decreasing".
DELTA_SCHEDULE = "uniform"


def round_deltas(delta: float, max_rounds: int, schedule: str | None = None) -> np.ndarray:
    """Failure probability each round may spend; the values sum to ``delta``.

    ``uniform`` gives every round ``delta / max_rounds``; ``decreasing`` gives round ``r`` a
    share proportional to ``1 / (r + 1)``, front-loading the rounds where the first (and
    hardest) certification happens.
    """
    schedule = schedule or DELTA_SCHEDULE
    r = np.arange(max_rounds, dtype=float)
    w = np.ones(max_rounds) if schedule == "uniform" else 1.0 / (r + 1.0)
    return delta * w / w.sum()


class AutoLabeler:
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
    query : str or callable, default "margin_random"
        Query strategy: ``random``, ``margin``, ``least_confident``, ``entropy``,
        ``margin_random``, or a function ``(proba, b, *, random_state) -> indices``.
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
    search : {"union", "per-class"}, default "union"
        Certified bounds: one threshold for all classes, tested on their union, or one
        per class at ``delta / K``.
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
        query: str | Callable[..., np.ndarray] = "margin_random",
        validation_size: int | None = None,
        seed_size: int | None = None,
        batch_size: int | None = None,
        budget: int,
        search: str = "union",
        min_support: int | None = None,
        start_errors: int | None = None,
        c1: float = 0.25,
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
        self.search = search
        self.min_support = min_support
        self.start_errors = start_errors
        self.c1 = c1
        self.classes = classes
        self.query_kwargs = query_kwargs
        self.random_state = random_state

    # -- parameters -------------------------------------------------------------------
    def _resolved_sizes(self, n_pool: int, n_reserve: int) -> tuple[int, int, int, int]:
        budget = int(self.budget)
        if budget < 1:
            raise BudgetError(f"The 'budget' parameter must be a positive number of labels. Got {self.budget}.")
        val = budget // 2 if self.validation_size is None else int(self.validation_size)
        rest = budget - val
        seed = max(2, int(0.2 * rest)) if self.seed_size is None else int(self.seed_size)
        batch = max(1, int(0.05 * rest)) if self.batch_size is None else int(self.batch_size)
        for name, v in (("validation_size", val), ("seed_size", seed)):
            if v < 0:
                raise ValueError(f"The '{name}' parameter must be >= 0. Got {v}.")
        if batch < 1:
            raise ValueError(f"The 'batch_size' parameter must be >= 1. Got {batch}.")
        if val + seed > budget:
            raise BudgetError(
                f"The budget ({budget} labels) is smaller than validation_size + seed_size "
                f"({val} + {seed} = {val + seed}); raise the budget or lower those sizes."
            )
        if val > n_reserve:
            raise InputError(
                f"validation_size ({val}) is larger than the {n_reserve} items validation can be drawn from."
            )
        if seed > n_pool:
            raise InputError(f"seed_size ({seed}) is larger than the pool ({n_pool} items).")
        return budget, val, seed, batch

    def _check_params(self) -> None:
        for name in ("epsilon", "delta"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating)) or not 0.0 < float(v) < 1.0:
                raise ValueError(f"The '{name}' parameter must be in the open interval (0, 1). Got {v!r}.")
        if self.bound not in BOUNDS:
            raise ValueError(f"Unknown bound {self.bound!r}. Allowed: {', '.join(BOUNDS)}.")
        if self.search not in SEARCHES:
            raise ValueError(f"Unknown search {self.search!r}. Allowed: {', '.join(SEARCHES)}.")
        if not (hasattr(self.model, "predict_proba") or hasattr(self.model, "decision_function")):
            raise TypeError(
                f"The model {type(self.model).__name__} has neither predict_proba nor decision_function; "
                "use a classifier that has one (e.g. LogisticRegression or LinearSVC)."
            )
        if not hasattr(self.model, "fit"):
            raise TypeError(f"The model {type(self.model).__name__} has no fit method.")

    # -- the loop ---------------------------------------------------------------------
    def run(
        self,
        X: ArrayLike,
        oracle: Oracle,
        *,
        validation_candidates: ArrayLike | None = None,
    ) -> AutoLabelResult:
        """Auto-label ``X``, asking ``oracle`` for human labels within the budget.

        Parameters
        ----------
        X : array-like, shape (n, d)
            Features of every item.
        oracle : Oracle
            Answers labels for item positions in ``X``.
        validation_candidates : array-like of int or bool, optional
            Items reserved for validation draws (a held-out reserve, as in the paper). They
            are not auto-labeled and do not count in coverage. By default validation is drawn
            from all items.

        Returns
        -------
        AutoLabelResult
        """
        self._check_params()
        X = check_features(X)
        n = X.shape[0]
        rng = check_random_state(self.random_state)
        score_fn = get_score(self.score)
        query_fn = get_query(self.query)
        qkw = dict(self.query_kwargs or {})

        in_pool = np.ones(n, dtype=bool)
        if validation_candidates is not None:
            vc = np.asarray(validation_candidates)
            reserve = np.flatnonzero(vc) if vc.dtype == bool else np.unique(vc.astype(np.intp))
            if vc.dtype == bool and vc.shape[0] != n:
                raise InputError(f"validation_candidates mask has {vc.shape[0]} entries for {n} items.")
            if reserve.size and (reserve.min() < 0 or reserve.max() >= n):
                raise InputError("validation_candidates holds positions outside X.")
            in_pool[reserve] = False
        else:
            reserve = np.arange(n)
        budget, n_val, n_seed, batch = self._resolved_sizes(int(in_pool.sum()), reserve.size)
        if validation_candidates is None and n_val + n_seed > n:
            raise InputError(
                f"validation_size + seed_size ({n_val + n_seed}) exceed the {n} items; lower them or add items."
            )
        max_rounds = 1 + math.ceil(max(budget - n_val - n_seed, 0) / batch)
        delta_rounds = round_deltas(self.delta * VALIDATION_SHARE, max_rounds)
        pool_delta = self.delta * (1.0 - VALIDATION_SHARE)

        codes = np.full(n, -1, dtype=np.intp)
        source = np.zeros(n, dtype=np.int8)
        rounds = np.full(n, -1, dtype=np.int64)
        scores_out = np.full(n, np.nan)
        classes: list[Any] = [] if self.classes is None else list(np.asarray(self.classes).tolist())
        class_index: dict[Any, int] = {c: i for i, c in enumerate(classes)}
        fixed_classes = self.classes is not None

        def ask(indices: np.ndarray) -> np.ndarray:
            answers = np.asarray(oracle.label(indices))
            if answers.shape[0] != indices.shape[0]:
                raise OracleError(f"The oracle answered {answers.shape[0]} labels for {indices.shape[0]} items.")
            out = np.empty(indices.shape[0], dtype=np.intp)
            fresh = sorted({a for a in answers.tolist() if a not in class_index}, key=str)
            if fresh and fixed_classes:
                raise OracleError(f"The oracle answered unknown label(s) {fresh[:5]}; known classes: {classes}.")
            for a in fresh:
                class_index[a] = len(classes)
                classes.append(a)
            for i, a in enumerate(answers.tolist()):
                out[i] = class_index[a]
            return out

        # round 0: validation from the reserve, seed from the pool
        val_idx = rng.choice(reserve, size=n_val, replace=False) if n_val else np.empty(0, np.intp)
        available = in_pool.copy()
        available[val_idx] = False
        seed_idx = rng.choice(np.flatnonzero(available), size=n_seed, replace=False) if n_seed else np.empty(0, np.intp)
        if n_val:
            codes[val_idx] = ask(val_idx)
            source[val_idx] = _VALIDATION
            rounds[val_idx] = 0
        if n_seed:
            codes[seed_idx] = ask(seed_idx)
            source[seed_idx] = _HUMAN
            rounds[seed_idx] = 0
        if len(set(codes[np.concatenate([val_idx, seed_idx])].tolist())) < 2 and not fixed_classes:
            raise InputError(
                "Fewer than two classes among the first human labels; auto-labeling needs at least two classes."
            )
        retired_n: list[int] = []  # validation points retired so far, by predicted class
        retired_k: list[int] = []  # ... and how many of them the labeling model got wrong
        val_active = np.zeros(n, dtype=bool)
        val_active[val_idx] = True
        spent = n_val + n_seed
        history: list[RoundReport] = []
        n_auto_total = 0
        stop_reason = ""
        r = 0
        while True:
            delta_round = float(delta_rounds[min(r, max_rounds - 1)])
            K = len(classes)
            train_mask = source == _HUMAN
            train_idx = np.flatnonzero(train_mask)
            cand = np.flatnonzero(in_pool & (source == _UNLABELED))
            vidx = np.flatnonzero(val_active)
            y_train = codes[train_idx]
            note = ""
            est: ThresholdEstimate | None = None
            proba_c = None
            n_auto_round = n_retired = 0
            if np.unique(y_train).size < 2:
                note = "fewer than two classes among the training labels: no model this round"
            else:
                fitted = clone(self.model).fit(X[train_idx], y_train)
                both = np.concatenate([cand, vidx])
                proba, logits = predict_proba_logits(fitted, X[both], K)
                s_all = energy(logits) if score_fn is energy else np.asarray(score_fn(proba), dtype=float)
                pred_all = proba.argmax(axis=1)
                nc = cand.size
                proba_c, s_c, pred_c = proba[:nc], s_all[:nc], pred_all[:nc]
                s_v, pred_v = s_all[nc:], pred_all[nc:]
                certified = self.bound != "paper"
                est = estimate_thresholds(
                    s_v,
                    pred_v,
                    codes[vidx],
                    n_classes=K,
                    epsilon=self.epsilon,
                    delta=delta_round if certified else self.delta,
                    bound=self.bound,
                    min_support=self.min_support,
                    search=self.search,
                    c1=self.c1,
                    start_errors=self.start_errors,
                    pool_scores=s_c if certified else None,
                    pool_pred=pred_c if certified else None,
                    n_auto_labeled=n_auto_total,
                    pool_delta=pool_delta,
                    prior_n=np.array(retired_n + [0] * (K - len(retired_n)), dtype=np.int64),
                    prior_errors=np.array(retired_k + [0] * (K - len(retired_k)), dtype=np.int64),
                )
                auto = select_confident(s_c, pred_c, est.thresholds)
                hit = cand[auto]
                codes[hit] = pred_c[auto]
                source[hit] = _AUTO
                rounds[hit] = r
                scores_out[hit] = s_c[auto]
                n_auto_round = int(auto.sum())
                n_auto_total += n_auto_round
                retire = select_confident(s_v, pred_v, est.thresholds)
                val_active[vidx[retire]] = False
                add_n = np.bincount(pred_v[retire], minlength=K)
                add_k = np.bincount(pred_v[retire & (pred_v != codes[vidx])], minlength=K)
                retired_n = [a + b for a, b in zip(retired_n + [0] * (K - len(retired_n)), add_n.tolist())]
                retired_k = [a + b for a, b in zip(retired_k + [0] * (K - len(retired_k)), add_k.tolist())]
                n_retired = int(retire.sum())
                cand = cand[~auto]
                proba_c = proba_c[~auto]

            # what to do next
            left = budget - spent
            b = min(batch, left, cand.size)
            n_val_left = int(val_active.sum())
            if cand.size == 0:
                stop_reason = "pool_exhausted"
            elif left <= 0:
                stop_reason = "budget_spent"
            elif not self._can_still_certify(n_val_left, sum(retired_n), delta_round):
                stop_reason = "validation_exhausted"
            queried = np.empty(0, dtype=np.intp)
            if not stop_reason:
                if proba_c is None:
                    picks = rng.choice(cand.size, size=b, replace=False)
                else:
                    picks = np.asarray(query_fn(proba_c, b, random_state=rng, **qkw), dtype=np.intp)
                queried = cand[picks]
                codes[queried] = ask(queried)
                source[queried] = _HUMAN
                rounds[queried] = r + 1
                spent += queried.size
            history.append(self._report(r, train_idx.size, n_val_left, est, classes, delta_round, n_auto_round,
                                        n_auto_total, n_retired, queried.size, spent, in_pool, note))
            if stop_reason:
                break
            if queried.size == 0:
                stop_reason = "no_progress"
                break
            r += 1

        labels = np.empty(n, dtype=object)
        cls = np.empty(len(classes), dtype=object)
        cls[:] = classes
        has = codes >= 0
        labels[has] = cls[codes[has]]
        return AutoLabelResult(
            labels=labels,
            source=_SOURCE_NAMES[source].astype(str),
            round=rounds,
            scores=scores_out,
            in_pool=in_pool,
            classes=cls,
            history=history,
            stop_reason=stop_reason,
            epsilon=float(self.epsilon),
            delta=float(self.delta),
            bound=self.bound,
            budget=budget,
            extra={"validation_indices": val_idx, "delta_rounds": delta_rounds, "max_rounds": max_rounds},
        )

    def _can_still_certify(self, n_validation_left: int, n_retired: int, delta_round: float) -> bool:
        """Whether the validation points left (with those retired) could certify more auto-labels."""
        floor = self.min_support if self.min_support is not None else (26 if self.bound == "paper" else 10)
        if n_validation_left < floor:
            return False
        if self.bound == "paper":
            return True
        need = min_certifiable_size(self.epsilon, delta_round, self.bound, 0)
        return n_validation_left + n_retired >= need

    @staticmethod
    def _report(r, n_train, n_val_left, est, classes, delta_round, n_auto_round, n_auto_total, n_retired,
                n_queried, spent, in_pool, note) -> RoundReport:
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
        pool = int(in_pool.sum())
        return RoundReport(
            round=r,
            n_train=int(n_train),
            n_validation_left=n_val_left,
            thresholds=thr,
            upper_bounds=ub,
            union_upper_bound=union_ub,
            target=target,
            delta=float(delta_round),
            n_auto_labeled=n_auto_round,
            n_auto_labeled_total=n_auto_total,
            n_retired_validation=n_retired,
            n_queried=int(n_queried),
            human_labels_total=int(spent),
            coverage=n_auto_total / pool if pool else 0.0,
            note=note,
        )
