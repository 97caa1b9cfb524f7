"""Query strategies: which unlabeled items a human should label next.

Each strategy is a pure function ``(proba, batch_size, *, random_state) -> indices``: it
takes the ``(n, K)`` class probabilities of the candidate items and returns the positions
(into ``proba``) of the ``batch_size`` items to ask about, most useful first where the
strategy has an order. :data:`QUERIES` maps names to strategies; :func:`get_query` resolves a
name or passes a callable through.

``margin_random`` is the TBAL paper's strategy: take the ``factor * b`` items with the
smallest top-1 minus top-2 margin, then ``b`` of them uniformly at random.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from .rng import RandomState, check_random_state
from .scores import margin as margin_score
from .scores import max_proba, neg_entropy

__all__ = ["QueryStrategy", "random", "margin", "least_confident", "entropy", "margin_random", "mixed", "QUERIES",
           "get_query"]


class QueryStrategy(Protocol):
    """Signature every query strategy follows."""

    def __call__(self, proba: np.ndarray, batch_size: int, *, random_state: RandomState = None) -> np.ndarray: ...


def _check(proba: ArrayLike, batch_size: int) -> tuple[np.ndarray, int]:
    p = np.asarray(proba, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"Expected an (n, K) probability matrix. Got shape {p.shape}.")
    b = int(batch_size)
    if b < 0:
        raise ValueError(f"The 'batch_size' parameter must be >= 0. Got {batch_size}.")
    return p, min(b, p.shape[0])


def _smallest(values: np.ndarray, b: int) -> np.ndarray:
    """Positions of the ``b`` smallest values, in increasing order (ties by position)."""
    if b == 0:
        return np.empty(0, dtype=np.intp)
    if b < values.size:
        part = np.argpartition(values, b - 1)[:b]
    else:
        part = np.arange(values.size)
    return part[np.lexsort((part, values[part]))]


def random(proba: ArrayLike, batch_size: int, *, random_state: RandomState = None) -> np.ndarray:
    """``batch_size`` items uniformly at random (passive learning).

    Examples
    --------
    >>> random(np.full((10, 2), 0.5), 3, random_state=0).shape
    (3,)
    """
    p, b = _check(proba, batch_size)
    rng = check_random_state(random_state)
    return rng.choice(p.shape[0], size=b, replace=False).astype(np.intp)


def margin(proba: ArrayLike, batch_size: int, *, random_state: RandomState = None) -> np.ndarray:
    """The items with the smallest top-1 minus top-2 probability.

    Examples
    --------
    >>> margin([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]], 1).tolist()
    [1]
    """
    p, b = _check(proba, batch_size)
    return _smallest(margin_score(p), b)


def least_confident(proba: ArrayLike, batch_size: int, *, random_state: RandomState = None) -> np.ndarray:
    """The items whose predicted class has the lowest probability.

    Examples
    --------
    >>> least_confident([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]], 2).tolist()
    [1, 2]
    """
    p, b = _check(proba, batch_size)
    return _smallest(max_proba(p), b)


def entropy(proba: ArrayLike, batch_size: int, *, random_state: RandomState = None) -> np.ndarray:
    """The items with the most uncertain (highest-entropy) predicted distribution.

    Examples
    --------
    >>> entropy([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3]], 1).tolist()
    [1]
    """
    p, b = _check(proba, batch_size)
    return _smallest(neg_entropy(p), b)


def margin_random(
    proba: ArrayLike, batch_size: int, *, random_state: RandomState = None, factor: int = 2
) -> np.ndarray:
    """``batch_size`` items drawn at random among the ``factor * batch_size`` smallest margins.

    Examples
    --------
    >>> idx = margin_random(np.linspace(0.5, 1, 20)[:, None] * [1, 0] + [0, 0.5], 2, random_state=0)
    >>> bool(set(idx.tolist()) <= {0, 1, 2, 3})
    True
    """
    p, b = _check(proba, batch_size)
    if factor < 1:
        raise ValueError(f"The 'factor' parameter must be >= 1. Got {factor}.")
    rng = check_random_state(random_state)
    shortlist = _smallest(margin_score(p), min(int(factor) * b, p.shape[0]))
    return rng.choice(shortlist, size=b, replace=False).astype(np.intp)


def mixed(proba: ArrayLike, batch_size: int, *, random_state: RandomState = None, share: float = 0.5) -> np.ndarray:
    """Half uniformly random items, half the smallest margins among the rest (``share`` random).

    The random half keeps the training labels representative, so the model's confidence stays
    calibrated where it will be thresholded; the margin half spends labels where the model is
    unsure. On many classes pure margin sampling trains a model that ranks its surest items
    worse (``docs/guarantee.md``).

    Examples
    --------
    >>> idx = mixed(np.linspace(0.5, 1, 20)[:, None] * [1, 0] + [0, 0.5], 4, random_state=0)
    >>> len(set(idx.tolist())), 0 in idx.tolist()
    (4, True)
    """
    p, b = _check(proba, batch_size)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"The 'share' parameter must be in [0, 1]. Got {share}.")
    rng = check_random_state(random_state)
    n_random = int(round(share * b))
    picked = rng.choice(p.shape[0], size=n_random, replace=False) if n_random else np.empty(0, dtype=np.intp)
    rest = np.setdiff1d(np.arange(p.shape[0]), picked)
    by_margin = rest[_smallest(margin_score(p[rest]), b - n_random)]
    return np.concatenate([by_margin, picked]).astype(np.intp)


#: Registry of query strategies by name.
QUERIES: dict[str, Callable[..., np.ndarray]] = {
    "random": random,
    "margin": margin,
    "least_confident": least_confident,
    "entropy": entropy,
    "margin_random": margin_random,
    "mixed": mixed,
}


def get_query(query: str | Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """Resolve a query strategy by name or pass a callable through.

    Examples
    --------
    >>> get_query("entropy") is entropy
    True
    """
    if callable(query):
        return query
    try:
        return QUERIES[query]
    except KeyError:
        raise ValueError(f"Unknown query strategy {query!r}. Allowed: {', '.join(sorted(QUERIES))}.") from None
