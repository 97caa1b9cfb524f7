"""One way to turn ``random_state`` into a generator: never the global ``np.random``."""

from __future__ import annotations

import numpy as np

__all__ = ["RandomState", "check_random_state", "seed_from"]

RandomState = int | np.random.Generator | None


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for an int seed, a Generator, or ``None``.

    Examples
    --------
    >>> int(check_random_state(0).integers(10)) == int(check_random_state(0).integers(10))
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be an int, a numpy Generator or None. Got {type(random_state).__name__}.")


def seed_from(random_state: RandomState) -> int:
    """An integer seed from which the engine's per-round random streams are derived.

    An ``int`` is kept as it is, so every labeler given the same ``random_state`` draws the
    same validation items, seed items and query streams.

    Examples
    --------
    >>> seed_from(7)
    7
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).integers(2**62))
