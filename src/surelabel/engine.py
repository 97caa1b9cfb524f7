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

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .exceptions import BudgetError, InputError
from .query import get_query
from .scores import energy, get_score, proba_from_decision
from .spending import EARLY_SHARE, VALIDATION_SHARE, spent_fraction
from .thresholds import (
    BOUNDS,
    DEFAULT_MIN_SUPPORT,
    GUARANTEES,
    ThresholdEstimate,
    estimate_thresholds,
    min_certifiable_size,
    select_confident,
)

__all__ = [
    "TBALConfig",
    "LabelState",
    "RoundOutcome",
    "spent_fraction",
    "run_round",
    "decide_next",
    "choose_queries",
    "confidence_scores",
    "validation_rng",
    "query_rng",
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

# purposes of the per-round random streams
_DRAW_VALIDATION, _DRAW_SEED, _DRAW_QUERY = 0, 1, 2


def _rng(seed: int, r: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(r), int(purpose)])


def validation_rng(seed: int) -> np.random.Generator:
    """The stream round 0 draws validation items from (shared by every labeler with this seed)."""
    return _rng(seed, 0, _DRAW_VALIDATION)


def query_rng(seed: int, r: int) -> np.random.Generator:
    """The stream round ``r``'s queries are drawn from (shared by every labeler with this seed)."""
    return _rng(seed, r, _DRAW_QUERY)


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
    query: str | Callable[..., np.ndarray] = "random"
    min_support: int | None = None
    start_errors: int | None = None
    c1: float = 0.25
    query_kwargs: dict[str, Any] = field(default_factory=dict)
    guarantee: str = "overall"
    #: share of ``delta`` for the validation tests; the rest covers the pool's finite size
    validation_share: float = VALIDATION_SHARE
    #: share of the validation tests' ``delta`` spent, in proportion to training labels, before the
    #: training budget is spent; the rest goes to the round that spends it (:func:`spent_fraction`)
    early_share: float = EARLY_SHARE
    #: overall mode: keep classes whose own evidence is clearly above epsilon out (costs no delta); a number
    #: is the factor (a class goes when its lower bound exceeds ``guard * epsilon``), ``False`` turns it off
    guard: bool | float = True
    #: overall mode: order items by an estimated chance of being right per predicted class, learned from
    #: out-of-fold predictions on the training labels (never validation), so that one threshold reaches
    #: low raw scores in easy classes and only high ones in hard classes (:func:`calibrated_scores`)
    calibrate: bool = False
    #: before the training budget is spent, items above a provisional threshold (certified at the
    #: final round's level, not committed) are not queried: people label where the model is unsure
    provisional: bool = False
    #: validation points retired in earlier rounds stay evidence for later rounds
    cumulative_evidence: bool = True

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
        n_items = kwargs.pop("n_items", None)
        if n_items is not None:  # more labels than items can never be bought
            from .limits import fit_budget

            budget = fit_budget(budget, int(n_items))
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
        guarantee = kwargs.pop("guarantee", "overall")
        if guarantee not in GUARANTEES:
            raise ValueError(f"Unknown guarantee {guarantee!r}. Allowed: {', '.join(GUARANTEES)}.")
        kwargs["guarantee"] = guarantee
        kwargs.pop("search", None)
        for name in ("validation_share", "early_share"):
            v = kwargs.get(name)
            if v is not None and not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"The '{name}' parameter must be in [0, 1]. Got {v!r}.")
        if kwargs.get("validation_share") is not None and not 0.0 < float(kwargs["validation_share"]) < 1.0:
            raise ValueError(f"The 'validation_share' parameter must be in (0, 1). Got {kwargs['validation_share']!r}.")
        kwargs = {k: v for k, v in kwargs.items() if v is not None or k in ("min_support", "start_errors")}
        get_score(kwargs.get("score", "max_proba"))  # raises on unknown names
        get_query(kwargs.get("query", "random"))
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
    def search(self) -> str:
        """The threshold search of :func:`~surelabel.thresholds.estimate_thresholds` this guarantee uses."""
        return "per-class" if self.guarantee == "per-class" else "union"

    @property
    def max_rounds(self) -> int:
        """Rounds the budget allows when every batch is answered in full: round 0 plus one per batch."""
        return 1 + math.ceil(self.train_budget / self.batch_size)

    @property
    def train_budget(self) -> int:
        """Training labels the budget allows after validation."""
        return max(self.budget - self.validation_size, 0)

    @property
    def validation_delta(self) -> float:
        """The part of ``delta`` all rounds' validation tests share."""
        return self.delta * self.validation_share

    @property
    def pool_delta(self) -> float:
        return self.delta * (1.0 - self.validation_share)

    def round_delta(self, n_train: int, delta_spent: float) -> float:
        """The level a round may test at, with ``n_train`` training labels and ``delta_spent`` used before.

        Depends on counts only (never on labels), and the levels of all rounds add up to at most
        :attr:`validation_delta` whatever their number (:func:`spent_fraction`).
        """
        allowed = self.validation_delta * spent_fraction(n_train, self.train_budget, self.early_share)
        return max(allowed - float(delta_spent), 0.0)

    @property
    def final_delta(self) -> float:
        """The level of the round that spends the training budget, when no earlier round spent more
        than the early share (a count: used to say up front whether validation can certify anything)."""
        return self.validation_delta * (1.0 - self.early_share if self.train_budget > 0 else 1.0)

    @property
    def support_floor(self) -> int:
        return self.min_support if self.min_support is not None else DEFAULT_MIN_SUPPORT[self.bound]


@dataclass
class LabelState:
    """Where every item stands: its label code, provenance, round and score.

    The certified bound also needs the validation points retired into auto-labeled regions
    (``retired_n`` per predicted class) and how many of those the model got wrong
    (``retired_k``): they stay part of the evidence for the cumulative promise; and the part
    of ``delta`` earlier rounds' tests used (``delta_spent``).

    A validation point with ``val_active`` set and no label (code ``-1``: drawn for
    validation but skipped, or returned unanswered by a partial round) counts as an error
    wherever it falls. It never returns to the pool, so validation stays the uniform sample
    the bound needs, and the bound stays valid whatever the missing labels were.
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
    delta_spent: float = 0.0

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
        self.delta_spent += outcome.delta

    @property
    def n_train(self) -> int:
        """Human training labels so far (validation excluded)."""
        return int((self.source == HUMAN).sum())

    def auto_counts(self) -> np.ndarray:
        """Auto-labels so far, per class."""
        return np.bincount(self.codes[self.source == AUTO], minlength=self.n_classes)[: self.n_classes]


@dataclass(frozen=True)
class RoundOutcome:
    """What one round decided; nothing is recorded until :meth:`LabelState.apply_round`."""

    round: int
    n_classes: int
    n_train: int
    estimate: ThresholdEstimate | None
    delta: float  # the part of delta this round's tests used (0 when nothing was tested)
    auto_indices: np.ndarray
    auto_codes: np.ndarray
    auto_scores: np.ndarray
    retired_indices: np.ndarray
    retired_n: np.ndarray
    retired_k: np.ndarray
    candidates: np.ndarray  # pool items still unlabeled after this round's auto-labels
    candidate_proba: np.ndarray | None  # their class probabilities (None: no model this round)
    note: str = ""


#: BLAS threads for the model fits on the few human labels (``None``: no limit). On small
#: matrices, extra BLAS threads cost more in hand-offs than they save: with OpenBLAS's two
#: threads on two cores a round's logistic-regression fit on 2,000 labels was 8-27x slower.
SMALL_FIT_BLAS_THREADS: int | None = 1


def small_fit_threads() -> Any:
    """A context in which the small fits on the human labels run with :data:`SMALL_FIT_BLAS_THREADS`."""
    if SMALL_FIT_BLAS_THREADS is None:
        import contextlib

        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=SMALL_FIT_BLAS_THREADS, user_api="blas")


#: Rows scored at a time (at most): the pool is never copied whole (neither by fancy indexing nor
#: by ``predict_proba``); only one chunk of features, probabilities and logits is in memory at once.
SCORE_CHUNK_ROWS = 65_536
#: ... and at most this many bytes of features as float64 per chunk (a linear model's product
#: upcasts float32 features): 10,922 rows at d = 384, small enough to be reused by the allocator
#: rather than mapped and faulted in afresh for every chunk.
SCORE_CHUNK_BYTES = 2**25


def chunk_rows(n_features: int) -> int:
    """Rows per scoring chunk for ``n_features`` columns (:data:`SCORE_CHUNK_ROWS`, :data:`SCORE_CHUNK_BYTES`)."""
    return max(1, min(SCORE_CHUNK_ROWS, max(1024, SCORE_CHUNK_BYTES // (8 * max(int(n_features), 1)))))


def score_rows(model: Any, X: Any, rows: np.ndarray, n_classes: int,
               score: str | Callable[[np.ndarray], np.ndarray], *,
               keep_proba: int = 0, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scores, predictions, proba)`` of ``X[rows]``, computed :func:`chunk_rows` rows at a time.

    ``X`` is an array or a pool (:mod:`surelabel.pool`: anything with ``shape`` and
    ``__getitem__`` on an index array). ``proba`` holds the probabilities of the first
    ``keep_proba`` rows only (the query strategies read them). A score given as a function of
    the probability matrix may look across rows, so it gets every row's probabilities at once,
    as before chunking; the named scores are row-wise and are computed chunk by chunk.
    ``chunk`` overrides the rows per chunk.
    """
    if hasattr(X, "score_rows"):  # a pool scored elsewhere (surelabel.distributed: on a Dask cluster)
        return X.score_rows(model, rows, n_classes, score, keep_proba=keep_proba)
    n = rows.size
    uses_logits = get_score(score) is energy
    row_wise = isinstance(score, str) or uses_logits
    scores = np.empty(n)
    pred = np.empty(n, dtype=np.intp)
    proba_out = np.empty((n if not row_wise else min(keep_proba, n), n_classes))
    step = chunk or chunk_rows(X.shape[1] if len(X.shape) > 1 else 1)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        part = rows[lo:hi]
        first, last = int(part.min()), int(part.max())
        if last - first + 1 == part.size and (part.size < 2 or (part[1:] > part[:-1]).all()):
            # a run of rows: score the slice, no gather copy (the same rows in the same order, so the
            # same numbers: a BLAS product's rows can change in the last bit with the block they are in)
            pr, lg = predict_proba_logits(model, X[first:last + 1], n_classes, logits=uses_logits)
        else:
            pr, lg = predict_proba_logits(model, X[part], n_classes, logits=uses_logits)
        pred[lo:hi] = pr.argmax(axis=1)
        if row_wise:
            scores[lo:hi] = confidence_scores(score, pr, lg)
            if lo < keep_proba:
                proba_out[lo:min(hi, keep_proba)] = pr[: min(hi, keep_proba) - lo]
        else:
            proba_out[lo:hi] = pr
    if not row_wise:
        scores = confidence_scores(score, proba_out, np.empty((0, n_classes)))
        proba_out = proba_out[:keep_proba]
    return scores, pred, proba_out


def predict_proba_logits(model: Any, X: np.ndarray, n_classes: int, *,
                         logits: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(proba, logits)`` over all ``n_classes`` columns from a fitted classifier.

    Uses ``predict_proba`` when the model has it, else ``decision_function`` (logistic link
    for two classes, softmax for more). Columns of classes the model has not seen are 0.
    With ``logits=False`` the logits are not computed (``None``): only ``energy`` reads them.
    """
    cols = np.asarray(model.classes_, dtype=np.intp)
    n = X.shape[0]
    if hasattr(model, "predict_proba"):
        pm = np.asarray(model.predict_proba(X), dtype=float)
        if logits:
            with np.errstate(divide="ignore"):
                lm = np.log(np.clip(pm, 1e-300, None))
    elif hasattr(model, "decision_function"):
        d = _decision(model, X)
        pm = proba_from_decision(d)
        lm = np.column_stack([np.zeros(n), d]) if d.ndim == 1 else d
    else:
        raise TypeError(f"The model {type(model).__name__} has neither predict_proba nor decision_function.")
    if cols.size == n_classes and (cols == np.arange(n_classes)).all() and pm.dtype == np.float64:
        proba = np.ascontiguousarray(pm)  # every class seen: the model's own matrix, no second copy
    else:
        proba = np.zeros((n, n_classes))
        proba[:, cols] = pm
    if not logits:
        return proba, None
    out = np.full((n, n_classes), -np.inf)
    out[:, cols] = lm
    return proba, out


def _decision(model: Any, X: np.ndarray) -> np.ndarray:
    """``decision_function``; for a fitted scikit-learn linear classifier on a dense array, the same
    product ``X @ coef_.T + intercept_`` without the per-call input validation (a third of a
    unit-ball round's time at the paper's settings)."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
    from sklearn.svm import LinearSVC

    # public classes only (exact types: a subclass may override decision_function)
    linear = (LogisticRegression, LinearSVC, SGDClassifier, RidgeClassifier)
    coef, intercept = getattr(model, "coef_", None), getattr(model, "intercept_", None)
    if (type(model) in linear and isinstance(X, np.ndarray) and X.ndim == 2
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
        val_idx = validation_rng(config.seed).choice(reserve, size=n_val, replace=False)
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
    certified = config.certified
    delta_r = config.round_delta(train_idx.size, state.delta_spent) if certified else config.delta
    empty = np.empty(0, dtype=np.intp)
    zeros = np.zeros(K, dtype=np.int64)
    if np.unique(y_train).size < 2:
        return RoundOutcome(r, K, train_idx.size, None, 0.0, empty, empty, np.empty(0), empty, zeros, zeros,
                            cand, None, "fewer than two classes among the training labels: no model this round")
    from sklearn.base import clone  # here: `surelabel status` and `--help` need no scikit-learn

    X_train = X[train_idx]
    with small_fit_threads():
        fitted = clone(model).fit(X_train, y_train)
    both = np.concatenate([cand, vidx])
    s_all, pred_all, proba = score_rows(fitted, X, both, K, config.score, keep_proba=cand.size)
    if config.calibrate and certified and config.guarantee == "overall" and delta_r > 0.0:
        s_all = calibrated_scores(config, model, X_train, y_train, K, s_all, pred_all, seed=config.seed + r)
    nc = cand.size
    s_c, pred_c = s_all[:nc], pred_all[:nc]
    s_v, pred_v = s_all[nc:], pred_all[nc:]
    if certified and delta_r <= 0.0:
        est = None
        note = ("no part of delta left for this round: delta is released by training labels bought "
                "(docs/guarantee.md), and none arrived since the last test")
        auto = np.zeros(nc, dtype=bool)
        retire = np.zeros(vidx.size, dtype=bool)
        wrong_v = pred_v != state.codes[vidx]
        return _outcome(r, K, train_idx.size, None, 0.0, cand, vidx, s_c, pred_c, pred_v, auto, retire, wrong_v,
                        proba[:nc], note)
    overall = config.guarantee == "overall"
    est = estimate_thresholds(
        s_v,
        pred_v,
        state.codes[vidx],
        n_classes=K,
        epsilon=config.epsilon,
        delta=delta_r,
        bound=config.bound,
        min_support=config.min_support,
        search=config.search,
        c1=config.c1,
        start_errors=config.start_errors,
        pool_scores=s_c if certified else None,
        pool_pred=pred_c if certified else None,
        n_auto_labeled=state.n_auto if overall else state.auto_counts(),
        pool_delta=config.pool_delta,
        prior_n=state.retired_n if config.cumulative_evidence else 0,
        prior_errors=state.retired_k if config.cumulative_evidence else 0,
        guard=config.guard if (certified and overall) else False,
    )
    auto = select_confident(s_c, pred_c, est.thresholds)
    retire = select_confident(s_v, pred_v, est.thresholds)
    wrong_v = pred_v != state.codes[vidx]
    out = _outcome(r, K, train_idx.size, est, delta_r if certified else 0.0, cand, vidx, s_c, pred_c, pred_v,
                   auto, retire, wrong_v, proba[:nc])
    if config.provisional and certified and train_idx.size < config.train_budget:
        out = _without_provisional(config, state, out, s_c[~auto], pred_c[~auto], s_v, pred_v, vidx)
    return out


def _without_provisional(config: TBALConfig, state: LabelState, out: RoundOutcome, s_c: np.ndarray,
                         pred_c: np.ndarray, s_v: np.ndarray, pred_v: np.ndarray, vidx: np.ndarray) -> RoundOutcome:
    """Leave the items the final round would likely auto-label out of the next queries (nothing committed)."""
    prov = estimate_thresholds(s_v, pred_v, state.codes[vidx], n_classes=state.n_classes, epsilon=config.epsilon,
                               delta=config.final_delta, bound=config.bound, min_support=config.min_support,
                               search=config.search, start_errors=config.start_errors)
    sure = select_confident(s_c, pred_c, prov.thresholds)
    if sure.all():
        return out
    return dataclasses.replace(out, candidates=out.candidates[~sure], candidate_proba=out.candidate_proba[~sure])


def calibrated_scores(config: TBALConfig, model: Any, X_train: np.ndarray, y_train: np.ndarray, n_classes: int,
                      scores: np.ndarray, pred: np.ndarray, *, seed: int, n_folds: int = 5,
                      shrink: float = 10.0) -> np.ndarray:
    """Scores mapped to an estimated chance that the prediction is right, per predicted class.

    Out-of-fold predictions of the model on the *training* labels show, for each predicted
    class, how often a prediction with a given raw score is right; an increasing (isotonic) fit
    per class, shrunk towards the fit over all classes when a class has few points, maps every
    raw score to that estimate (ties broken by the raw score). Only the order of the items
    changes, class by class, and it is learned without validation labels, so the nested regions
    the certificate tests are still fixed before validation labels are read.
    """
    from sklearn.base import clone
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import KFold

    n = y_train.size
    k = min(n_folds, n)
    if k < 2:
        return scores
    s_oof = np.full(n, np.nan)
    p_oof = np.full(n, -1, dtype=np.intp)
    for fit_idx, held in KFold(k, shuffle=True, random_state=seed % (2**32)).split(X_train):
        if np.unique(y_train[fit_idx]).size < 2:
            continue
        with small_fit_threads():
            fold = clone(model).fit(X_train[fit_idx], y_train[fit_idx])
        pr, lg = predict_proba_logits(fold, X_train[held], n_classes)
        s_oof[held] = confidence_scores(config.score, pr, lg)
        p_oof[held] = pr.argmax(axis=1)
    ok = np.isfinite(s_oof)
    if ok.sum() < 10:
        return scores
    s_oof, p_oof, right = s_oof[ok], p_oof[ok], (p_oof[ok] == y_train[ok]).astype(float)
    lo, hi = float(np.min(s_oof)), float(np.max(s_oof))
    overall = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s_oof, right)
    out = overall.predict(np.clip(scores, lo, hi))
    for c in np.unique(pred):
        in_c = p_oof == c
        m = int(in_c.sum())
        at = pred == c
        if m < 2 or np.unique(s_oof[in_c]).size < 2:
            continue
        own = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s_oof[in_c], right[in_c])
        out[at] = (m * own.predict(scores[at]) + shrink * out[at]) / (m + shrink)
    rank = np.argsort(np.argsort(scores, kind="stable"), kind="stable") / max(scores.size, 1)
    return out + 1e-9 * rank  # within a flat stretch, the raw score decides


def confidence_scores(score: str | Callable[[np.ndarray], np.ndarray], proba: np.ndarray,
                      logits: np.ndarray) -> np.ndarray:
    """The confidence score named by ``score`` (``energy`` reads the logits, every other the probabilities)."""
    score_fn = get_score(score)
    return energy(logits) if score_fn is energy else np.asarray(score_fn(proba), dtype=float)


def _outcome(r: int, K: int, n_train: int, est: ThresholdEstimate | None, delta: float, cand: np.ndarray,
             vidx: np.ndarray, s_c: np.ndarray, pred_c: np.ndarray, pred_v: np.ndarray, auto: np.ndarray,
             retire: np.ndarray, wrong_v: np.ndarray, cand_proba: np.ndarray, note: str = "") -> RoundOutcome:
    return RoundOutcome(
        round=r,
        n_classes=K,
        n_train=int(n_train),
        estimate=est,
        delta=float(delta),
        auto_indices=cand[auto],
        auto_codes=pred_c[auto].astype(np.intp),
        auto_scores=s_c[auto],
        retired_indices=vidx[retire],
        retired_n=np.bincount(pred_v[retire], minlength=K)[:K].astype(np.int64),
        retired_k=np.bincount(pred_v[retire & wrong_v], minlength=K)[:K].astype(np.int64),
        candidates=cand[~auto],
        candidate_proba=cand_proba[~auto],
        note=note,
    )


def can_still_certify(config: TBALConfig, state: LabelState) -> bool:
    """Whether the validation points left (with those retired) could certify more auto-labels."""
    n_left = int(state.val_active.sum())
    if n_left < config.support_floor:
        return False
    if not config.certified:
        return True
    left = config.validation_delta - state.delta_spent
    if left <= 1e-15:
        return False
    need = min_certifiable_size(config.epsilon, float(left), config.bound, 0)
    return n_left + int(state.retired_n.sum()) >= need


def decide_next(config: TBALConfig, state: LabelState, outcome: RoundOutcome) -> tuple[str, int]:
    """``(stop_reason, 0)`` to stop, or ``("", b)`` to ask about ``b`` more items (after apply_round)."""
    left = config.budget - state.spent
    if outcome.candidates.size == 0:
        return "pool_exhausted", 0
    if left <= 0:
        return "budget_spent", 0
    if not can_still_certify(config, state):
        return "validation_exhausted", 0
    return "", int(min(config.batch_size, left, outcome.candidates.size))


def choose_queries(config: TBALConfig, outcome: RoundOutcome, b: int) -> np.ndarray:
    """The ``b`` items (positions in X) people should label next, by the query strategy."""
    rng = query_rng(config.seed, outcome.round + 1)
    if outcome.candidate_proba is None:
        picks = rng.choice(outcome.candidates.size, size=b, replace=False)
    else:
        query_fn = get_query(config.query)
        picks = np.asarray(query_fn(outcome.candidate_proba, b, random_state=rng, **config.query_kwargs), dtype=np.intp)
    return outcome.candidates[picks]
