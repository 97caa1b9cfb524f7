"""The oracle limit: the most a model's scores allow any per-class thresholds to auto-label.

Given a model's confidence scores and predicted classes on the items it could auto-label,
and their *true* labels, :func:`oracle_max_selected` finds per-class thresholds that
auto-label as many items as possible while the share of wrong auto-labels stays at most
``epsilon``. No threshold estimator that sees only validation labels can do better with the
same scores, so a method's coverage divided by this one says how much of the available
coverage its thresholds reached.

The problem is a small knapsack: each class offers nested regions (its items above a
threshold), each with a size and a number of errors. For a total of ``E`` errors, the
largest total size ``F(E)`` is a max-plus convolution of the per-class "largest region with
at most ``e`` errors" curves; the answer is ``max {F(E) : E <= epsilon F(E)}``. Exact, and
``O(K E^2)`` with ``E <= epsilon n``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["oracle_max_selected", "oracle_coverage"]


def _largest_region(scores: np.ndarray, wrong: np.ndarray, e_max: int) -> np.ndarray:
    """``L[e]``: size of the largest region ``{score >= t}`` holding at most ``e`` errors, ``e = 0..e_max``."""
    if scores.size == 0:
        return np.zeros(e_max + 1, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    s, w = scores[order], wrong[order]
    ends = np.ones(s.size, dtype=bool)
    ends[:-1] = s[:-1] != s[1:]
    cum = np.cumsum(w)[ends]
    size = (np.arange(1, s.size + 1))[ends]
    j = np.searchsorted(cum, np.arange(e_max + 1), side="right") - 1
    return np.where(j >= 0, size[np.maximum(j, 0)], 0).astype(np.int64)


def oracle_max_selected(
    scores: ArrayLike, y_pred: ArrayLike, y_true: ArrayLike, epsilon: float
) -> int:
    """Most items per-class thresholds can select with a share of wrong ones ``<= epsilon``.

    Parameters
    ----------
    scores : array-like of float, shape (n,)
    y_pred, y_true : array-like, shape (n,)
        Predicted and true classes (any comparable labels).
    epsilon : float in [0, 1)

    Returns
    -------
    int

    Examples
    --------
    >>> s = [0.9, 0.8, 0.7, 0.6, 0.9, 0.5]
    >>> oracle_max_selected(s, [0, 0, 0, 0, 1, 1], [0, 0, 1, 0, 1, 0], epsilon=0.25)
    5
    """
    s = np.asarray(scores, dtype=float).ravel()
    p = np.asarray(y_pred).ravel()
    t = np.asarray(y_true).ravel()
    if not (s.shape == p.shape == t.shape):
        raise ValueError("scores, y_pred and y_true must have the same length.")
    if not 0.0 <= float(epsilon) < 1.0:
        raise ValueError(f"The 'epsilon' parameter must be in [0, 1). Got {epsilon!r}.")
    wrong = p != t
    e_cap = int(min(wrong.sum(), np.floor(epsilon * s.size + 1e-9)))
    F = np.zeros(e_cap + 1, dtype=np.int64)  # F[E]: largest total size with at most E errors
    for c in np.unique(p):
        m = p == c
        L = _largest_region(s[m], wrong[m], e_cap)
        w_c = int(min(wrong[m].sum(), e_cap))
        new = F + L[0]
        for e in range(1, w_c + 1):  # vectorised over E: F[E - e] + L[e]
            cand = F[: e_cap + 1 - e] + L[e]
            np.maximum(new[e:], cand, out=new[e:])
        F = new
    E = np.arange(e_cap + 1)
    ok = E <= epsilon * F + 1e-9
    return int(F[ok].max()) if ok.any() else 0


def oracle_coverage(
    scores: ArrayLike, y_pred: ArrayLike, y_true: ArrayLike, epsilon: float, n_pool: int
) -> float:
    """:func:`oracle_max_selected` divided by the pool size (the coverage denominator).

    Examples
    --------
    >>> oracle_coverage([0.9, 0.8], [1, 1], [1, 0], epsilon=0.01, n_pool=4)
    0.25
    """
    return oracle_max_selected(scores, y_pred, y_true, epsilon) / n_pool if n_pool else 0.0
