"""Upper confidence bounds on an error rate from ``k`` errors seen in ``n`` trials.

All functions are pure and vectorised over numpy arrays (scalars work too). They answer
"how large could the true error rate be, given what the validation sample shows?":

* :func:`clopper_pearson_upper` — the exact binomial bound (Clopper & Pearson, 1934).
* :func:`hoeffding_upper` — ``k/n + sqrt(log(1/delta) / (2n))`` (Hoeffding, 1963).
* :func:`paper_upper` — the heuristic of the TBAL reference code,
  ``e + c1 * sqrt(e (1 - e))``; it has no ``n`` in it and gives **no** guarantee.
* :func:`binomial_safe_rate` — the largest per-item error rate for which ``C`` independent
  items still show an error share ``<= epsilon`` with probability ``>= 1 - delta``; used to
  turn a bound on the *rate* into a promise about the *realised share* in a finite pool.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaincinv

__all__ = [
    "clopper_pearson_upper",
    "clopper_pearson_interval",
    "hoeffding_upper",
    "paper_upper",
    "binomial_safe_rate",
]


def _check_delta(delta: float) -> None:
    if not 0.0 < float(delta) < 1.0:
        raise ValueError(f"The 'delta' parameter must be in the open interval (0, 1). Got {delta!r}.")


def clopper_pearson_upper(k: ArrayLike, n: ArrayLike, delta: float) -> np.ndarray:
    """One-sided exact upper confidence bound on a binomial rate.

    Parameters
    ----------
    k : array-like of int
        Errors observed.
    n : array-like of int, same shape as ``k``
        Trials observed; ``n = 0`` gives the trivial bound 1.
    delta : float in (0, 1)
        Allowed probability that the true rate lies above the bound.

    Returns
    -------
    numpy.ndarray of float
        ``u`` with ``P(p > u) <= delta`` for every true rate ``p``.

    Notes
    -----
    ``u`` is the ``1 - delta`` quantile of ``Beta(k + 1, n - k)``; ``u = 1`` when ``k >= n``.

    Examples
    --------
    >>> round(float(clopper_pearson_upper(0, 300, 0.05)), 4)
    0.0099
    """
    _check_delta(delta)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    out = np.ones(np.broadcast(k, n).shape, dtype=float)
    ok = np.broadcast_to(k < n, out.shape)
    kk = np.broadcast_to(k, out.shape)[ok]
    nn = np.broadcast_to(n, out.shape)[ok]
    out[ok] = betaincinv(kk + 1.0, nn - kk, 1.0 - delta)
    return out


def clopper_pearson_interval(k: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided exact (Clopper–Pearson) interval for a binomial rate.

    Examples
    --------
    >>> lo, hi = clopper_pearson_interval(3, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0062, 0.0852)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"The 'confidence' parameter must be in (0, 1). Got {confidence!r}.")
    alpha = (1.0 - confidence) / 2.0
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    shape = np.broadcast(k, n).shape
    k = np.broadcast_to(k, shape)
    n = np.broadcast_to(n, shape)
    lo = np.zeros(shape)
    pos = k > 0
    lo[pos] = betaincinv(k[pos], n[pos] - k[pos] + 1.0, alpha)
    hi = clopper_pearson_upper(k, n, alpha)
    return lo, hi


def hoeffding_upper(k: ArrayLike, n: ArrayLike, delta: float) -> np.ndarray:
    """Hoeffding's upper bound ``k/n + sqrt(log(1/delta) / (2n))``, clipped to [0, 1].

    Examples
    --------
    >>> round(float(hoeffding_upper(0, 1000, 0.05)), 4)
    0.0387
    """
    _check_delta(delta)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = k / n + np.sqrt(np.log(1.0 / delta) / (2.0 * n))
    return np.where(n > 0, np.minimum(u, 1.0), 1.0)


def paper_upper(k: ArrayLike, n: ArrayLike, c1: float = 0.25) -> np.ndarray:
    """The reference implementation's heuristic ``e + c1 * sqrt(e (1 - e))`` with ``e = k/n``.

    It does not shrink with ``n`` and is ``0`` whenever no error was seen, so it is **not**
    a confidence bound; it is kept to reproduce the NeurIPS 2023 tables.

    Examples
    --------
    >>> float(paper_upper(0, 30))
    0.0
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(n > 0, k / np.where(n > 0, n, 1.0), 1.0)
    return e + c1 * np.sqrt(e * (1.0 - e))


def binomial_safe_rate(count: ArrayLike, epsilon: float, delta: float) -> np.ndarray:
    """Largest rate ``p`` such that ``P(Binomial(C, p) > epsilon * C) <= delta`` for every ``C >= count``.

    If each of ``C >= count`` auto-labels is wrong independently with probability at most
    this rate, the realised share of wrong auto-labels exceeds ``epsilon`` with probability
    at most ``delta``. It grows towards ``epsilon`` as ``count`` grows, and it is
    non-decreasing in ``count`` and in ``epsilon`` (the raw tail quantile is a saw-tooth in
    ``C``; the value returned is its lower envelope from the right).

    Examples
    --------
    >>> round(float(binomial_safe_rate(10_000, 0.01, 0.025)), 4)
    0.0082
    """
    _check_delta(delta)
    if not 0.0 < float(epsilon) < 1.0:
        raise ValueError(f"The 'epsilon' parameter must be in the open interval (0, 1). Got {epsilon!r}.")
    c = np.atleast_1d(np.asarray(count, dtype=float))
    # the raw quantile falls within each stretch of C sharing floor(eps*C) and jumps up at
    # the next; the minima at the stretch ends increase, so the envelope is the stretch end
    f = np.floor(epsilon * c + 1e-9)
    c_end = np.maximum(np.ceil((f + 1.0 - 1e-9) / epsilon) - 1.0, c)
    j = np.floor(epsilon * c_end + 1e-9) + 1.0  # fewest errors that exceed epsilon
    out = np.ones(c.shape, dtype=float)
    ok = (j <= c_end) & (c > 0)
    out[ok] = betaincinv(j[ok], c_end[ok] - j[ok] + 1.0, delta)
    out[c <= 0] = 0.0
    return out.reshape(np.shape(count)) if np.ndim(count) else out[:1].reshape(())
