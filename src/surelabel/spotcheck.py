"""Spot-check audit of auto-labels: the user's own, independent check of the promise.

A uniformly random sample of auto-labeled items goes to people (through the same batches
and exports as any other labeling); comparing their answers with the auto-labels gives the
realised auto-label error with an exact (Clopper–Pearson) confidence interval, overall and
per auto-labeled class.

:func:`draw_spot_check` draws the sample; :func:`spot_check_report` judges the answers.

Notes
-----
The sample is drawn without replacement from a finite set of auto-labels, so the number
of errors is hypergeometric; the binomial Clopper–Pearson interval is then conservative
(the hypergeometric is less spread out). The interval is about disagreement with the
*people who check*: with noisy checkers it covers their error-plus-noise, not the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .bounds import clopper_pearson_interval
from .exceptions import InputError
from .rng import RandomState, check_random_state

__all__ = ["draw_spot_check", "spot_check_report", "SpotCheckReport"]


def draw_spot_check(auto_mask: ArrayLike, n: int, *, random_state: RandomState = None) -> np.ndarray:
    """Positions of ``n`` auto-labeled items drawn uniformly at random, without replacement.

    Parameters
    ----------
    auto_mask : array-like of bool, shape (N,)
        Which items are auto-labeled (e.g. ``result.source == "auto"``).
    n : int
        Sample size; at most the number of auto-labels.
    random_state : int, Generator or None

    Returns
    -------
    numpy.ndarray of int, sorted.

    Examples
    --------
    >>> mask = np.array([True, False, True, True, False, True])
    >>> draw_spot_check(mask, 2, random_state=0).tolist()
    [3, 5]
    """
    m = np.asarray(auto_mask, dtype=bool).ravel()
    pool = np.flatnonzero(m)
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise InputError(f"The spot-check size must be a positive number of items. Got {n!r}.")
    if pool.size == 0:
        raise InputError("There are no auto-labels to spot-check yet; run a round that auto-labels items first.")
    if n > pool.size:
        raise InputError(f"Cannot spot-check {n} items: only {pool.size} items are auto-labeled; lower --n.")
    rng = check_random_state(random_state)
    return np.sort(rng.choice(pool, size=int(n), replace=False))


@dataclass(frozen=True)
class SpotCheckReport:
    """Realised auto-label error on a spot-check sample, with exact intervals.

    Attributes
    ----------
    n : int
        Items checked.
    n_errors : int
        Of those, how many auto-labels people corrected.
    error : float
    ci_low, ci_high : float
        Two-sided Clopper–Pearson interval at ``confidence``.
    confidence : float
    epsilon : float or None
        The promise being checked, if given.
    verdict : str
        ``"kept"`` (interval entirely ≤ epsilon), ``"broken"`` (entirely above), ``"unclear"``,
        or ``""`` without epsilon.
    per_class : list of dict
        ``class`` (the auto-label), ``n``, ``n_errors``, ``error``, ``ci_low``, ``ci_high``.
    """

    n: int
    n_errors: int
    error: float
    ci_low: float
    ci_high: float
    confidence: float
    epsilon: float | None
    verdict: str
    per_class: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_errors": self.n_errors,
            "error": self.error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "epsilon": self.epsilon,
            "verdict": self.verdict,
            "per_class": self.per_class,
        }

    def to_frame(self):
        """Per-class rows plus an ``(all)`` row, as a DataFrame."""
        import pandas as pd

        rows = [*self.per_class, {"class": "(all)", "n": self.n, "n_errors": self.n_errors, "error": self.error,
                                  "ci_low": self.ci_low, "ci_high": self.ci_high}]
        return pd.DataFrame(rows)


def _verdict(lo: float, hi: float, epsilon: float | None) -> str:
    if epsilon is None:
        return ""
    if hi <= epsilon:
        return "kept"
    if lo > epsilon:
        return "broken"
    return "unclear"


def spot_check_report(
    sample_labels: ArrayLike,
    human_labels: ArrayLike,
    classes: ArrayLike | None = None,
    confidence: float = 0.95,
    *,
    epsilon: float | None = None,
) -> SpotCheckReport:
    """Compare auto-labels with what people answered for the same items.

    Parameters
    ----------
    sample_labels : array-like, shape (n,)
        The auto-labels of the spot-checked items.
    human_labels : array-like, shape (n,)
        What people answered for them.
    classes : array-like, optional
        Classes to report (in this order), including ones absent from the sample; default:
        the auto-labels seen, sorted.
    confidence : float in (0, 1), default 0.95
        Two-sided confidence level of the intervals.
    epsilon : float, optional
        The promise; sets :attr:`SpotCheckReport.verdict` for the overall interval.

    Returns
    -------
    SpotCheckReport

    Examples
    --------
    >>> r = spot_check_report(["a"] * 98 + ["b"] * 2, ["a"] * 97 + ["b"] * 3, epsilon=0.1)
    >>> r.n_errors, round(r.ci_high, 3), r.verdict
    (1, 0.054, 'kept')
    >>> [(c["class"], c["n"], c["n_errors"]) for c in r.per_class]
    [('a', 98, 1), ('b', 2, 0)]
    """
    a = np.asarray(sample_labels, dtype=object).ravel()
    h = np.asarray(human_labels, dtype=object).ravel()
    if a.shape != h.shape:
        raise InputError(f"Got {a.shape[0]} auto-labels but {h.shape[0]} answers; give one answer per checked item.")
    if a.size == 0:
        raise InputError("The spot-check has no answered items yet; label the spot-check batch first.")
    if not 0.0 < float(confidence) < 1.0:
        raise InputError(f"The 'confidence' parameter must be in (0, 1). Got {confidence!r}.")
    if epsilon is not None and not 0.0 < float(epsilon) < 1.0:
        raise InputError(f"The 'epsilon' parameter must be in the open interval (0, 1). Got {epsilon!r}.")
    missing = [i for i, v in enumerate(h.tolist()) if v is None or (isinstance(v, float) and np.isnan(v))]
    if missing:
        raise InputError(f"Spot-check item {missing[0]} has no answer; drop unanswered items or answer them.")
    wrong = np.array([x != y for x, y in zip(a.tolist(), h.tolist())], dtype=bool)
    k, n = int(wrong.sum()), int(a.size)
    lo, hi = clopper_pearson_interval(k, n, confidence)
    if classes is None:
        cls = sorted(set(a.tolist()), key=lambda v: (str(type(v)), v))
    else:
        cls = list(np.asarray(classes, dtype=object).tolist())
    per_class = []
    for c in cls:
        m = np.array([x == c for x in a.tolist()], dtype=bool)
        nc, kc = int(m.sum()), int(wrong[m].sum())
        if nc:
            clo, chi = clopper_pearson_interval(kc, nc, confidence)
            row = {"class": c, "n": nc, "n_errors": kc, "error": kc / nc, "ci_low": float(clo), "ci_high": float(chi)}
        else:
            row = {"class": c, "n": 0, "n_errors": 0, "error": None, "ci_low": None, "ci_high": None}
        per_class.append(row)
    return SpotCheckReport(
        n=n,
        n_errors=k,
        error=k / n,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence=float(confidence),
        epsilon=None if epsilon is None else float(epsilon),
        verdict=_verdict(float(lo), float(hi), epsilon),
        per_class=per_class,
    )
