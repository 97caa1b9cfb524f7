"""Repeated labeling: ask two people, and a third when they disagree.

The certified bound is a promise about agreement with the labels people give. When
annotators make mistakes, the validation labels carry them into the bound: uniform mistakes
make certification harder (lower coverage), systematic ones (cats called dogs, dogs never
called cats) can make the promise hold for the annotators' labels but not for the truth.
Asking for two independent answers and a third on disagreement (majority vote) shrinks the
mistakes from a rate ``η`` to roughly ``3 η²`` (less when mistakes scatter over many
classes), at a cost of ``2 + P(disagree)`` answers per item. :class:`ConsensusOracle`
wraps any oracle to do that, for every item or only for chosen ones (validation items).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .oracles import Oracle

__all__ = ["ConsensusOracle"]


class ConsensusOracle:
    """Majority of two (or three, on disagreement) independent answers from ``oracle``.

    Parameters
    ----------
    oracle : Oracle
        Gives independent answers on repeated questions (a
        :class:`~surelabel.oracles.SimulatedOracle` draws fresh mistakes on every call; in
        real use, route the repeat to a different person).
    items : array-like of int, optional
        Only these item positions are double-labeled (e.g. the validation items); others get
        one answer. Default: every item.

    Attributes
    ----------
    n_answers : int
        Answers asked of ``oracle`` (what the labeling costs).
    n_items : int
        Items answered (what the loop's budget counts).
    n_disagreements : int
        Items that needed a third answer.

    Examples
    --------
    >>> from surelabel import SimulatedOracle
    >>> y = np.repeat(np.arange(5), 2000)
    >>> noisy = SimulatedOracle(y, noise_rate=0.2, random_state=0)
    >>> double = ConsensusOracle(noisy)
    >>> ans = double.label(np.arange(y.size))
    >>> float(np.mean(ans != y)) < 0.1, 2.2 < double.n_answers / y.size < 2.5
    (True, True)
    """

    def __init__(self, oracle: Oracle, *, items: ArrayLike | None = None) -> None:
        self.oracle = oracle
        self.items = None if items is None else set(np.asarray(items, dtype=np.intp).ravel().tolist())
        self.n_answers = 0
        self.n_items = 0
        self.n_disagreements = 0

    def label(self, indices: ArrayLike) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.intp).ravel()
        first = np.asarray(self.oracle.label(idx), dtype=object)
        self.n_answers += idx.size
        self.n_items += idx.size
        twice = np.ones(idx.size, bool) if self.items is None else np.isin(idx, list(self.items))
        if not twice.any():
            return _typed(first)
        pos = np.flatnonzero(twice)
        second = np.asarray(self.oracle.label(idx[pos]), dtype=object)
        self.n_answers += pos.size
        out = first.copy()
        split = pos[first[pos] != second]
        if split.size:
            third = np.asarray(self.oracle.label(idx[split]), dtype=object)
            self.n_answers += split.size
            self.n_disagreements += split.size
            second_of = dict(zip(pos.tolist(), second.tolist()))
            for p, t in zip(split.tolist(), third.tolist()):
                votes = Counter([first[p], second_of[p], t])
                top, count = votes.most_common(1)[0]
                out[p] = top if count >= 2 else t  # three different answers: the tie-breaker's
        return _typed(out)


def _typed(values: np.ndarray) -> Any:
    """Back to a plain numpy dtype when every answer shares one (ints stay ints)."""
    try:
        return np.asarray(values.tolist())
    except (TypeError, ValueError):  # pragma: no cover - mixed types stay objects
        return values
