"""Validation planner: how many validation labels a class needs before it can be certified.

Certification needs evidence. With ``n`` validation points in a region and ``k`` of them
wrong, the exact bound reaches ``epsilon`` only when ``n`` is large enough — at least
:func:`~surelabel.thresholds.min_certifiable_size` (about ``log(1/delta) / epsilon``) even
with no error at all, and about ``z² e (1 - e) / (epsilon - e)²`` when the model's error in
the region is ``e``: the closer ``e`` is to ``epsilon``, the more labels (the paper's
``Ω(1/ε²)`` lower bound, made concrete).

:func:`plan_validation` answers with the machinery the loop really uses, not an
approximation of it: the same grid of nested regions, the same choice of the first region
and the same fixed-sequence test as :func:`~surelabel.thresholds.estimate_thresholds`, at
the failure probability the loop gives one test (``0.75 δ / rounds``; and ``/ K`` per class
for ``search="per-class"``). For a given error profile (a constant expected error, or the
profile read from a pilot round) it computes *exactly* — a dynamic programme over the
binomial counts, not a simulation — the probability that a class is certified at all, that
its whole region is certified, and the expected certified coverage, for any number of
validation labels; and it returns the smallest numbers that reach the promised share
``power`` of runs.

Classes are drawn into a uniform validation sample in proportion to how often the model
predicts them (``class_shares``); a rare or hard class sets the total.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .bounds import binomial_safe_rate
from .spending import EARLY_SHARE, VALIDATION_SHARE
from .thresholds import (
    BOUNDS,
    DEFAULT_MIN_SUPPORT,
    GRID_GROWTH,
    MAX_START_ERRORS,
    START_FRACTION,
    _auto_start_errors,
    _upper,
    min_certifiable_size,
)

__all__ = [
    "ValidationPlan",
    "plan_validation",
    "certification_probability",
    "CertificationOdds",
    "error_profile",
    "first_test",
    "labels_needed",
    "single_test_needed",
]


MAX_SIZE = 2_000_000


@dataclass(frozen=True)
class CertificationOdds:
    """What ``n`` validation points in a region with a given error profile will certify.

    Attributes
    ----------
    n : int
    p_any : float
        Probability that the class gets a finite threshold.
    p_full : float
        Probability that the whole region (all ``n`` points' score range) is certified.
    expected_coverage : float
        Expected share of the region that ends up above the certified threshold.
    first_region : int
        Size of the first region tested (0: nothing can ever pass with this ``n``).
    start_errors : int
        Errors the first region may hold and still pass.
    """

    n: int
    p_any: float
    p_full: float
    expected_coverage: float
    first_region: int
    start_errors: int = 0


def _grid(n_total: int) -> np.ndarray:
    """Region sizes the fixed-sequence test visits for ``n_total`` distinct scores (as in thresholds.py)."""
    n_steps = int(math.ceil(math.log(n_total) / math.log1p(GRID_GROWTH))) + 2 if n_total > 1 else 2
    wanted = np.unique(np.ceil((1.0 + GRID_GROWTH) ** np.arange(n_steps)))
    sizes = np.arange(1, n_total + 1)
    pick = np.unique(np.searchsorted(sizes, wanted, side="left"))
    pick = np.union1d(pick[pick < sizes.size], [sizes.size - 1])
    return sizes[pick]


@functools.lru_cache(maxsize=64)
def _first_sizes(epsilon: float, delta: float, bound: str, min_support: int) -> tuple[np.ndarray, np.ndarray]:
    """For k = 0..MAX_START_ERRORS: the first grid size that could pass with k errors, and the grid."""
    top = min_certifiable_size(epsilon, delta, bound, MAX_START_ERRORS) * 2 + 10
    n_steps = int(math.ceil(math.log(top) / math.log1p(GRID_GROWTH))) + 2
    grid = np.unique(np.ceil((1.0 + GRID_GROWTH) ** np.arange(n_steps))).astype(np.int64)
    firsts = np.zeros(MAX_START_ERRORS + 1, dtype=np.int64)
    for k in range(MAX_START_ERRORS + 1):
        ok = (grid >= min_support) & (_upper(bound, np.full(grid.shape, k), grid, delta, 0.0) <= epsilon)
        firsts[k] = grid[int(np.argmax(ok))] if ok.any() else np.iinfo(np.int64).max
    return firsts, grid


def first_test(n: int, epsilon: float, delta: float, bound: str = "clopper-pearson",
               min_support: int = 10) -> tuple[int, int]:
    """``(size of the first region tested, errors it may hold)`` for ``n`` distinct scores.

    The same choice :func:`~surelabel.thresholds.estimate_thresholds` makes (without a
    pool and without earlier rounds), from a table computed once: ``(0, 0)`` when no region
    of ``n`` points could ever pass.

    Examples
    --------
    >>> first_test(1000, 0.05, 0.05)
    (349, 10)
    """
    firsts, _ = _first_sizes(float(epsilon), float(delta), bound, int(min_support))
    s = 0
    for k in range(1, MAX_START_ERRORS + 1):
        if firsts[k] > START_FRACTION * n:
            break
        s = k
    if firsts[s] <= n:
        return int(firsts[s]), s
    ok = n >= min_support and float(_upper(bound, np.array([s]), np.array([n]), delta, 0.0)[0]) <= epsilon
    return (n, s) if ok else (0, 0)


def _kmax(n: np.ndarray, delta: float, target: float, bound: str) -> np.ndarray:
    """Largest error count whose bound still meets ``target`` at each size (``-1``: none)."""
    lo = np.full(n.shape, -1, dtype=np.int64)
    hi = np.floor(target * n).astype(np.int64) + 1  # bound >= k/n, so k > target*n never passes
    while (hi - lo > 1).any():
        mid = (lo + hi) // 2
        ok = _upper(bound, np.maximum(mid, 0), n, delta, 0.0) <= target
        ok &= mid >= 0
        lo = np.where(ok & (hi - lo > 1), mid, lo)
        hi = np.where(~ok & (hi - lo > 1), mid, hi)
    return lo


def _binom_pmf(m: int, p: float, cap: int) -> np.ndarray:
    """pmf of Binomial(m, p) on 0..min(m, cap), cut where the mass is negligible."""
    from scipy.stats import binom  # scipy.stats is slow to import: only when planning
    top = min(m, cap)
    if p <= 0.0 or m == 0:
        out = np.zeros(top + 1)
        out[0] = 1.0
        return out
    hi = int(min(top, binom.ppf(1.0 - 1e-15, m, p) + 1))
    return binom.pmf(np.arange(hi + 1), m, p)


def certification_probability(
    n: int,
    error: float | ArrayLike | Callable[[np.ndarray], np.ndarray],
    *,
    epsilon: float,
    delta: float,
    bound: str = "clopper-pearson",
    min_support: int | None = None,
    start_errors: int | None = None,
    first_only: bool = False,
) -> CertificationOdds:
    """Exact odds of certifying a region of ``n`` validation points with error profile ``error``.

    Parameters
    ----------
    n : int
        Validation points predicted as the class (the union, for one shared threshold).
    error : float, array of shape (n,), or callable
        Probability that each point is wrong, from the most confident down: a constant, one
        value per point, or a function of the quantile ``q`` in (0, 1).
    epsilon : float
        The level the bound must meet (the loop's target).
    delta : float
        Failure probability of this one test (already split over rounds and classes).
    bound, min_support, start_errors
        As in :func:`~surelabel.thresholds.estimate_thresholds`.
    first_only : bool
        Only compute ``p_any`` (the first test; fast). ``p_full`` and coverage are ``nan``.

    Notes
    -----
    Within each stretch between two tested region sizes, the errors are counted as
    Binomial with the stretch's mean error rate: exact for a constant error, and a close
    (slightly wider) stand-in for the Poisson-binomial when the rate varies.

    Examples
    --------
    >>> odds = certification_probability(299, 0.0, epsilon=0.01, delta=0.05)
    >>> odds.p_any, odds.p_full
    (1.0, 1.0)
    >>> certification_probability(298, 0.0, epsilon=0.01, delta=0.05).p_any
    0.0
    """
    from scipy.stats import binom

    n = int(n)
    if bound == "paper" or bound not in BOUNDS:
        raise ValueError(f"The planner covers the certified bounds only (clopper-pearson, hoeffding). Got {bound!r}.")
    ms = DEFAULT_MIN_SUPPORT[bound] if min_support is None else max(int(min_support), 1)
    if n < 1:
        return CertificationOdds(n, 0.0, 0.0, 0.0, 0)
    if first_only and start_errors is None:
        first, s0 = first_test(n, float(epsilon), float(delta), bound, ms)
        if first == 0:
            return CertificationOdds(n, 0.0, math.nan, math.nan, 0)
        if callable(error):
            r = float(np.mean(np.clip(np.asarray(error((np.arange(first) + 0.5) / n), dtype=float), 0.0, 1.0)))
        else:
            e = np.asarray(error, dtype=float)
            r = float(e) if e.ndim == 0 else float(np.mean(np.clip(e.ravel()[:first], 0.0, 1.0)))
        return CertificationOdds(n, float(binom.cdf(s0, first, r)), math.nan, math.nan, first, s0)
    sizes = _grid(n)
    targets = np.full(sizes.shape, float(epsilon))
    big = sizes >= ms
    s = start_errors
    if s is None:
        s = _auto_start_errors(sizes, targets, big, bound, delta, n)
    could = big & (_upper(bound, np.full(sizes.shape, s), sizes, delta, 0.0) <= targets)
    if not could.any():
        return CertificationOdds(n, 0.0, 0.0, 0.0, 0)
    tests = sizes[int(np.argmax(could)):]
    # per-point error rates, averaged over each stretch between consecutive tests
    if callable(error):
        q = (np.arange(n) + 0.5) / n
        rates = np.clip(np.asarray(error(q), dtype=float), 0.0, 1.0)
    else:
        e = np.asarray(error, dtype=float)
        rates = np.full(n, float(e)) if e.ndim == 0 else np.clip(e.ravel()[:n], 0.0, 1.0)
        if rates.size != n:
            raise ValueError(f"error has {rates.size} values for {n} points.")
    edges = np.r_[0, tests]
    cum = np.r_[0.0, np.cumsum(rates)]
    if first_only:
        p0 = float(binom.cdf(s, int(tests[0]), cum[int(tests[0])] / tests[0]))
        return CertificationOdds(n, p0, math.nan, math.nan, int(tests[0]), int(s))
    km = _kmax(tests, delta, float(epsilon), bound)
    km[0] = s  # the first test passes on at most start_errors errors
    cap = int(km.max())
    state = np.zeros(cap + 1)
    state[0] = 1.0
    passed = np.empty(tests.size)
    for i in range(tests.size):
        a, b = int(edges[i]), int(edges[i + 1])
        m = b - a
        p = (cum[b] - cum[a]) / m if m else 0.0
        step = _binom_pmf(m, p, cap)
        state = np.convolve(state, step)[: cap + 1]
        state[km[i] + 1:] = 0.0
        passed[i] = state.sum()
    passed = np.clip(passed, 0.0, 1.0)
    last = passed - np.r_[passed[1:], 0.0]  # P(the last test passed is test i)
    cov = float(np.sum(last * tests) / n)
    return CertificationOdds(n, float(passed[0]), float(passed[-1]), cov, int(tests[0]), int(s))


def labels_needed(
    error: float,
    *,
    epsilon: float,
    delta: float,
    bound: str = "clopper-pearson",
    min_support: int = 10,
    power: float = 0.9,
) -> float:
    """Fewest validation points (in a region with error rate ``error``) certified in ``power`` of runs.

    One test at failure probability ``delta`` (already split over rounds and classes);
    ``inf`` when not reachable (``error`` too close to ``epsilon``).

    Examples
    --------
    >>> labels_needed(0.0, epsilon=0.05, delta=0.05)
    59.0
    >>> labels_needed(0.06, epsilon=0.05, delta=0.05)
    inf
    """
    if error >= epsilon:
        return math.inf
    floor = max(min_certifiable_size(epsilon, delta, bound, 0), min_support)
    n_sat = int(math.ceil(1.1 * max(min_certifiable_size(epsilon, delta, bound, MAX_START_ERRORS), min_support)
                          / START_FRACTION)) + 2
    return _smallest(
        floor,
        lambda n: certification_probability(n, error, epsilon=epsilon, delta=delta, bound=bound,
                                            min_support=min_support, first_only=True).p_any >= power,
        n_sat,
    )


def single_test_needed(error: float, *, epsilon: float, delta: float, bound: str = "clopper-pearson",
                       power: float = 0.9, n_max: int = MAX_SIZE) -> float:
    """Fewest points for ONE exact test of a fixed region to pass in ``power`` of runs.

    The information-theoretic side of the question, without the search's rules (its first
    region may hold at most 10 errors): about ``z² e (1 - e) / (epsilon - e)²``, which grows
    without bound as the error ``e`` nears ``epsilon``. Compare with :func:`labels_needed`.

    Examples
    --------
    >>> single_test_needed(0.025, epsilon=0.05, delta=0.05)
    530.0
    """
    from scipy.stats import binom

    if error >= epsilon:
        return math.inf

    def ok(n: int) -> bool:
        k = int(_kmax(np.array([n]), delta, float(epsilon), bound)[0])
        return k >= 0 and float(binom.cdf(k, n, error)) >= power

    return _smallest(max(min_certifiable_size(epsilon, delta, bound, 0), 1), ok, n_max)


def error_profile(scores: ArrayLike, wrong: ArrayLike) -> Callable[[np.ndarray], np.ndarray]:
    """Error rate as a function of the score quantile (0 = most confident), from pilot data.

    An isotonic (non-decreasing) fit of the pilot's errors against the rank, floored at
    ``0.5 / (n + 1)`` so that a pilot with no error in its top does not promise none.

    Examples
    --------
    >>> f = error_profile([0.9, 0.8, 0.7, 0.6], [0, 0, 1, 1])
    >>> np.round(f(np.array([0.1, 0.9])), 2).tolist()
    [0.1, 1.0]
    """
    from sklearn.isotonic import IsotonicRegression

    s = np.asarray(scores, dtype=float).ravel()
    w = np.asarray(wrong, dtype=float).ravel()
    n = s.size
    floor = 0.5 / (n + 1)
    if n == 0:
        return lambda q: np.full(np.shape(q), floor)
    order = np.argsort(-s, kind="stable")
    q = (np.arange(n) + 0.5) / n
    iso = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(q, w[order])

    def f(qq: np.ndarray) -> np.ndarray:
        return np.maximum(iso.predict(np.asarray(qq, dtype=float).ravel()), floor)

    return f


@dataclass(frozen=True)
class ValidationPlan:
    """How many validation labels each class (or the union) needs, and what more of them buys.

    Attributes
    ----------
    groups : list of str
        Class names (``search="per-class"``), or ``["(union)"]``.
    expected_error : ndarray
        The error rate assumed over each group's region.
    shares : ndarray
        Share of a uniform validation sample predicted as each group.
    min_labels : ndarray of int
        Validation points of the group needed with *no* error at all (the floor).
    needed_any, needed_full : ndarray of float
        Validation points of the group for it to be certified at all / over its whole region
        in at least ``power`` of runs (``inf``: not at this epsilon). ``needed_full`` is only
        planned for a constant expected error (without a pilot).
    best_p_any : ndarray
        The highest share of runs certifying the group at all, however many labels (the
        first region tested may hold at most 10 errors, so a region whose error is close
        to epsilon is rarely certified).
    total_any : float
        Validation labels in all, drawn uniformly, for every certifiable group to be
        certified at all in at least ``power`` of runs — the group's count in the sample
        is random (binomial), and that is accounted for.
    curve : pandas.DataFrame
        ``validation_size``, ``group``, ``n_group``, ``p_any``, ``p_full``,
        ``expected_coverage`` — and one ``(all)`` row per size weighting groups by share.
    """

    epsilon: float
    delta: float
    delta_test: float
    target: float
    search: str
    bound: str
    power: float
    rounds: int
    min_support: int
    groups: list[str]
    expected_error: np.ndarray
    shares: np.ndarray
    min_labels: np.ndarray
    needed_any: np.ndarray
    needed_full: np.ndarray
    total_any: float
    curve: Any = field(repr=False, compare=False, default=None)
    notes: list[str] = field(default_factory=list, compare=False)
    best_p_any: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | int | None:
            return None if not np.isfinite(v) else (int(v) if float(v).is_integer() else float(v))

        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "delta_test": self.delta_test,
            "target": self.target,
            "search": self.search,
            "bound": self.bound,
            "power": self.power,
            "rounds": self.rounds,
            "min_support": self.min_support,
            "groups": [
                {
                    "group": g,
                    "expected_error": float(e),
                    "share": float(s),
                    "min_labels": int(m),
                    "needed_any": num(a),
                    "needed_full": num(f),
                    "best_p_any": None if b is None else float(b),
                }
                for g, e, s, m, a, f, b in zip(
                    self.groups, self.expected_error, self.shares, self.min_labels, self.needed_any, self.needed_full,
                    [None] * len(self.groups) if self.best_p_any is None else self.best_p_any,
                )
            ],
            "total_any": num(self.total_any),
            "curve": [] if self.curve is None else self.curve.to_dict("records"),
            "notes": list(self.notes),
        }


def _smallest(n_lo: int, pred: Callable[[int], bool], n_hi: int = MAX_SIZE) -> float:
    """Smallest n in [n_lo, n_hi] with pred(n), scanning geometrically then bisecting (inf if none).

    The answer always satisfies ``pred`` (it is evaluated there), even where the
    probability is not monotone in ``n``.
    """
    prev, n = n_lo - 1, max(n_lo, 1)
    while n <= n_hi and not pred(n):
        prev, n = n, max(n + 1, int(math.ceil(n * 1.15)))
    if n > n_hi:
        return math.inf
    lo, hi = prev, n  # pred(hi) holds; search below it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return float(hi)


def plan_validation(
    epsilon: float,
    delta: float = 0.05,
    *,
    n_classes: int = 2,
    classes: ArrayLike | None = None,
    expected_error: float | ArrayLike = 0.0,
    class_shares: ArrayLike | None = None,
    pilot: Any = None,
    rounds: int = 1,
    loop: bool = True,
    search: str = "union",
    bound: str = "clopper-pearson",
    min_support: int | None = None,
    power: float = 0.9,
    expected_auto_labels: int | None = None,
    sizes: ArrayLike | None = None,
) -> ValidationPlan:
    """Plan the validation labels needed to certify each class at ``epsilon``.

    Parameters
    ----------
    epsilon, delta : float in (0, 1)
        The promise.
    n_classes : int, default 2
        ``K`` (ignored when ``classes`` or a pilot is given).
    classes : array-like, optional
        Class names.
    expected_error : float or array of shape (K,), default 0
        Expected share of wrong predictions in each class's region (ignored with a pilot).
    class_shares : array-like of shape (K,), optional
        Share of items the model predicts as each class; default uniform (or the pilot's).
    pilot : tuple ``(scores, y_pred, y_true)`` or DataFrame with columns ``score``,
        ``predicted``, ``label``, optional
        A pilot round's validation points: the error profile per class (as a function of
        the score quantile) and the class shares are read from it.
    rounds : int, default 1
        Rounds the loop may run (``TBALConfig.max_rounds``). One round tests at ``0.75 δ``; with
        more, the round that spends the training budget tests at no less than
        ``0.75 δ (1 - early_share)`` (the spending function of :mod:`surelabel.engine`).
    loop : bool, default True
        Split ``delta`` as the loop does; ``False`` plans one direct call of
        :func:`~surelabel.thresholds.estimate_thresholds` at ``delta``.
    search : {"union", "per-class"}
        The overall promise (one threshold for the union of classes) or the per-class promise
        (each class at ``δ / K``: an upper bound on the need, since classes that cannot be
        certified do not dilute the others' share in the loop).
    bound : {"clopper-pearson", "hoeffding"}
    min_support : int, optional
        Default 10, as in the loop.
    power : float in (0, 1), default 0.9
        Promised share of runs in which the group gets certified.
    expected_auto_labels : int, optional
        Items you expect to auto-label; the loop certifies against the slightly stricter
        :func:`~surelabel.bounds.binomial_safe_rate` so the promise covers the finite pool.
    sizes : array-like of int, optional
        Validation sizes for the coverage curve (default: 14 sizes up to 3 × ``total_any``).

    Returns
    -------
    ValidationPlan

    Examples
    --------
    >>> plan = plan_validation(0.05, 0.05, n_classes=4, expected_error=[0.0, 0.01, 0.02, 0.06],
    ...                        search="per-class", loop=False)
    >>> plan.min_labels.tolist()
    [86, 86, 86, 86]
    >>> [None if not np.isfinite(v) else int(v) for v in plan.needed_any]
    [86, 450, None, None]
    """
    from .exceptions import InputError

    for name, v in (("epsilon", epsilon), ("delta", delta), ("power", power)):
        if not 0.0 < float(v) < 1.0:
            raise InputError(f"The '{name}' parameter must be in the open interval (0, 1). Got {v!r}.")
    if search not in ("union", "per-class"):
        raise InputError(f"Unknown search {search!r}. Allowed: union, per-class.")
    if bound not in ("clopper-pearson", "hoeffding"):
        raise InputError(f"The planner covers the certified bounds only (clopper-pearson, hoeffding). Got {bound!r}.")
    if int(rounds) < 1:
        raise InputError(f"The 'rounds' parameter must be >= 1. Got {rounds!r}.")
    ms = DEFAULT_MIN_SUPPORT[bound] if min_support is None else max(int(min_support), 1)
    notes: list[str] = []

    if pilot is not None:
        s, p, t = _read_pilot(pilot)
        names = np.unique(np.r_[p, t].astype(str)) if classes is None else np.asarray(classes).astype(str)
        lookup = {c: i for i, c in enumerate(names.tolist())}
        unknown = sorted({v for v in np.r_[p, t].astype(str).tolist() if v not in lookup})
        if unknown:
            raise InputError(f"The pilot holds class {unknown[0]!r}, which is not among the classes given.")
        pc = np.array([lookup[v] for v in p.astype(str).tolist()])
        tc = np.array([lookup[v] for v in t.astype(str).tolist()])
        K = names.size
        shares = np.bincount(pc, minlength=K) / pc.size
        wrong = pc != tc
        class_err = np.array([wrong[pc == c].mean() if (pc == c).any() else np.nan for c in range(K)])
        class_prof: list[Any] = [error_profile(s[pc == c], wrong[pc == c]) for c in range(K)]
        union_prof = error_profile(s, wrong)
        # pilot errors from the most confident down, for the predictive odds of the first test
        class_wrong = [wrong[pc == c][np.argsort(-s[pc == c], kind="stable")] for c in range(K)]
        union_wrong = wrong[np.argsort(-s, kind="stable")]
        union_err = float(wrong.mean())
        if pc.size < 200:
            notes.append(f"the pilot has only {pc.size} points: its error profile is rough")
    else:
        if classes is not None:
            names = np.asarray(classes).astype(str)
        else:
            names = np.array([str(i) for i in range(int(n_classes))])
        K = names.size
        if K < 1:
            raise InputError("Give at least one class.")
        e = np.broadcast_to(np.asarray(expected_error, dtype=float), (K,)).copy()
        if (e < 0).any() or (e >= 1).any():
            raise InputError(f"Expected errors must be in [0, 1). Got {e.tolist()}.")
        shares = np.full(K, 1.0 / K) if class_shares is None else np.asarray(class_shares, dtype=float)
        if shares.shape != (K,) or (shares < 0).any() or shares.sum() <= 0:
            raise InputError(f"class_shares must be {K} non-negative numbers with a positive sum.")
        shares = shares / shares.sum()
        class_err = e
        class_prof = list(e)
        union_err = float(np.sum(shares * e))
        union_prof = union_err

    # the loop's tests: the validation share of delta; with several rounds, the round that spends the training
    # budget (the one that certifies most) tests at no less than (1 - early_share) of it
    delta_round = float(delta) * (VALIDATION_SHARE * (1.0 if int(rounds) <= 1 else 1.0 - EARLY_SHARE)
                                  if loop else 1.0)
    delta_test = delta_round / K if search == "per-class" else delta_round
    target = float(epsilon)
    if expected_auto_labels is not None and loop:
        pool_delta = float(delta) * (1 - VALIDATION_SHARE)
        target = float(binomial_safe_rate(int(expected_auto_labels), float(epsilon), pool_delta))
        notes.append(
            f"target {target:.4f} < epsilon so the promise covers the {int(expected_auto_labels)} auto-labels made"
        )

    if search == "per-class":
        groups = [str(c) for c in names]
        g_err, g_prof, g_share = class_err, class_prof, shares
        g_wrong = class_wrong if pilot is not None else None
    else:
        groups = ["(union)"]
        g_err, g_prof, g_share = np.array([union_err]), [union_prof], np.array([1.0])
        g_wrong = [union_wrong] if pilot is not None else None

    def odds(i: int, n: int) -> CertificationOdds:
        return certification_probability(n, g_prof[i], epsilon=target, delta=delta_test, bound=bound, min_support=ms)

    p_any_cache: list[dict[int, float]] = [dict() for _ in groups]

    def p_any(i: int, n: int) -> float:
        got = p_any_cache[i].get(n)
        if got is None:
            o = certification_probability(
                n, g_prof[i], epsilon=target, delta=delta_test, bound=bound, min_support=ms, first_only=True
            )
            got = o.p_any
            if g_wrong is not None and o.first_region:
                got = _predictive_first_test(g_wrong[i], o.first_region, n, o.start_errors)
            p_any_cache[i][n] = got
        return got

    floor = max(min_certifiable_size(target, delta_test, bound, 0), ms)
    # beyond n_sat the first region tested no longer changes (its error allowance is capped
    # at MAX_START_ERRORS), so neither does the chance of certifying at all
    n_sat = int(math.ceil(
        1.1 * max(min_certifiable_size(target, delta_test, bound, MAX_START_ERRORS), ms) / START_FRACTION)) + 2
    need_any = np.full(len(groups), math.inf)
    need_full = np.full(len(groups), math.inf)
    best_any = np.zeros(len(groups))
    for i in range(len(groups)):
        if g_share[i] <= 0:
            continue
        err_i = float(g_err[i])
        best_any[i] = p_any(i, n_sat)
        if pilot is None and err_i >= target:
            continue  # a constant error at or above the target is never certified (in the long run)
        need_any[i] = _smallest(floor, lambda n, i=i: p_any(i, n) >= power, n_sat)
        if pilot is None and np.isfinite(need_any[i]):
            z = 3.0 + math.sqrt(2.0 * math.log(1.0 / delta_test))
            n_hi = int(max(8 * n_sat, 8 * z * z * err_i * (1 - err_i) / (target - err_i) ** 2))
            need_full[i] = _smallest(int(need_any[i]), lambda n, i=i: odds(i, n).p_full >= power, n_hi)
    for g, a, b in zip(groups, need_any, best_any):
        if not np.isfinite(a):
            notes.append(
                f"{g}: not certified in {power:.0%} of runs at epsilon = {epsilon:g} with this error profile "
                f"(at most {b:.0%} of runs, however many validation labels)"
            )
    from scipy.stats import binom

    def expected_p_any(i: int, v: int) -> float:
        if g_share[i] >= 1.0:
            return p_any(i, v)
        lo, hi = (int(x) for x in binom.ppf([1e-6, 1 - 1e-6], v, g_share[i]))
        ns = np.arange(lo, hi + 1)
        w = binom.pmf(ns, v, g_share[i])
        return float(sum(wk * p_any(i, int(nk)) for wk, nk in zip(w, ns)) / w.sum())

    ok = [i for i in range(len(groups)) if np.isfinite(need_any[i])]
    total_any = math.inf
    if ok:
        start = int(max(need_any[i] / g_share[i] for i in ok))
        total_any = _smallest(start, lambda v: all(expected_p_any(i, v) >= power for i in ok), 50 * start + 1000)

    curve = _curve(groups, g_share, odds, expected_p_any, sizes, total_any, floor)
    return ValidationPlan(
        epsilon=float(epsilon),
        delta=float(delta),
        delta_test=delta_test,
        target=target,
        search=search,
        bound=bound,
        power=float(power),
        rounds=int(rounds),
        min_support=ms,
        groups=groups,
        expected_error=np.asarray(g_err, dtype=float),
        shares=np.asarray(g_share, dtype=float),
        min_labels=np.full(len(groups), floor, dtype=np.int64),
        needed_any=need_any,
        needed_full=need_full,
        total_any=total_any,
        curve=curve,
        notes=notes,
        best_p_any=best_any,
    )


def _curve(groups, shares, odds, expected_p_any, sizes, total_any, floor):
    import pandas as pd

    if sizes is None:
        top = total_any if np.isfinite(total_any) else 20 * floor / max(float(np.max(shares)), 1e-9)
        low = max(floor / 2 / max(float(np.max(shares)), 1e-9), 10)
        sizes = np.unique(np.round(np.geomspace(low, max(3 * top, 2 * low), 14)).astype(int))
    rows = []
    for v in np.asarray(sizes, dtype=int):
        cov_all = 0.0
        for i, g in enumerate(groups):
            n_g = int(round(v * shares[i]))
            o = odds(i, n_g)
            rows.append({"validation_size": int(v), "group": g, "n_group": n_g, "p_any": expected_p_any(i, int(v)),
                         "p_full": o.p_full, "expected_coverage": o.expected_coverage})
            cov_all += shares[i] * o.expected_coverage
        if len(groups) > 1:
            rows.append({"validation_size": int(v), "group": "(all)", "n_group": int(v), "p_any": float("nan"),
                         "p_full": float("nan"), "expected_coverage": cov_all})
    return pd.DataFrame(rows)


def _predictive_first_test(wrong_sorted: np.ndarray, first_region: int, n: int, start_errors: int) -> float:
    """P(the first region passes) when its error rate is only known from a pilot.

    The first region holds the top ``first_region / n`` of the scores; the pilot's points in
    the same top share show ``k`` errors in ``m``. Integrating the binomial over the
    Jeffreys posterior ``Beta(k + 1/2, m - k + 1/2)`` of the region's error rate gives a
    beta-binomial: the plan then accounts for the pilot's own uncertainty instead of
    trusting its point estimate (which, on a small pilot, sees no error at the top).
    """
    from scipy.stats import betabinom

    m_total = wrong_sorted.size
    m = max(1, int(math.ceil(first_region / n * m_total)))
    k = int(wrong_sorted[:m].sum())
    return float(betabinom.cdf(start_errors, first_region, k + 0.5, m - k + 0.5))


def _read_pilot(pilot: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from .exceptions import InputError

    if isinstance(pilot, tuple) and len(pilot) == 3:
        s, p, t = (np.asarray(a).ravel() for a in pilot)
    elif hasattr(pilot, "columns"):
        missing = [c for c in ("score", "predicted", "label") if c not in pilot.columns]
        if missing:
            raise InputError(
                f"The pilot needs columns score, predicted, label; missing {', '.join(missing)}. "
                f"Available: {', '.join(map(str, pilot.columns[:20]))}."
            )
        s, p, t = pilot["score"].to_numpy(), pilot["predicted"].to_numpy(), pilot["label"].to_numpy()
    else:
        raise InputError("The pilot must be (scores, y_pred, y_true) or a table with score, predicted, label.")
    if not (s.shape == p.shape == t.shape) or s.size == 0:
        raise InputError("The pilot's score, predicted and label columns must be non-empty and of equal length.")
    try:
        s = s.astype(float)
    except (TypeError, ValueError):
        raise InputError("The pilot's score column must be numeric.") from None
    if not np.isfinite(s).all():
        raise InputError("The pilot's score column has missing or non-finite values.")
    return s, p, t
