"""Shared fixtures and hypothesis profiles (``ci``, deterministic, whenever ``CI`` is set)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# one BLAS/OpenMP thread per process: the tests run many small fits (and joblib workers),
# where extra threads only fight over the machine's two cores
threadpool_limits(1)

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def ball():
    """A small unit-ball problem (2,000 items in R^5)."""
    from surelabel import datasets

    return datasets.unit_ball(2000, d=5, random_state=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
