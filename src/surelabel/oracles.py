"""Oracles: whoever answers "what is the label of these items?".

An :class:`Oracle` is anything with ``label(indices) -> labels``. In real use it is a person
(the project's batches and imports play that part); in simulations it is a
:class:`SimulatedOracle` answering from known labels, optionally with annotator noise, and
counting every label it gives — the number a budget is charged for.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from .rng import RandomState, check_random_state

__all__ = ["Oracle", "SimulatedOracle"]


@runtime_checkable
class Oracle(Protocol):
    """Answers labels for item positions (indices into the data passed to the loop)."""

    def label(self, indices: np.ndarray) -> np.ndarray:
        """Return one label per index, in the same order."""
        ...


class SimulatedOracle:
    """An oracle that knows the true labels and can make annotator mistakes.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        The labels to answer from (ints or strings).
    noise_rate : float in [0, 1) or array-like of shape (K,), default 0
        Share of answers replaced by a wrong class; one rate per true class (in the order of
        ``classes``) for class-dependent annotators (e.g. cats often called dogs, dogs
        never called cats).
    noise : {"uniform", "confusion"}, default "uniform"
        ``uniform``: the wrong class is drawn uniformly from the other classes.
        ``confusion``: drawn from row ``c`` of ``confusion`` (class-dependent mistakes).
    confusion : array-like, shape (K, K), optional
        For ``noise="confusion"``: ``confusion[i, j]`` is how often true class ``i`` is
        mistaken for class ``j`` (rows are normalised; the diagonal is ignored). Classes are
        in the order of ``classes``, or sorted as ``np.unique(y_true)``.
    classes : array-like, optional
        The label set (mistakes may name a class that ``y_true`` never holds).
    random_state : int, Generator or None

    Attributes
    ----------
    n_labels : int
        Labels answered so far (every call is counted, repeats included).

    Examples
    --------
    >>> oracle = SimulatedOracle(["cat", "dog", "cat"])
    >>> oracle.label(np.array([2, 1])).tolist(), oracle.n_labels
    (['cat', 'dog'], 2)
    """

    def __init__(
        self,
        y_true: ArrayLike,
        *,
        noise_rate: float = 0.0,
        noise: str = "uniform",
        confusion: ArrayLike | None = None,
        classes: ArrayLike | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.y_true = np.asarray(y_true)
        if self.y_true.ndim != 1:
            raise ValueError(f"y_true must be one-dimensional. Got shape {self.y_true.shape}.")
        rates = np.asarray(noise_rate, dtype=float)
        if rates.ndim > 1 or not ((rates >= 0.0) & (rates < 1.0)).all():
            raise ValueError("The 'noise_rate' parameter must be in [0, 1) (one value, or one per class). "
                             f"Got {noise_rate!r}.")
        if noise not in ("uniform", "confusion"):
            raise ValueError(f"Unknown noise {noise!r}. Allowed: uniform, confusion.")
        self.noise_rate = float(rates) if rates.ndim == 0 else rates
        self.noise = noise
        if classes is None:
            self.classes_, self._codes = np.unique(self.y_true, return_inverse=True)
        else:
            self.classes_ = np.asarray(classes)
            lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
            unknown = [v for v in np.unique(self.y_true).tolist() if v not in lookup]
            if unknown:
                raise ValueError(f"y_true holds labels that are not in 'classes': {unknown[:5]}.")
            self._codes = np.array([lookup[v] for v in self.y_true.tolist()], dtype=np.intp)
        k = self.classes_.size
        if np.ndim(self.noise_rate) and np.shape(self.noise_rate) != (k,):
            raise ValueError(f"Per-class noise rates need one rate per class ({k}). "
                             f"Got {np.shape(self.noise_rate)[0]}.")
        if noise == "confusion":
            if confusion is None:
                raise ValueError("noise='confusion' needs a (K, K) 'confusion' matrix.")
            m = np.array(confusion, dtype=float)
            if m.shape != (k, k) or (m < 0).any():
                raise ValueError(f"'confusion' must be a non-negative ({k}, {k}) matrix. Got shape {m.shape}.")
            np.fill_diagonal(m, 0.0)
            rows = m.sum(axis=1, keepdims=True)
            if ((rows[:, 0] == 0) & (np.broadcast_to(self.noise_rate, (k,)) > 0)).any():
                raise ValueError("Every row of 'confusion' needs a positive off-diagonal entry.")
            self._mistakes = m / np.where(rows == 0, 1.0, rows)
        else:
            self._mistakes = None
        self._rng = check_random_state(random_state)
        self.n_labels = 0

    def label(self, indices: ArrayLike) -> np.ndarray:
        """Answer the labels of ``indices``; a share ``noise_rate`` of them are wrong."""
        idx = np.asarray(indices, dtype=np.intp).ravel()
        codes = self._codes[idx].copy()
        self.n_labels += idx.size
        k = self.classes_.size
        if np.any(np.asarray(self.noise_rate) > 0) and k > 1 and idx.size:
            rate = self.noise_rate if np.ndim(self.noise_rate) == 0 else self.noise_rate[codes]
            flip = self._rng.random(idx.size) < rate
            for pos in np.flatnonzero(flip):
                c = codes[pos]
                if self._mistakes is None:
                    other = self._rng.integers(k - 1)
                    codes[pos] = other + (other >= c)
                else:
                    codes[pos] = self._rng.choice(k, p=self._mistakes[c])
        return self.classes_[codes]
