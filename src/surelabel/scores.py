"""Confidence scores: one number per item, higher = the model is surer of its prediction.

Every score is a pure function of an ``(n, K)`` probability matrix (``energy`` of logits).
Thresholds are invariant to any strictly increasing transform of a score, so only the
*order* a score puts items in matters. :data:`SCORES` maps names to functions;
:func:`get_score` resolves a name or passes a callable through.

Models that only have ``decision_function`` (a linear SVM, say) are turned into
probabilities by :func:`proba_from_decision`: a logistic link for two classes (so
``max_proba`` is a monotone function of ``|w·x|``, the score the TBAL paper uses) and a
softmax for more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logsumexp, softmax

__all__ = [
    "max_proba",
    "margin",
    "neg_entropy",
    "energy",
    "proba_from_decision",
    "SCORES",
    "get_score",
]

ScoreFunction = Callable[[np.ndarray], np.ndarray]


def _as_proba(proba: ArrayLike) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"Expected an (n, K) probability matrix. Got shape {p.shape}.")
    return p


def max_proba(proba: ArrayLike) -> np.ndarray:
    """Probability of the predicted class.

    Examples
    --------
    >>> max_proba([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1]]).tolist()
    [0.7, 0.5]
    """
    return _as_proba(proba).max(axis=1)


def margin(proba: ArrayLike) -> np.ndarray:
    """Top-1 minus top-2 probability (1.0 for a single column).

    Examples
    --------
    >>> np.round(margin([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1]]), 6).tolist()
    [0.5, 0.1]
    """
    p = _as_proba(proba)
    if p.shape[1] == 1:
        return np.ones(p.shape[0])
    top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def neg_entropy(proba: ArrayLike) -> np.ndarray:
    """Minus the Shannon entropy (nats) of each row; 0 for a one-hot row.

    Examples
    --------
    >>> float(neg_entropy([[1.0, 0.0]])[0])
    0.0
    """
    p = _as_proba(proba)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=1)


def energy(logits: ArrayLike, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy ``T * logsumexp(logits / T)`` (Liu et al., 2020); needs logits.

    Examples
    --------
    >>> round(float(energy([[0.0, 0.0]])[0]), 4)
    0.6931
    """
    z = _as_proba(logits)
    return temperature * logsumexp(z / temperature, axis=1)


def proba_from_decision(decision: ArrayLike) -> np.ndarray:
    """Probabilities from ``decision_function`` output: logistic for 1-D, softmax for 2-D.

    Examples
    --------
    >>> proba_from_decision([0.0]).tolist()
    [[0.5, 0.5]]
    """
    d = np.asarray(decision, dtype=float)
    if d.ndim == 1:
        p1 = expit(d)
        return np.column_stack([1.0 - p1, p1])
    return softmax(d, axis=1)


#: Registry of scores that take an ``(n, K)`` probability matrix.
SCORES: dict[str, ScoreFunction] = {
    "max_proba": max_proba,
    "margin": margin,
    "neg_entropy": neg_entropy,
}


def get_score(score: str | ScoreFunction) -> ScoreFunction:
    """Resolve a score by name (``max_proba``, ``margin``, ``neg_entropy``) or pass a callable.

    ``energy`` needs logits rather than probabilities and is resolved by the loop itself.

    Examples
    --------
    >>> get_score("margin") is margin
    True
    """
    if callable(score):
        return score
    if score == "energy":
        return energy
    try:
        return SCORES[score]
    except KeyError:
        allowed = ", ".join(sorted([*SCORES, "energy"]))
        raise ValueError(f"Unknown score {score!r}. Allowed: {allowed}.") from None
