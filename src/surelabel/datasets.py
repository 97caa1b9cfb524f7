"""Built-in data: the paper's synthetic unit ball, a noisy multi-class set, and digits.

Everything here is generated or ships with an installed package: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np

from .rng import RandomState, check_random_state

__all__ = ["unit_ball", "noisy_blobs", "digits"]


def unit_ball(n: int, d: int = 30, random_state: RandomState = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in the unit ball of R^d, labeled ``1[w·x >= 0]`` with ``w = 1/sqrt(d)``.

    The synthetic data of Vishwakarma et al. (NeurIPS 2023): two linearly separable classes
    with no label noise, so every auto-labeling error comes from the model, not the data.

    Examples
    --------
    >>> X, y = unit_ball(1000, d=3, random_state=0)
    >>> X.shape, bool((np.linalg.norm(X, axis=1) <= 1).all()), sorted(set(y.tolist()))
    ((1000, 3), True, [0, 1])
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be positive. Got n={n}, d={d}.")
    rng = check_random_state(random_state)
    g = rng.standard_normal((n, d))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    radius = rng.random(n) ** (1.0 / d)
    X = g * radius[:, None]
    w = np.full(d, 1.0 / np.sqrt(d))
    y = (X @ w >= 0).astype(np.int64)
    return X, y


def noisy_blobs(
    n: int,
    n_classes: int = 4,
    d: int = 8,
    *,
    spread: float = 1.6,
    label_noise: float = 0.03,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian classes with a share of labels flipped: a hard multi-class set.

    Class means lie on a sphere of radius 2; ``spread`` is the per-feature standard
    deviation, so classes overlap, and ``label_noise`` of the labels are replaced by another
    class. No classifier can be certain everywhere: a test of whether thresholds stay honest.

    Examples
    --------
    >>> X, y = noisy_blobs(500, random_state=0)
    >>> X.shape, len(set(y.tolist()))
    ((500, 8), 4)
    """
    rng = check_random_state(random_state)
    means = rng.standard_normal((n_classes, d))
    means *= 2.0 / np.linalg.norm(means, axis=1, keepdims=True)
    y = rng.integers(n_classes, size=n)
    X = means[y] + spread * rng.standard_normal((n, d))
    flip = rng.random(n) < label_noise
    other = rng.integers(n_classes - 1, size=n)
    y = np.where(flip, other + (other >= y), y)
    return X, y.astype(np.int64)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 handwritten digits: 1,797 items, 64 features scaled to [0, 1], 10 classes.

    Examples
    --------
    >>> X, y = digits()
    >>> X.shape, int(y.max())
    ((1797, 64), 9)
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target.astype(np.int64)
