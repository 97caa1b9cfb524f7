"""Per-class confidence thresholds certified on human-labeled validation data.

:func:`estimate_thresholds` answers: *for each predicted class, above which confidence
score may the model's predictions be accepted as labels, so that the share of wrong labels
stays at most epsilon?* :func:`select_confident` applies the answer to new items.

Three bounds are offered (``bound=``):

``"clopper-pearson"`` (default) and ``"hoeffding"``
    Certified. Candidate thresholds are tested by *fixed-sequence testing*: from a region
    just large enough to be certifiable (chosen from counts, never from labels) downwards,
    each test at the full level ``delta``, stopping at the first failure. With
    ``search="union"`` (default) one threshold is shared by every class with enough support
    and the test is on the union of the per-class regions; with ``search="per-class"`` each
    class is tested on its own at ``delta / K``. When the pool is given, the target is not
    ``epsilon`` itself but :func:`~surelabel.bounds.binomial_safe_rate`, so that the promise
    covers the realised share of wrong labels in the finite pool, not only the error rate.
    ``docs/guarantee.md`` has the argument.
``"paper"``
    The heuristic of the NeurIPS 2023 reference code: per class, the lowest threshold with
    ``e + c1 sqrt(e (1 - e)) <= epsilon`` over regions with more than 25 validation points.
    No guarantee; kept to reproduce the paper.

Cost: one sort of the validation scores and cumulative counts, O(n log n); the certified
search evaluates the bound on a geometric grid of region sizes, O(log n) evaluations.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .bounds import binomial_safe_rate, clopper_pearson_interval, clopper_pearson_upper, hoeffding_upper, paper_upper

__all__ = [
    "ThresholdEstimate",
    "estimate_thresholds",
    "select_confident",
    "BOUNDS",
    "GUARANTEES",
    "min_certifiable_size",
    "eligible_classes",
]

#: Names accepted by ``bound=``.
BOUNDS = ("clopper-pearson", "hoeffding", "paper")
SEARCHES = ("union", "per-class")
#: What a promise covers: the auto-labeled set as a whole, or every class's auto-labels on their own.
GUARANTEES = ("overall", "per-class")

#: Confidence of the two-sided interval shown beside each class's validation error estimate.
ESTIMATE_CONFIDENCE = 0.9

#: The overall mode's guard keeps a class out when the one-sided lower bound of its error at
#: ``GUARD_CONFIDENCE`` exceeds ``GUARD_FACTOR * epsilon``: "clearly above epsilon". Any rule keeps the
#: overall promise (``docs/guarantee.md``); this one was chosen by measurement: at ``1 * epsilon`` it
#: dropped classes a little above epsilon and cost up to 12 points of coverage on 20 Newsgroups; at
#: ``2 * epsilon`` a class more than 3 epsilon wrong was still auto-labeled in a quarter of the
#: Fashion-MNIST runs at epsilon = 0.1 (1.5: a sixth, for 2-3 points of coverage).
GUARD_CONFIDENCE = 0.8
GUARD_FACTOR = 1.5

#: Default minimum number of validation points predicted as a class for it to be auto-labeled.
DEFAULT_MIN_SUPPORT = {"clopper-pearson": 10, "hoeffding": 10, "paper": 26}

#: Relative growth between consecutive region sizes tested by fixed-sequence testing.
GRID_GROWTH = 0.05

#: With ``start_errors=None``: the first region tested may hold at most this share of the
#: validation points, and at most ``MAX_START_ERRORS`` errors.
START_FRACTION = 0.5
MAX_START_ERRORS = 10


@dataclass(frozen=True)
class ThresholdEstimate:
    """Per-class thresholds and the evidence behind them.

    Arrays have one entry per class ``0..K-1``. A threshold of ``inf`` means the class is
    never auto-labeled. ``error`` and ``upper_bound`` are ``nan`` for such classes.

    Attributes
    ----------
    thresholds : ndarray of float, shape (K,)
    support : ndarray of int, shape (K,)
        Validation points predicted as the class.
    n_selected : ndarray of int, shape (K,)
        Of those, how many lie at or above the threshold.
    n_errors : ndarray of int, shape (K,)
        Of the selected, how many are wrong.
    error : ndarray of float, shape (K,)
        ``n_errors / n_selected``.
    upper_bound : ndarray of float, shape (K,)
        A class's *own* certified bound (``search="per-class"``); ``nan`` with
        ``search="union"``, where only the union is certified (``union_upper_bound``).
    class_lower, class_upper : ndarray of float, shape (K,)
        Two-sided ``ESTIMATE_CONFIDENCE`` (90 %) Clopper–Pearson interval around each class's
        validation error estimate among its selected points, earlier rounds' evidence
        included (the counts are ``extra["class_n"]`` and ``extra["class_errors"]``). An
        *estimate* with its uncertainty, not a certificate.
    guarded : ndarray of bool, shape (K,)
        Classes the overall mode's guard kept from being auto-labeled because their own
        validation evidence put their error clearly above ``epsilon``.
    target : float
        The level the bound had to meet (``epsilon``, or less when the pool's finite size is
        accounted for).
    union_n_selected, union_n_errors, union_upper_bound
        The same for all selected validation points together. ``union_upper_bound`` is the
        certified bound on the error rate of all auto-labels (with ``search="union"`` the
        union's own; with ``per-class`` the largest class bound, which bounds the union too).
    """

    thresholds: np.ndarray
    support: np.ndarray
    n_selected: np.ndarray
    n_errors: np.ndarray
    error: np.ndarray
    upper_bound: np.ndarray
    epsilon: float
    delta: float
    bound: str
    search: str
    min_support: int
    target: float
    union_n_selected: int
    union_n_errors: int
    union_upper_bound: float
    n_tests: int = 0
    class_lower: np.ndarray | None = None
    class_upper: np.ndarray | None = None
    guarded: np.ndarray | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # frozen means frozen: the arrays are read-only views, so a certificate cannot be edited afterwards
        K = np.shape(self.thresholds)[0]
        for name, fill in (("class_lower", np.nan), ("class_upper", np.nan), ("guarded", False)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(K, fill))
        for name in ("thresholds", "support", "n_selected", "n_errors", "error", "upper_bound", "class_lower",
                     "class_upper", "guarded"):
            arr = np.array(getattr(self, name), copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def n_classes(self) -> int:
        return int(self.thresholds.shape[0])

    @property
    def certified_classes(self) -> np.ndarray:
        """Indices of the classes with a finite threshold."""
        return np.flatnonzero(np.isfinite(self.thresholds))

    def to_dict(self) -> dict:
        """Plain-Python view (JSON-ready: ``inf``/``nan`` become ``None``)."""

        def clean(a: np.ndarray) -> list:
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=float)]

        return {
            "bound": self.bound,
            "search": self.search,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "target": self.target,
            "thresholds": clean(self.thresholds),
            "support": self.support.tolist(),
            "n_selected": self.n_selected.tolist(),
            "n_errors": self.n_errors.tolist(),
            "error": clean(self.error),
            "upper_bound": clean(self.upper_bound),
            "class_interval": [[lo, hi] for lo, hi in zip(clean(self.class_lower), clean(self.class_upper))],
            "interval_confidence": ESTIMATE_CONFIDENCE,
            "guarded": [bool(g) for g in self.guarded],
            "union_n_selected": self.union_n_selected,
            "union_n_errors": self.union_n_errors,
            "union_upper_bound": None if not np.isfinite(self.union_upper_bound) else self.union_upper_bound,
        }


def _check_unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"The '{name}' parameter must be in the open interval (0, 1). Got {value!r}.")
    return value


def _upper(bound: str, k: np.ndarray, n: np.ndarray, delta: float, c1: float) -> np.ndarray:
    if bound == "clopper-pearson":
        return clopper_pearson_upper(k, n, delta)
    if bound == "hoeffding":
        return hoeffding_upper(k, n, delta)
    return paper_upper(k, n, c1)


@functools.lru_cache(maxsize=4096)
def min_certifiable_size(epsilon: float, delta: float, bound: str = "clopper-pearson", n_errors: int = 0) -> int:
    """Smallest number of validation points whose bound can reach ``epsilon``.

    With ``n_errors`` errors among them. A region smaller than this can never be certified,
    which is why the certified search starts there (a count, not a label).

    Examples
    --------
    >>> min_certifiable_size(0.01, 0.05)
    299
    """
    if bound == "paper":
        return 1
    lo, hi = max(1, n_errors + 1), max(2, n_errors + 2)
    while _upper(bound, np.array([n_errors]), np.array([hi]), delta, 0.0)[0] > epsilon:
        lo, hi = hi, hi * 2
        if hi > 10**12:
            return 10**12
    while lo < hi:
        mid = (lo + hi) // 2
        if _upper(bound, np.array([n_errors]), np.array([mid]), delta, 0.0)[0] <= epsilon:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def _class_indices(name: str, values: ArrayLike, *, missing_ok: bool = False) -> np.ndarray:
    """``values`` as class indices, or a ValueError saying how to map labels to indices.

    Integers (and whole floats, booleans) pass as they are. Labels such as strings are refused:
    their order would decide which index is which class, so the caller maps them, once, at the
    edge (:func:`surelabel.certify` takes labels of any kind). With ``missing_ok`` (``y_true``)
    floats pass unchanged, so a NaN (no answer) compares unequal to every prediction: an error.
    """
    a = np.asarray(values).ravel()
    if a.dtype.kind in "biu":
        return a
    if a.dtype.kind == "f" and (missing_ok or (np.isfinite(a).all() and (a == np.round(a)).all())):
        return a
    if a.dtype.kind == "O" and all(v is None or (isinstance(v, (int, float, np.integer, np.floating))
                                                 and not isinstance(v, bool)) for v in a):
        if missing_ok:
            return a
        if all(v is not None and math.isfinite(float(v)) and float(v) == round(float(v)) for v in a):
            return a.astype(np.int64)
    bad = next((v for v in a.tolist() if not (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))),
               None)
    raise ValueError(
        f"{name} must hold class indices 0..K-1 (integers); got {bad!r} ({type(bad).__name__}). "
        "Map labels to indices first (np.unique(labels, return_inverse=True)), or use surelabel.certify, "
        "which takes labels of any kind."
    )


def _as_inputs(scores: ArrayLike, y_pred: ArrayLike, y_true: ArrayLike, n_classes: int):
    s = np.asarray(scores, dtype=float).ravel()
    p = _class_indices("y_pred", y_pred)
    t = _class_indices("y_true", y_true, missing_ok=True)
    if not (s.shape == p.shape == t.shape):
        raise ValueError(
            f"scores, y_pred and y_true must have the same length. Got {s.shape[0]}, {p.shape[0]}, {t.shape[0]}."
        )
    if np.isnan(s).any():
        raise ValueError("scores contain NaN; every validation point needs a finite or infinite score.")
    if n_classes < 1:
        raise ValueError(f"The 'n_classes' parameter must be >= 1. Got {n_classes}.")
    if s.size and (p.min() < 0 or p.max() >= n_classes):
        raise ValueError(f"y_pred must hold class indices in 0..{n_classes - 1}.")
    return s, p.astype(np.intp), t


def _descending(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order (descending score) and, for each sorted position, whether it ends a tie group."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.ones(s.shape[0], dtype=bool)
    if s.size > 1:
        ends[:-1] = s[:-1] != s[1:]
    return order, ends


def _pool_counts(pool_scores: np.ndarray | None, thresholds: np.ndarray) -> np.ndarray | None:
    """Number of pool scores at or above each threshold."""
    if pool_scores is None:
        return None
    sorted_pool = np.sort(pool_scores)
    return sorted_pool.size - np.searchsorted(sorted_pool, thresholds, side="left")


def _auto_start_errors(
    n: np.ndarray, targets: np.ndarray, big_enough: np.ndarray, bound: str, delta: float, n_total: int
) -> int:
    """Most errors the first region may hold while still fitting in ``START_FRACTION`` of the data.

    Decided from counts alone. Allowing errors in the first region makes the test robust to
    an unlucky early error; requiring the region to be small keeps room to grow after it.
    """
    best = 0
    limit = START_FRACTION * n_total
    for k in range(1, MAX_START_ERRORS + 1):
        ok = big_enough & (_upper(bound, np.full(n.shape, k), n, delta, 0.0) <= targets)
        if not ok.any() or n[int(np.argmax(ok))] > limit:
            break
        best = k
    return best


def _fixed_sequence(
    sorted_scores: np.ndarray,
    wrong_sorted: np.ndarray,
    ends: np.ndarray,
    *,
    start_errors: int | None,
    min_support: int,
    bound: str,
    delta: float,
    epsilon: float,
    pool_scores: np.ndarray | None,
    n_auto_labeled: int,
    pool_delta: float,
    prior_n: int = 0,
    prior_errors: int = 0,
    trace: dict | None = None,
) -> tuple[float, int, int, float, int, float]:
    """Fixed-sequence test over nested regions ``{score >= t}``, largest ``t`` first.

    ``prior_n`` validation points with ``prior_errors`` errors, from regions auto-labeled in
    earlier rounds, are part of every region tested: the test is on the cumulative
    auto-labeled region.

    The regions tested are a geometric grid of sizes fixed before any label is looked at
    (snapped to the ends of tied scores). The sequence starts at the first region that
    could pass with ``start_errors`` errors in it — a count, not a label — and that first
    test passes only with at most ``start_errors`` errors; every later test passes when
    the bound meets the target. It stops at the first failure.

    Returns (threshold, n_selected, n_errors, upper_bound, n_tests, target).
    """
    n_total = sorted_scores.size
    if n_total == 0:
        return math.inf, 0, 0, math.nan, 0, epsilon
    cum_wrong = np.cumsum(wrong_sorted) + prior_errors
    end_idx = np.flatnonzero(ends)  # candidate region = sorted[: i + 1]
    sizes = end_idx + 1
    n_steps = int(math.ceil(math.log(n_total) / math.log1p(GRID_GROWTH))) + 2
    wanted = np.unique(np.ceil((1.0 + GRID_GROWTH) ** np.arange(n_steps)))
    pick = np.unique(np.searchsorted(sizes, wanted, side="left"))
    pick = np.union1d(pick[pick < sizes.size], [sizes.size - 1])
    cand = end_idx[pick]
    n = cand + 1 + prior_n
    thr = sorted_scores[cand]
    counts = _pool_counts(pool_scores, thr)
    if counts is None:
        targets = np.full(cand.shape, epsilon)
    else:
        targets = binomial_safe_rate(n_auto_labeled + counts, epsilon, pool_delta)
    big_enough = cand + 1 >= min_support
    if start_errors is None:
        start_errors = _auto_start_errors(n, targets, big_enough, bound, delta, prior_n + n_total)
    could_pass = big_enough & (_upper(bound, np.full(n.shape, start_errors), n, delta, 0.0) <= targets)
    if not could_pass.any():
        return math.inf, 0, 0, math.nan, 0, float(targets[-1])
    first = int(np.argmax(could_pass))
    cand, n, thr, targets = cand[first:], n[first:], thr[first:], targets[first:]
    k = cum_wrong[cand]
    ucb = _upper(bound, k, n, delta, 0.0)
    passed = ucb <= targets
    if prior_n == 0:
        passed[0] = k[0] <= start_errors
    n_pass = int(passed.size) if passed.all() else int(np.argmin(passed))
    n_tests = min(n_pass + 1, passed.size)
    if trace is not None:  # every region that passed: each one is certified, not only the last
        trace.update(thr=thr[:n_pass], ucb=ucb[:n_pass])
    if n_pass == 0:
        return math.inf, 0, 0, math.nan, n_tests, float(targets[0])
    j = n_pass - 1
    return float(thr[j]), int(n[j]), int(k[j]), float(ucb[j]), n_tests, float(targets[j])


def estimate_thresholds(
    scores: ArrayLike,
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    n_classes: int,
    epsilon: float,
    delta: float = 0.05,
    bound: str = "clopper-pearson",
    min_support: int | None = None,
    search: str = "union",
    c1: float = 0.25,
    start_errors: int | None = None,
    pool_scores: ArrayLike | None = None,
    pool_pred: ArrayLike | None = None,
    n_auto_labeled: int = 0,
    pool_delta: float | None = None,
    prior_n: ArrayLike = 0,
    prior_errors: ArrayLike = 0,
    guard: bool | float = False,
) -> ThresholdEstimate:
    """Find per-class confidence thresholds whose auto-labeling error is at most ``epsilon``.

    Parameters
    ----------
    scores : array-like of float, shape (n,)
        Confidence of each validation point (higher = surer).
    y_pred : array-like of int, shape (n,)
        Predicted class index ``0..K-1`` of each validation point.
    y_true : array-like, shape (n,)
        Human label (class index) of each validation point.
    n_classes : int
        ``K``.
    epsilon : float in (0, 1)
        Largest acceptable share of wrong auto-labels.
    delta : float in (0, 1), default 0.05
        Allowed probability that the promise fails (certified bounds only).
    bound : {"clopper-pearson", "hoeffding", "paper"}
    min_support : int, optional
        A class with fewer validation points predicted as it is never auto-labeled
        (``inf``). Defaults to 10, or 26 (the reference code's "more than 25") for ``paper``.
    search : {"union", "per-class"}
        Certified bounds only. ``union``: one threshold shared by the classes, certified on
        their union (the *overall* promise). ``per-class``: each class certified on its own
        (the *per-class* promise, jointly over classes): ``delta`` is split evenly over the
        classes whose validation support could certify anything at that share — chosen from
        counts alone (:func:`eligible_classes`) — instead of over all ``K``.
    c1 : float
        The ``paper`` heuristic's constant.
    start_errors : int, optional
        Certified bounds only: the search starts at the smallest region that could be
        certified with this many errors in it. Default: chosen from counts alone, as the
        most errors (up to 10) for which that region holds at most half the validation points.
    pool_scores, pool_pred : array-like, optional
        Scores and predictions of the unlabeled pool the thresholds will be applied to.
        When given, the promise is made about the realised share of wrong labels among the
        ``n_auto_labeled`` items already auto-labeled plus the ones these thresholds add.
    n_auto_labeled : int or array of shape (K,)
        Items auto-labeled earlier under the same promise (per class for ``per-class``).
    pool_delta : float, optional
        Part of the failure probability spent on the pool's finite size; default ``delta``.
    prior_n, prior_errors : int or array of shape (K,), default 0
        Certified bounds only: validation points (and their errors) retired in earlier
        rounds because they fell in an auto-labeled region, per predicted class. They stay
        part of the evidence, so each round certifies the *cumulative* auto-labeled region.
    guard : bool or float, default False
        A number sets the guard's factor (a class is kept out when its lower bound exceeds
        ``guard * epsilon``); ``True`` means ``GUARD_FACTOR``.
        ``search="union"`` with the pool given: after the union's threshold is certified, a
        class whose validation evidence puts its error clearly above ``epsilon`` (the one-sided
        ``GUARD_CONFIDENCE`` Clopper–Pearson lower bound of its selected points, earlier rounds'
        included, above ``epsilon``) is not auto-labeled (``guarded``), as long as the
        union's certificate still covers what remains: the wrong labels among the remaining
        items are at most those of the union, so the remaining share stays at most ``epsilon``
        when the binomial quantile of the union's wrong labels is at most ``epsilon`` times the
        remaining count. No extra failure probability is spent (``docs/guarantee.md``).
    Returns
    -------
    ThresholdEstimate

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.random(2000); y_pred = (rng.random(2000) < 0.5).astype(int)
    >>> y_true = np.where(rng.random(2000) < 0.02 * (1 - s), 1 - y_pred, y_pred)
    >>> est = estimate_thresholds(s, y_pred, y_true, n_classes=2, epsilon=0.05)
    >>> bool(np.isfinite(est.thresholds).all()), bool(est.union_upper_bound <= 0.05)
    (True, True)
    """
    epsilon = _check_unit("epsilon", epsilon)
    delta = _check_unit("delta", delta)
    if bound not in BOUNDS:
        raise ValueError(f"Unknown bound {bound!r}. Allowed: {', '.join(BOUNDS)}.")
    if search not in SEARCHES:
        raise ValueError(f"Unknown search {search!r}. Allowed: {', '.join(SEARCHES)}.")
    if min_support is None:
        min_support = DEFAULT_MIN_SUPPORT[bound]
    min_support = max(int(min_support), 1)
    pool_delta = delta if pool_delta is None else _check_unit("pool_delta", pool_delta)
    s, p, t = _as_inputs(scores, y_pred, y_true, n_classes)
    wrong = p != t
    K = int(n_classes)
    support = np.bincount(p, minlength=K)[:K]
    supported = support >= min_support

    ps = pm = None
    if pool_scores is not None:
        ps = np.asarray(pool_scores, dtype=float).ravel()
        pm = _class_indices("pool_pred", pool_pred).astype(np.intp)
        if ps.shape != pm.shape:
            raise ValueError("pool_scores and pool_pred must have the same length.")

    prior_n_c = np.broadcast_to(np.asarray(prior_n, dtype=np.int64), (K,))
    prior_k_c = np.broadcast_to(np.asarray(prior_errors, dtype=np.int64), (K,))
    thresholds = np.full(K, np.inf)
    class_bound = np.full(K, np.nan)
    n_tests = 0
    target = epsilon

    if bound == "paper":
        order = np.lexsort((-s, p))  # by class, then descending score
        sp, pp, wp = s[order], p[order], wrong[order]
        starts = np.searchsorted(pp, np.arange(K), side="left")
        stops = np.searchsorted(pp, np.arange(K), side="right")
        for c in np.flatnonzero(supported):
            a, b = starts[c], stops[c]
            sc, wc = sp[a:b], wp[a:b]
            ends = np.ones(sc.size, dtype=bool)
            ends[:-1] = sc[:-1] != sc[1:]
            n = np.arange(1, sc.size + 1)
            k = np.cumsum(wc)
            ok = ends & (n >= min_support) & (paper_upper(k, n, c1) <= epsilon)
            if ok.any():
                j = int(np.flatnonzero(ok)[-1])
                thresholds[c] = sc[j]
                class_bound[c] = float(paper_upper(k[j], n[j], c1))
    elif search == "union":
        trace: dict = {}
        keep = supported[p]
        vs = s[keep]
        order, ends = _descending(vs)
        pool_kept = None if ps is None else ps[supported[pm]]
        thr, n_sel, n_err, ucb, n_tests, target = _fixed_sequence(
            vs[order],
            wrong[keep][order],
            ends,
            start_errors=start_errors,
            min_support=min_support,
            bound=bound,
            delta=delta,
            epsilon=epsilon,
            pool_scores=pool_kept,
            n_auto_labeled=n_auto_labeled,
            pool_delta=pool_delta,
            prior_n=int(prior_n_c.sum()),
            prior_errors=int(prior_k_c.sum()),
            trace=trace,
        )
        if np.isfinite(thr):
            thresholds[supported] = thr
            class_bound[supported] = ucb
    else:  # per-class certified search, delta split over the classes that could certify anything
        eligible = eligible_classes(support + prior_n_c, epsilon, delta, bound, supported)
        k_eff = max(int(eligible.sum()), 1)
        delta_c, pool_delta_c = delta / k_eff, pool_delta / k_eff
        n_auto_c = np.broadcast_to(np.asarray(n_auto_labeled, dtype=np.int64), (K,))
        targets = []
        for c in np.flatnonzero(eligible):
            in_c = p == c
            vs = s[in_c]
            order, ends = _descending(vs)
            thr, _, _, ucb, nt, tg = _fixed_sequence(
                vs[order],
                wrong[in_c][order],
                ends,
                start_errors=start_errors,
                min_support=min_support,
                bound=bound,
                delta=delta_c,
                epsilon=epsilon,
                pool_scores=None if ps is None else ps[pm == c],
                n_auto_labeled=int(n_auto_c[c]),
                pool_delta=pool_delta_c,
                prior_n=int(prior_n_c[c]),
                prior_errors=int(prior_k_c[c]),
            )
            n_tests += nt
            targets.append(tg)
            thresholds[c] = thr
            class_bound[c] = ucb
        target = float(min(targets)) if targets else epsilon

    selected = s >= thresholds[p]
    guarded = np.zeros(K, dtype=bool)
    if guard and search == "union" and bound != "paper" and ps is not None and selected.any():
        factor = GUARD_FACTOR if guard is True else float(guard)
        guarded = _flag_bad_classes(p, wrong, selected, prior_n_c, prior_k_c, epsilon, factor)
        if guarded.any():
            thr_g, ucb_g = _guarded_region(trace["thr"], trace["ucb"], guarded, supported, ps, pm, epsilon=epsilon,
                                           n_prior_auto=int(np.sum(n_auto_labeled)), pool_delta=pool_delta)
            thresholds[supported] = thr_g
            class_bound[supported] = ucb_g
            thresholds[guarded] = np.inf
        selected = s >= thresholds[p]
    n_selected = np.bincount(p[selected], minlength=K)[:K]
    n_errors = np.bincount(p[selected & wrong], minlength=K)[:K]
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(n_selected > 0, n_errors / np.maximum(n_selected, 1), np.nan)
    u_n, u_k = int(selected.sum()), int((selected & wrong).sum())
    if bound == "paper":
        union_ub = float(paper_upper(u_k, u_n, c1)) if u_n else math.nan
    else:
        cn, ck = u_n + int(prior_n_c.sum()), u_k + int(prior_k_c.sum())
        union_ub = float(_upper(bound, np.array([ck]), np.array([cn]), delta, c1)[0]) if cn and u_n else math.nan
    class_bound = np.where(np.isfinite(thresholds), class_bound, np.nan)
    if search == "union" and bound != "paper":
        union_certified = class_bound[np.isfinite(class_bound)]
        union_ub_cert = float(union_certified[0]) if union_certified.size else math.nan
        class_bound = np.full(K, np.nan)  # only the union is certified: no class gets a bound of its own
    else:
        union_ub_cert = math.nan
    # each class's estimate with its interval, over its selected points and its earlier evidence
    est_n = n_selected + np.where(np.isfinite(thresholds), prior_n_c, 0)
    est_k = n_errors + np.where(np.isfinite(thresholds), prior_k_c, 0)
    lo, hi = clopper_pearson_interval(est_k, est_n, ESTIMATE_CONFIDENCE)
    lo = np.where(est_n > 0, lo, np.nan)
    hi = np.where(est_n > 0, hi, np.nan)
    if np.isfinite(union_ub_cert):
        union_ub = union_ub_cert
    elif search == "per-class" and bound != "paper":
        # every class's rate is at most its own bound, so the union's is at most the largest of them
        finite = class_bound[np.isfinite(class_bound)]
        union_ub = float(finite.max()) if finite.size else math.nan
    return ThresholdEstimate(
        thresholds=thresholds,
        support=support.astype(np.int64),
        n_selected=n_selected.astype(np.int64),
        n_errors=n_errors.astype(np.int64),
        error=error,
        upper_bound=class_bound,
        epsilon=epsilon,
        delta=delta,
        bound=bound,
        search=search,
        min_support=min_support,
        target=float(target),
        union_n_selected=u_n,
        union_n_errors=u_k,
        union_upper_bound=union_ub,
        n_tests=n_tests,
        class_lower=lo,
        class_upper=hi,
        guarded=guarded,
        extra={"class_n": est_n.astype(np.int64), "class_errors": est_k.astype(np.int64)},
    )


def eligible_classes(support: ArrayLike, epsilon: float, delta: float, bound: str,
                     supported: ArrayLike | None = None) -> np.ndarray:
    """Classes the per-class promise splits ``delta`` over: a mask decided from counts alone.

    The largest ``k`` such that ``k`` classes each have enough validation points to be
    certified at ``delta / k`` with no error at all (:func:`min_certifiable_size`); those ``k``
    classes, by decreasing support (ties by class index). A class that could never be
    certified does not dilute the others' share. Counts of *predicted* classes use the
    features only, never the labels, so the split is fixed before any label is read.

    Examples
    --------
    >>> eligible_classes([500, 400, 30, 5], epsilon=0.05, delta=0.05, bound="clopper-pearson").tolist()
    [True, True, False, False]
    """
    n = np.asarray(support, dtype=np.int64).ravel()
    ok = np.ones(n.shape, dtype=bool) if supported is None else np.asarray(supported, dtype=bool)
    order = sorted(np.flatnonzero(ok).tolist(), key=lambda c: (-int(n[c]), c))
    best = 0
    for k in range(1, len(order) + 1):
        if n[order[k - 1]] >= min_certifiable_size(float(epsilon), float(delta) / k, bound, 0):
            best = k
    out = np.zeros(n.shape, dtype=bool)
    out[order[:best]] = True
    return out


def _flag_bad_classes(pred: np.ndarray, wrong: np.ndarray, selected: np.ndarray, prior_n: np.ndarray,
                      prior_k: np.ndarray, epsilon: float, factor: float = GUARD_FACTOR) -> np.ndarray:
    """Classes whose validation evidence in the certified region (earlier rounds' included) puts their error
    clearly above ``epsilon``: the one-sided ``GUARD_CONFIDENCE`` lower bound exceeds ``GUARD_FACTOR * epsilon``."""
    K = prior_n.shape[0]
    fresh = np.bincount(pred[selected], minlength=K)[:K]
    n = fresh + prior_n
    k = np.bincount(pred[selected & wrong], minlength=K)[:K] + prior_k
    lower = 1.0 - clopper_pearson_upper(n - k, n, 1.0 - GUARD_CONFIDENCE)
    return (fresh > 0) & (lower > factor * epsilon)


def _guarded_region(thr: np.ndarray, ucb: np.ndarray, flagged: np.ndarray, supported: np.ndarray,
                    pool_scores: np.ndarray, pool_pred: np.ndarray, *, epsilon: float, n_prior_auto: int,
                    pool_delta: float) -> tuple[float, float]:
    """The largest certified union region whose unflagged part keeps the promise: ``(threshold, bound)``.

    Every region the fixed-sequence test passed is certified (``ucb`` bounds its rate), not only
    the last. Dropping the flagged classes from a certified union ``U`` only removes items, so
    the wrong labels among the items kept are at most those among ``U``; with probability
    ``1 - pool_delta`` those are at most ``Q``, the binomial quantile of ``N_U`` items at rate
    ``ucb``. The region is kept when ``Q <= epsilon * N_kept``; ``inf`` when none is.
    """
    sup = supported[pool_pred]
    in_sup = np.sort(pool_scores[sup])
    in_flag = np.sort(pool_scores[sup & flagged[pool_pred]])
    n_u = n_prior_auto + in_sup.size - np.searchsorted(in_sup, thr, side="left")
    n_kept = n_u - (in_flag.size - np.searchsorted(in_flag, thr, side="left"))
    for j in range(thr.size - 1, -1, -1):  # largest region first
        if n_kept[j] > 0 and ucb[j] <= float(binomial_safe_rate(np.array([int(n_u[j])]),
                                                                epsilon * n_kept[j] / n_u[j], pool_delta)[0]):
            return float(thr[j]), float(ucb[j])
    return math.inf, math.nan


def select_confident(scores: ArrayLike, y_pred: ArrayLike, thresholds: ArrayLike) -> np.ndarray:
    """Boolean mask of the items whose score reaches their predicted class's threshold.

    Examples
    --------
    >>> select_confident([0.9, 0.6, 0.8], [0, 1, 1], [0.85, 0.7]).tolist()
    [True, False, True]
    """
    s = np.asarray(scores, dtype=float).ravel()
    p = _class_indices("y_pred", y_pred).astype(np.intp)
    thr = np.asarray(thresholds, dtype=float).ravel()
    if s.shape != p.shape:
        raise ValueError(f"scores and y_pred must have the same length. Got {s.shape[0]} and {p.shape[0]}.")
    if p.size and (p.min() < 0 or p.max() >= thr.size):
        raise ValueError(f"y_pred must hold class indices in 0..{thr.size - 1}.")
    return s >= thr[p]
