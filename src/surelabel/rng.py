"""One way to turn ``random_state`` into a generator: never the global ``np.random``."""

from __future__ import annotations

import numpy as np

__all__ = ["RandomState", "check_random_state"]

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
