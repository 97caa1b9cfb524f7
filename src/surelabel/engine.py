"""One TBAL round as plain steps, shared by the simulation loop and the durable project.

:class:`~surelabel.loop.AutoLabeler` (answers from an oracle, all in memory) and the labeling
project (answers from people, state in a database) both run a round the same way:

1. :func:`run_round` — fit a clone of the model on the human *training* labels, score the
   unlabeled pool and the active validation points once, certify thresholds, and say which
   pool items are auto-labeled and which validation points are retired. Pure: it changes
   nothing.
2. :meth:`LabelState.apply_round` — record that outcome.
3. :func:`decide_next` — stop (with a reason) or how many items to ask about next.
4. :func:`choose_queries` — which ones.

Randomness comes from ``numpy.random.default_rng([seed, round, purpose])``, so a run that
is interrupted and resumed draws exactly what an uninterrupted run draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from .exceptions import BudgetError, InputError
from .query import get_query
from .scores import energy, get_score, proba_from_decision
from .thresholds import (
    BOUNDS,
    DEFAULT_MIN_SUPPORT,
    SEARCHES,
    ThresholdEstimate,
    estimate_thresholds,
    min_certifiable_size,
    select_confident,
)

__all__ = [
    "TBALConfig",
    "LabelState",
    "RoundOutcome",
    "round_deltas",
    "run_round",
    "decide_next",
    "choose_queries",
    "initial_draw",
    "predict_proba_logits",
    "UNLABELED",
    "HUMAN",
    "VALIDATION",
    "AUTO",
    "SOURCE_NAMES",
]

UNLABELED, HUMAN, VALIDATION, AUTO = 0, 1, 2, 3
SOURCE_NAMES = np.array(["unlabeled", "human", "validation", "auto"], dtype=object)

#: Share of ``delta`` spent on the validation tests; the rest covers the pool's finite size.
VALIDATION_SHARE = 0.75

#: How the validation share of ``delta`` is spread over rounds: "uniform" or "decreasing".
DELTA_SCHEDULE = "uniform"

#: Whether validation points retired in earlier rounds stay evidence for later rounds (the
#: cumulative test). ``False`` tests each round's new region on the remaining points alone;
#: kept as a switch for the design comparison in ``docs/guarantee.md``.
CUMULATIVE_EVIDENCE = True

# purposes of the per-round random streams
_DRAW_VALIDATION, _DRAW_SEED, _DRAW_QUERY = 0, 1, 2


def round_deltas(delta: float, max_rounds: int, schedule: str | None = None) -> np.ndarray:
    """Failure probability each round may spend; the values sum to ``delta``.

    ``uniform`` gives every round ``delta / max_rounds``; ``decreasing`` gives round ``r`` a
    share proportional to ``1 / (r + 1)``.

    Examples
    --------
    >>> round_deltas(0.03, 3).tolist()
    [0.01, 0.01, 0.01]
    """
    schedule = schedule or DELTA_SCHEDULE
    r = np.arange(max_rounds, dtype=float)
    w = np.ones(max_rounds) if schedule == "uniform" else 1.0 / (r + 1.0)
    return delta * w / w.sum()


def _rng(seed: int, r: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(r), int(purpose)])


@dataclass(frozen=True)
class TBALConfig:
    """Every setting of a TBAL run, validated and with the sizes resolved."""

    epsilon: float
    delta: float
    budget: int
    validation_size: int
    seed_size: int
    batch_size: int
    seed: int
    bound: str = "clopper-pearson"
    score: str | Callable[[np.ndarray], np.ndarray] = "max_proba"
    query: str | Callable[..., np.ndarray] = "margin_random"
    search: str = "union"
    min_support: int | None = None
    start_errors: int | None = None
    c1: float = 0.25
    query_kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        epsilon: float,
        delta: float,
        budget: int,
        validation_size: int | None,
        seed_size: int | None,
        batch_size: int | None,
        seed: int,
        **kwargs: Any,
    ) -> TBALConfig:
        """Check the values and fill in default sizes (see :class:`~surelabel.AutoLabeler`)."""
        for name, v in (("epsilon", epsilon), ("delta", delta)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 < float(v) < 1.0:
                raise ValueError(f"The '{name}' parameter must be in the open interval (0, 1). Got {v!r}.")
        if isinstance(budget, bool) or int(budget) != budget or budget < 1:
            raise BudgetError(f"The 'budget' parameter must be a positive number of labels. Got {budget!r}.")
        budget = int(budget)
        val = budget // 2 if validation_size is None else int(validation_size)
        rest = budget - val
        seed_n = max(2, int(0.2 * rest)) if seed_size is None else int(seed_size)
        batch = max(1, int(0.05 * rest)) if batch_size is None else int(batch_size)
        for name, v in (("validation_size", val), ("seed_size", seed_n)):
            if v < 0:
                raise ValueError(f"The '{name}' parameter must be >= 0. Got {v}.")
        if batch < 1:
            raise ValueError(f"The 'batch_size' parameter must be >= 1. Got {batch}.")
        if val + seed_n > budget:
            raise BudgetError(
                f"The budget ({budget} labels) is smaller than validation_size + seed_size "
                f"({val} + {seed_n} = {val + seed_n}); raise the budget or lower those sizes."
            )
        bound = kwargs.get("bound", "clopper-pearson")
        if bound not in BOUNDS:
            raise ValueError(f"Unknown bound {bound!r}. Allowed: {', '.join(BOUNDS)}.")
        search = kwargs.get("search", "union")
        if search not in SEARCHES:
            raise ValueError(f"Unknown search {search!r}. Allowed: {', '.join(SEARCHES)}.")
        get_score(kwargs.get("score", "max_proba"))  # raises on unknown names
        get_query(kwargs.get("query", "margin_random"))
        kwargs["query_kwargs"] = dict(kwargs.get("query_kwargs") or {})
        return cls(
            epsilon=float(epsilon),
            delta=float(delta),
            budget=budget,
            validation_size=val,
            seed_size=seed_n,
            batch_size=batch,
            seed=int(seed),
            **kwargs,
        )

    @property
    def certified(self) -> bool:
        return self.bound != "paper"

    @property
    def max_rounds(self) -> int:
        """Rounds the budget allows: round 0 plus one per full or partial query batch."""
        return 1 + math.ceil(max(self.budget - self.validation_size - self.seed_size, 0) / self.batch_size)

    @property
    def delta_rounds(self) -> np.ndarray:
        return round_deltas(self.delta * VALIDATION_SHARE, self.max_rounds)

    @property
    def pool_delta(self) -> float:
        return self.delta * (1.0 - VALIDATION_SHARE)

    def delta_for(self, r: int) -> float:
        return float(self.delta_rounds[min(r, self.max_rounds - 1)])

    @property
    def support_floor(self) -> int:
        return self.min_support if self.min_support is not None else DEFAULT_MIN_SUPPORT[self.bound]


@dataclass
class LabelState:
    """Where every item stands: its label code, provenance, round and score.

    The certified bound also needs the validation points retired into auto-labeled regions
    (``retired_n`` per predicted class) and how many of those the model got wrong
    (``retired_k``): they stay part of the evidence for the cumulative promise.
    """

    codes: np.ndarray
    source: np.ndarray
    rounds: np.ndarray
    scores: np.ndarray
    in_pool: np.ndarray
    val_active: np.ndarray
    retired_n: np.ndarray
    retired_k: np.ndarray
    n_classes: int

    @classmethod
    def empty(cls, n: int, n_classes: int, in_pool: np.ndarray | None = None) -> LabelState:
        return cls(
            codes=np.full(n, -1, dtype=np.intp),
            source=np.zeros(n, dtype=np.int8),
            rounds=np.full(n, -1, dtype=np.int64),
            scores=np.full(n, np.nan),
            in_pool=np.ones(n, dtype=bool) if in_pool is None else np.asarray(in_pool, dtype=bool).copy(),
            val_active=np.zeros(n, dtype=bool),
            retired_n=np.zeros(n_classes, dtype=np.int64),
            retired_k=np.zeros(n_classes, dtype=np.int64),
            n_classes=n_classes,
        )

    def grow_classes(self, n_classes: int) -> None:
        """Make room for classes first seen later (inferred label sets)."""
        if n_classes > self.n_classes:
            pad = n_classes - self.n_classes
            self.retired_n = np.r_[self.retired_n, np.zeros(pad, dtype=np.int64)]
            self.retired_k = np.r_[self.retired_k, np.zeros(pad, dtype=np.int64)]
            self.n_classes = n_classes

    @property
    def spent(self) -> int:
        """Human labels so far, validation included."""
        return int(((self.source == HUMAN) | (self.source == VALIDATION)).sum())

    @property
    def n_auto(self) -> int:
        return int((self.source == AUTO).sum())

    def record_human(self, indices: np.ndarray, codes: np.ndarray, r: int, *, validation: bool = False) -> None:
        self.codes[indices] = codes
        self.source[indices] = VALIDATION if validation else HUMAN
        self.rounds[indices] = r
        if validation:
            self.val_active[indices] = True

    def apply_round(self, outcome: RoundOutcome) -> None:
        """Record a round's auto-labels and retired validation points."""
        self.grow_classes(outcome.n_classes)
        self.codes[outcome.auto_indices] = outcome.auto_codes
        self.source[outcome.auto_indices] = AUTO
        self.rounds[outcome.auto_indices] = outcome.round
        self.scores[outcome.auto_indices] = outcome.auto_scores
        self.val_active[outcome.retired_indices] = False
        self.retired_n += outcome.retired_n
        self.retired_k += outcome.retired_k


@dataclass(frozen=True)
class RoundOutcome:
    """What one round decided; nothing is recorded until :meth:`LabelState.apply_round`."""

    round: int
    n_classes: int
    n_train: int
    estimate: ThresholdEstimate | None
    delta: float
    auto_indices: np.ndarray
    auto_codes: np.ndarray
    auto_scores: np.ndarray
    retired_indices: np.ndarray
    retired_n: np.ndarray
    retired_k: np.ndarray
    candidates: np.ndarray  # pool items still unlabeled after this round's auto-labels
    candidate_proba: np.ndarray | None  # their class probabilities (None: no model this round)
    note: str = ""


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
        d = _decision(model, X)
        pm = proba_from_decision(d)
        lm = np.column_stack([np.zeros(n), d]) if d.ndim == 1 else d
    else:
        raise TypeError(f"The model {type(model).__name__} has neither predict_proba nor decision_function.")
    proba = np.zeros((n, n_classes))
    logits = np.full((n, n_classes), -np.inf)
    proba[:, cols] = pm
    logits[:, cols] = lm
    return proba, logits


def _decision(model: Any, X: np.ndarray) -> np.ndarray:
    """``decision_function``; for a fitted scikit-learn linear classifier on a dense array, the same
    product ``X @ coef_.T + intercept_`` without the per-call input validation (a third of a
    unit-ball round's time at the paper's settings)."""
    from sklearn.linear_model._base import LinearClassifierMixin

    coef, intercept = getattr(model, "coef_", None), getattr(model, "intercept_", None)
    if (isinstance(model, LinearClassifierMixin) and isinstance(X, np.ndarray) and X.ndim == 2
            and isinstance(coef, np.ndarray) and coef.ndim == 2 and coef.shape[1] == X.shape[1]):
        d = X @ coef.T + intercept
        return d.ravel() if d.shape[1] == 1 else d
    return np.asarray(model.decision_function(X), dtype=float)


def initial_draw(config: TBALConfig, reserve: np.ndarray, in_pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round 0: ``validation_size`` items from the reserve, ``seed_size`` from the rest of the pool."""
    n_val, n_seed = config.validation_size, config.seed_size
    if n_val > reserve.size:
        raise InputError(
            f"validation_size ({n_val}) is larger than the {reserve.size} items validation can be drawn from."
        )
    val_idx = np.empty(0, np.intp)
    if n_val:
        val_idx = _rng(config.seed, 0, _DRAW_VALIDATION).choice(reserve, size=n_val, replace=False)
    available = in_pool.copy()
    available[val_idx] = False
    pool_left = np.flatnonzero(available)
    if n_seed > pool_left.size:
        raise InputError(
            f"validation_size + seed_size ({n_val + n_seed}) exceed the items available ({pool_left.size + n_val}); "
            "lower them or add items."
        )
    seed_idx = np.empty(0, np.intp)
    if n_seed:
        seed_idx = _rng(config.seed, 0, _DRAW_SEED).choice(pool_left, size=n_seed, replace=False)
    return np.sort(val_idx).astype(np.intp), np.sort(seed_idx).astype(np.intp)


def run_round(config: TBALConfig, model: Any, X: np.ndarray, state: LabelState, r: int) -> RoundOutcome:
    """Train, score once, certify thresholds and decide this round's auto-labels (changes nothing)."""
    K = state.n_classes
    train_idx = np.flatnonzero(state.source == HUMAN)
    cand = np.flatnonzero(state.in_pool & (state.source == UNLABELED))
    vidx = np.flatnonzero(state.val_active)
    y_train = state.codes[train_idx]
    delta_r = config.delta_for(r)
    empty = np.empty(0, dtype=np.intp)
    zeros = np.zeros(K, dtype=np.int64)
    if np.unique(y_train).size < 2:
        return RoundOutcome(r, K, train_idx.size, None, delta_r, empty, empty, np.empty(0), empty, zeros, zeros,
                            cand, None, "fewer than two classes among the training labels: no model this round")
    fitted = clone(model).fit(X[train_idx], y_train)
    both = np.concatenate([cand, vidx])
    proba, logits = predict_proba_logits(fitted, X[both], K)
    score_fn = get_score(config.score)
    s_all = energy(logits) if score_fn is energy else np.asarray(score_fn(proba), dtype=float)
    pred_all = proba.argmax(axis=1)
    nc = cand.size
    s_c, pred_c = s_all[:nc], pred_all[:nc]
    s_v, pred_v = s_all[nc:], pred_all[nc:]
    certified = config.certified
    est = estimate_thresholds(
        s_v,
        pred_v,
        state.codes[vidx],
        n_classes=K,
        epsilon=config.epsilon,
        delta=delta_r if certified else config.delta,
        bound=config.bound,
        min_support=config.min_support,
        search=config.search,
        c1=config.c1,
        start_errors=config.start_errors,
        pool_scores=s_c if certified else None,
        pool_pred=pred_c if certified else None,
        n_auto_labeled=state.n_auto,
        pool_delta=config.pool_delta,
        prior_n=state.retired_n if CUMULATIVE_EVIDENCE else 0,
        prior_errors=state.retired_k if CUMULATIVE_EVIDENCE else 0,
    )
    auto = select_confident(s_c, pred_c, est.thresholds)
    retire = select_confident(s_v, pred_v, est.thresholds)
    wrong_v = pred_v != state.codes[vidx]
    return RoundOutcome(
        round=r,
        n_classes=K,
        n_train=int(train_idx.size),
        estimate=est,
        delta=delta_r,
        auto_indices=cand[auto],
        auto_codes=pred_c[auto].astype(np.intp),
        auto_scores=s_c[auto],
        retired_indices=vidx[retire],
        retired_n=np.bincount(pred_v[retire], minlength=K)[:K].astype(np.int64),
        retired_k=np.bincount(pred_v[retire & wrong_v], minlength=K)[:K].astype(np.int64),
        candidates=cand[~auto],
        candidate_proba=proba[:nc][~auto],
    )


def can_still_certify(config: TBALConfig, state: LabelState, r: int) -> bool:
    """Whether the validation points left (with those retired) could certify more auto-labels."""
    n_left = int(state.val_active.sum())
    if n_left < config.support_floor:
        return False
    if not config.certified:
        return True
    need = min_certifiable_size(config.epsilon, config.delta_for(r), config.bound, 0)
    return n_left + int(state.retired_n.sum()) >= need


def decide_next(config: TBALConfig, state: LabelState, outcome: RoundOutcome) -> tuple[str, int]:
    """``(stop_reason, 0)`` to stop, or ``("", b)`` to ask about ``b`` more items (after apply_round)."""
    left = config.budget - state.spent
    if outcome.candidates.size == 0:
        return "pool_exhausted", 0
    if left <= 0:
        return "budget_spent", 0
    if not can_still_certify(config, state, outcome.round + 1):
        return "validation_exhausted", 0
    return "", int(min(config.batch_size, left, outcome.candidates.size))


def choose_queries(config: TBALConfig, outcome: RoundOutcome, b: int) -> np.ndarray:
    """The ``b`` items (positions in X) people should label next, by the query strategy."""
    rng = _rng(config.seed, outcome.round + 1, _DRAW_QUERY)
    if outcome.candidate_proba is None:
        picks = rng.choice(outcome.candidates.size, size=b, replace=False)
    else:
        query_fn = get_query(config.query)
        picks = np.asarray(query_fn(outcome.candidate_proba, b, random_state=rng, **config.query_kwargs), dtype=np.intp)
    return outcome.candidates[picks]
